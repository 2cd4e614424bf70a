"""Search efficiency: every tfnas strategy vs keras-tuner and Optuna, at an equal budget of training epochs.

Question: for the same number of trained models, which strategy finds the
best front of (validation error, MACs), and does tfnas's default beat
keras-tuner's and Optuna's own searches?

Setup, the same for every method:
- Data: MNIST-1D (generated offline, 4000 train signals, DS-CNN space) and
  scikit-learn digits (the 1347-image train part, MobileNet-style space); a
  seeded, stratified 20% of it is the validation set (`tfnas.data.prepare`).
- Training recipe: Adam at the candidate's learning rate, batch 256 and 9
  epochs for a full training on MNIST-1D, batch 64 and 6 epochs on digits
  (about 120 and 100 steps: `EPOCHS`), best epoch by validation accuracy.
- Budget: `--budget` full trainings' worth of epochs (30 x epochs) per run.
  Multi-fidelity methods (tfnas and keras-tuner Hyperband) are charged the
  epochs each rung adds (a promotion continues from its parent: only the
  extra epochs count).
- Every candidate is trained by one function with a seed derived from the
  run's seed and the candidate's values, so a candidate's score depends on
  the candidate and the run seed only, never on which method proposed it or
  when. That lets results be memoised per (data set, seed) across methods
  (`--cache`): a candidate two methods both propose is trained once. A
  promoted Hyperband rung is trained from scratch to its epoch count (what
  warm-starting approximates), and charged its extra epochs.
- Hypervolume of the (validation error, MACs) points of every model trained
  so far, both minimised, with reference points fixed in advance: error 1.0
  and the MACs limit below, normalised by the reference box.
- tfnas strategies run with the hard limit `max_macs` = the reference's MACs
  (their feature: infeasible candidates are never trained); keras-tuner gets
  its list objective `[val_accuracy max, macs min]` (an unweighted sum,
  keras-tuner #556) and Optuna the two objectives (error, MACs), both without
  the limit, as their users would run them. `tfnas:random` isolates what
  the limit alone is worth.

What a user is handed (`--int8-test`): hypervolume scores the whole front on
validation figures; a user deploys one model. After a method's run, its
chosen model is the one with the highest validation accuracy (ties: fewer
MACs) among the models it trained within the MACs limit above; never the
best test figure. It is retrained by the same function, seed and data as in
the search, for a full training (`EPOCHS`; a multi-fidelity method's lower
rung is retrained to full epochs), keeping the weights of the best epoch by
validation accuracy (the epoch the search scored; its number is recorded
and the retrained validation accuracy is checked against the recorded one).
Those weights are exported to full-int8 TFLite with `tfnas.export`
(calibrated on the first 200 fit-split inputs) and run with `tfnas.verify`
on the held-out test split of the data set (MNIST-1D's 1000 test signals,
digits' 450 test images; never seen in the search) on TFLite Micro (the
interpreter, in a child process): `int8_test_accuracy_micro`, beside the
float model's test accuracy, LiteRT's (reference kernels), the file's bytes
and TFLite Micro's arena. Each method's per-seed entry keeps the hp values
of every model it trained (`values`, aligned with `points`; None for the
one-shot supernet's row), so a finished run with `values` gains `int8` on a
rerun with `--int8-test`.

The one-shot oracles (`tfnas:oneshot`, `tfnas:dnas`) train their trials
from scratch by that function too; `tfnas:oneshot+inherit` is `oneshot` as
users get it, its trials fine-tuning from the supernet's weights by the same
recipe, seed and epochs (`InheritingEvaluator`; never cached). The
oracle's own defaults apply unless `--oneshot-*` says otherwise (a supernet of
`--epochs`; `oneshot`'s fine-tunes at the supernet's learning rate).
The int8 test retrains the chosen model for as many epochs as its trial had.

Run: `python benchmarks/bench_strategies.py --dataset mnist1d [--seeds 0 1 2 3 4]`;
`--report` prints the table and draws the plot from the results files.
Writes one `benchmarks/results/bench_strategies_<dataset>_seed<N>.json` per seed (a rerun
resumes: finished methods are kept, so seeds can be spread over processes), and `--report`
merges them into `bench_strategies_<dataset>.json` (the table) and `.png` (a (method, seed)
found in two files is taken once, from a file without int8 figures first).
The int8 test, in its own files so the table's are untouched:
`python benchmarks/bench_strategies.py --dataset mnist1d --seeds 0 1 2 --methods tfnas:oneshot
tfnas:pso keras-tuner:random --oneshot-lr 0.01 --int8-test --tag _int8 --cache /tmp/int8_cache`
writes `bench_strategies_<dataset>_seed<N>_int8.json` and, at the end (or alone with
`--int8-report --tag _int8`), `bench_strategies_<dataset>_int8_int8.json`: per method the
median over seeds of the int8 TFLite Micro test accuracy, the per-seed figures, the chosen
models' MACs and the hypervolume. An `--int8-test` run never rewrites the table.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import shutil
import sys
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfnas.cost import profile  # noqa: E402
from tfnas.data import prepare  # noqa: E402
from tfnas.demo import load_digits_images  # noqa: E402
from tfnas.demo import load_mnist1d  # noqa: E402
from tfnas.oracles import ORACLES  # noqa: E402
from tfnas.pareto import hypervolume_2d  # noqa: E402
from tfnas.spaces import DSCNN1DSpace  # noqa: E402
from tfnas.spaces import MobileNetSpace  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
# Reference points, fixed before any run: (validation error, MACs).
REFERENCE = {"mnist1d": (1.0, 50_000.0), "digits": (1.0, 20_000.0)}
BATCH_SIZES = {"mnist1d": 256, "digits": 64}  # 13 and 17 steps an epoch
EPOCHS = {"mnist1d": 9, "digits": 6}  # a full training (about 120 and 100 steps)
TUNER_KEYS = ("tuner/epochs", "tuner/initial_epoch", "tuner/bracket", "tuner/round", "tuner/trial_id")


class BudgetSpent(kt.errors.FatalError):
    """Stops a keras-tuner search once the run's epochs are used up."""


# ----- one training function for every method ----------------------------------
class BestWeights(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the highest `val_accuracy` (the first of equals, as `argmax`)."""

    def __init__(self) -> None:
        super().__init__()
        self.best, self.epoch, self.weights = -np.inf, None, None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        accuracy = float(np.nan_to_num((logs or {}).get("val_accuracy", np.nan)))
        if accuracy > self.best:
            self.best, self.epoch, self.weights = accuracy, epoch + 1, self.model.get_weights()


class Evaluator:
    """Trains a candidate with the shared recipe; memoises (values, epochs) -> (val_error, macs)."""

    def __init__(self, dataset: str, seed: int, epochs: int, cache_dir: str | None):
        (x, y), self.test = load_digits_images() if dataset == "digits" else load_mnist1d()
        self.data = prepare(x, y, validation_split=0.2, seed=0, batch_size=BATCH_SIZES[dataset])
        space_class = MobileNetSpace if dataset == "digits" else DSCNN1DSpace
        self.space = space_class().configure(self.data.spec.input_shape, self.data.spec.num_outputs, "classification")
        self.seed, self.full_epochs = seed, epochs
        self.cache: dict[str, dict] = {}
        self.path = os.path.join(cache_dir, f"{dataset}_seed{seed}_e{epochs}.jsonl") if cache_dir else None
        if self.path and os.path.exists(self.path):
            with open(self.path) as f:
                for line in f:
                    row = json.loads(line)
                    self.cache[row["key"]] = row
        self.trainings = self.hits = 0

    def model(self, values: dict[str, Any]) -> keras.Model:
        hp = kt.HyperParameters()
        hp.values = {k: v for k, v in values.items() if k not in TUNER_KEYS}
        return self.space.build(hp)

    def macs(self, values: dict[str, Any]) -> int:
        return self.evaluate(values, 0)["macs"]

    def evaluate(self, values: dict[str, Any], epochs: int) -> dict[str, float]:
        arch = {k: v for k, v in sorted(values.items()) if k not in TUNER_KEYS}
        key = hashlib.sha256(json.dumps([arch, epochs], default=str).encode()).hexdigest()[:24]
        if key in self.cache:
            self.hits += 1
            return self.cache[key]
        _, trained, _ = self.train(arch, epochs)
        row: dict[str, Any] = {"key": key, **trained}
        self.cache[key] = row
        if self.path:
            with open(self.path, "a") as f:
                f.write(json.dumps(row) + "\n")
        return row

    def train(self, values: dict[str, Any], epochs: int, keep_best: bool = False) -> tuple[keras.Model, dict, int | None]:
        """The one training recipe: `(model, {"macs", "epochs"[, "val_error", "seconds"]}, best epoch)`.

        The seed depends on the run's seed and the candidate's values only.
        `val_error` is that of the best epoch by validation accuracy; with
        `keep_best` the returned model holds that epoch's weights (else the
        last epoch's). The best epoch counts from 1 (None without training).
        """
        arch = {k: v for k, v in sorted(values.items()) if k not in TUNER_KEYS}
        arch_key = hashlib.sha256(json.dumps(arch, default=str).encode()).hexdigest()
        keras.backend.clear_session(free_memory=False)
        keras.utils.set_random_seed((self.seed * 1_000_003 + int(arch_key[:8], 16)) % 2**31)
        model = self.model(arch)
        row: dict[str, Any] = {"macs": int(profile(model).macs), "epochs": epochs}
        best_epoch = None
        if epochs:
            best = BestWeights() if keep_best else None
            start = time.perf_counter()
            history = model.fit(*self.data.fit_args, epochs=epochs, verbose=0, callbacks=[best] if best else None,
                                **self.data.fit_kwargs)
            accuracy = np.nan_to_num(np.array(history.history["val_accuracy"], dtype=float))
            row.update(val_error=float(1.0 - accuracy.max()), seconds=time.perf_counter() - start)
            best_epoch = int(np.argmax(accuracy)) + 1
            self.trainings += 1
            if best is not None and best.weights is not None:
                model.set_weights(best.weights)
        return model, row, best_epoch

    def int8_test(self, values: dict[str, Any], path: str, epochs: int | None = None) -> dict[str, Any]:
        """Retrains `values` as its search trained it (`epochs`; default a full training), keeps its best epoch,
        exports it to int8 and tests it on TFLite Micro."""
        from tfnas.export import export
        from tfnas.verify import verify

        start = time.perf_counter()
        epochs = epochs or self.full_epochs
        model, row, best_epoch = self.train(values, epochs, keep_best=True)
        x_val, y_val = self.data.fit_kwargs["validation_data"]
        restored = self.data.spec.task.quality(model, np.asarray(x_val, np.float32), np.asarray(y_val))
        exported = export(model, path, representative_data=np.asarray(self.data.fit_args[0], np.float32))
        x_test, y_test = self.test
        checked = verify(path, np.asarray(x_test, np.float32), np.asarray(y_test), model=model, latency_runs=20)
        return {
            "macs_retrained": row["macs"], "val_accuracy_retrained": 1.0 - row["val_error"], "best_epoch": best_epoch,
            "epochs": epochs, "val_accuracy_best_weights": restored, "test_samples": checked.samples,
            "float_test_accuracy": checked.float_value, "int8_test_accuracy_litert": checked.litert_value,
            "int8_test_accuracy_micro": checked.micro_value, "micro_litert_agreement": checked.agreement,
            "micro_error": checked.micro_error, "tflite_bytes": exported.bytes, "ops": exported.ops,
            "arena_bytes": checked.arena_total_bytes, "arena_head_bytes": checked.arena_head_bytes,
            "seconds": round(time.perf_counter() - start, 1),
        }


class InheritingEvaluator(Evaluator):
    """The shared recipe, but each model starts from a one-shot supernet's weights (`tfnas:oneshot+inherit`).

    `hypermodel` is what the one-shot oracle's `prepare` returns with
    `inherit=True` (`InheritedSpace`: the space's own model, the supernet's
    weights sliced in, batch norm re-estimated), so a trial fine-tunes for
    the same epochs, seed and data as a trial trained from scratch. Its
    figures depend on this run's supernet: they are kept in memory only,
    never in the cache the scratch-trained methods share.
    """

    def __init__(self, base: Evaluator, hypermodel: kt.HyperModel):
        self.__dict__.update(base.__dict__)
        self.base, self.hypermodel = base, hypermodel
        self.cache, self.path = {}, None

    def model(self, values: dict[str, Any]) -> keras.Model:
        hp = kt.HyperParameters()
        hp.values = {k: v for k, v in values.items() if k not in TUNER_KEYS}
        return self.hypermodel.build(hp)

    def train(self, values: dict[str, Any], epochs: int, keep_best: bool = False) -> tuple[keras.Model, dict, int | None]:
        trained = super().train(values, epochs, keep_best)
        self.base.trainings += 1 if epochs else 0
        return trained


class Run:
    """What one method did in one seed: a (val_error, macs, epochs charged) row per trained model, and its hp values."""

    def __init__(self, evaluator: Evaluator, budget_epochs: int):
        self.evaluator, self.budget = evaluator, budget_epochs
        self.rows: list[tuple[float, int, int]] = []
        self.values: list[dict[str, Any] | None] = []  # aligned with rows; None for a row that is no model
        self.spent = 0
        self.extra: dict[str, Any] = {}  # what a method reports beside its rows (the one-shot supernet's figures)

    def train(self, values: dict[str, Any]) -> dict[str, float]:
        epochs = int(values.get("tuner/epochs", self.evaluator.full_epochs))
        charged = epochs - int(values.get("tuner/initial_epoch", 0))
        if self.spent + charged > self.budget:
            raise BudgetSpent(f"budget of {self.budget} epochs spent")
        row = self.evaluator.evaluate(values, epochs)
        self.spent += charged
        self.rows.append((row["val_error"], row["macs"], charged))
        self.values.append({k: v for k, v in values.items() if k not in TUNER_KEYS})
        return {"val_accuracy": 1.0 - row["val_error"], "val_error": row["val_error"], "macs": float(row["macs"])}


class BenchTuner(kt.engine.base_tuner.BaseTuner):
    """keras-tuner's own search loop, training through the shared `Run` (no model files)."""

    def __init__(self, oracle: kt.Oracle, run: Run, **kwargs: Any):
        self.run = run
        super().__init__(oracle=oracle, hypermodel=run.evaluator.space, **kwargs)

    def run_trial(self, trial: kt.engine.trial.Trial, *args: Any, **kwargs: Any) -> dict[str, float]:
        metrics = self.run.train(trial.hyperparameters.values)
        if isinstance(self.oracle.objective, kt.src.engine.objective.MultiObjective):
            metrics["multi_objective"] = self.oracle.objective.get_value(metrics)  # keras-tuner 1.4.8 wants it
        return metrics


# ----- the zero-cost proxy (kept in the benchmark: see the closing note) ----------
def naswot_score(model: keras.Model, x: np.ndarray) -> float:
    """NASWOT (Mellor et al. 2021): log|K| of the ReLU activation-pattern kernel on one batch, untrained."""
    outputs = [layer.output for layer in model.layers if isinstance(layer, keras.layers.ReLU)]
    outputs += [layer.output for layer in model.layers if getattr(layer, "activation", None) is keras.activations.relu]
    if not outputs:
        return 0.0
    activations = keras.Model(model.inputs, outputs)(x, training=False)
    codes = np.concatenate([np.reshape(np.asarray(a) > 0, (len(x), -1)) for a in activations], axis=1).astype(np.float64)
    kernel = codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T
    return float(np.linalg.slogdet(kernel)[1])


def with_proxy(oracle_class: type, evaluator: Evaluator, pool: int = 4) -> type:
    """The strategy, but each trial trains the best of `pool` new feasible proposals by NASWOT score."""
    batch = np.asarray(evaluator.data.fit_args[0][:64]) if evaluator.data.fit_args else None

    class Proxied(oracle_class):
        def populate_space(self, trial_id: str) -> dict[str, Any]:
            options = []
            for _ in range(pool):
                response = super().populate_space(trial_id)
                if response["status"] != "RUNNING":
                    break
                if all(response["values"] != o["values"] for o in options):
                    options.append(response)
            if not options:
                return {"status": "STOPPED", "values": None}
            scores = [naswot_score(evaluator.model(o["values"]), batch) for o in options]
            return options[int(np.argmax(scores))]

    return Proxied


# ----- the methods ----------------------------------------------------------------
def run_tfnas(name: str, evaluator: Evaluator, seed: int, args: argparse.Namespace, proxy: bool = False) -> Run:
    run = Run(evaluator, args.budget * args.epochs)
    oracle_class = with_proxy(ORACLES[name], evaluator) if proxy else ORACLES[name]
    kwargs = {"max_epochs": args.epochs} if name == "hyperband" else {}
    oracle = oracle_class(
        objective=kt.Objective("val_accuracy", "max"), max_trials=10_000 if name == "hyperband" else args.budget,
        constraints={"max_macs": int(REFERENCE[args.dataset][1])}, seed=seed, **kwargs,
    )
    oracle.cost_function = lambda hps: {"macs": evaluator.macs(hps.values)}
    _search(BenchTuner(oracle, run, directory=args.directory, project_name=f"tfnas_{name}_{proxy}_{seed}", overwrite=True))
    return run


def tolerance_arg(text: str) -> float | str | None:
    """`--oneshot-tolerance`: "auto", "none" or a number."""
    if text.lower() in ("auto", "none"):
        return "auto" if text.lower() == "auto" else None
    return float(text)


def run_oneshot(
    evaluator: Evaluator, seed: int, args: argparse.Namespace, name: str = "oneshot", inherit: bool = False
) -> Run:
    """A one-shot oracle (`oneshot`: evolution; `dnas`: gradient): its supernet is charged first, then its trials.

    The supernet trains on the same fit split for `args.epochs` epochs at the
    benchmark's batch size, with the benchmark's plain recipe (Adam, constant
    rate, no label smoothing or weight decay); it ranks sub-networks on the
    same validation split the trials are scored on. `dnas` then runs its
    penalty sweep (each search epoch charged as 2 epochs). The trials are
    trained from scratch by the shared `Evaluator` (`inherit=False`), like
    every other method's, so a candidate two methods propose scores the same;
    with `inherit` (`tfnas:oneshot+inherit`, the oracle's default) they
    fine-tune from the supernet's weights instead, by the same recipe, for
    the same epochs (`InheritingEvaluator`).
    The supernet's cost (the oracle's `charged_epochs`) enters the curve as a
    row that adds no hypervolume (error 1.0, the reference).
    """
    from tfnas.training import Training

    if name == "dnas" and args.dataset != "mnist1d":
        raise SystemExit("tfnas:dnas: its masked supernet covers the DS-CNN 1-D space only (--dataset mnist1d)")
    run = Run(evaluator, args.budget * args.epochs)
    extra = {"num_ranked": args.oneshot_ranked} if name == "oneshot" else {}
    oracle = ORACLES[name](
        objective=kt.Objective("val_accuracy", "max"), max_trials=args.budget, seed=seed, inherit=inherit,
        constraints={"max_macs": int(REFERENCE[args.dataset][1])},
        supernet_epochs=args.oneshot_supernet_epochs, learning_rate=args.oneshot_lr,
        trial_epochs=args.oneshot_trial_epochs, tolerance=args.oneshot_tolerance, **extra,
    )
    oracle.adopt(epochs=args.epochs)
    oracle.cost_function = lambda hps: {"macs": evaluator.macs(hps.values)}
    recipe = Training(schedule="constant", warmup_epochs=0, label_smoothing=0.0, weight_decay=0.0,
                      batch_size=BATCH_SIZES[args.dataset])
    keras.utils.set_random_seed(seed)
    label = f"{name}_inherit" if inherit else name
    directory = os.path.join(args.directory, f"{label}_{seed}")
    shutil.rmtree(directory, ignore_errors=True)
    (x, y), validation = evaluator.data.fit_args, evaluator.data.fit_kwargs["validation_data"]
    tuner = BenchTuner(oracle, run, directory=args.directory, project_name=f"tfnas_{label}_{seed}", overwrite=True)
    hypermodel = oracle.prepare(evaluator.space, x, y, validation_data=validation, training=recipe, directory=directory)
    if inherit:
        run.evaluator = InheritingEvaluator(evaluator, hypermodel)
    charged = oracle.report["charged_epochs"]
    run.spent += charged
    run.rows.append((1.0, 0, charged))
    run.values.append(None)
    run.extra = {**oracle.report, "charge_rows": 1}
    _search(tuner)
    return run


def run_keras_tuner(name: str, evaluator: Evaluator, seed: int, args: argparse.Namespace) -> Run:
    run = Run(evaluator, args.budget * args.epochs)
    objective = [kt.Objective("val_accuracy", "max"), kt.Objective("macs", "min")]
    if name == "random":
        oracle = kt.oracles.RandomSearchOracle(objective=objective, max_trials=args.budget, seed=seed)
    elif name == "bayesian":
        oracle = kt.oracles.BayesianOptimizationOracle(objective=objective, max_trials=args.budget, seed=seed)
    else:
        oracle = kt.oracles.HyperbandOracle(
            objective=objective, max_epochs=args.epochs, factor=3, hyperband_iterations=100, seed=seed
        )
    _search(BenchTuner(oracle, run, directory=args.directory, project_name=f"kt_{name}_{seed}", overwrite=True))
    return run


def run_optuna(name: str, evaluator: Evaluator, seed: int, args: argparse.Namespace) -> Run:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run = Run(evaluator, args.budget * args.epochs)
    space = _full_space(evaluator, args)
    sampler = optuna.samplers.NSGAIISampler(seed=seed) if name == "nsga2" else optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    for _ in range(args.budget):
        trial = study.ask()
        hps = kt.HyperParameters()
        for hp in space:  # define-by-run over the same conditional keras-tuner space
            hps.merge([hp])
            if hps.is_active(hp):
                hps.values[hp.name] = _suggest(trial, hp)
        metrics = run.train(dict(hps.values))
        study.tell(trial, [metrics["val_error"], metrics["macs"]])
    return run


def _suggest(trial: Any, hp: Any) -> Any:
    if isinstance(hp, kt.engine.hyperparameters.Boolean):
        return trial.suggest_categorical(hp.name, [False, True])
    if isinstance(hp, kt.engine.hyperparameters.Choice):
        return trial.suggest_categorical(hp.name, list(hp.values))
    if isinstance(hp, kt.engine.hyperparameters.Int):
        return trial.suggest_int(hp.name, hp.min_value, hp.max_value, step=hp.step or 1)
    if isinstance(hp, kt.engine.hyperparameters.Float):
        return trial.suggest_float(hp.name, hp.min_value, hp.max_value, log=hp.sampling == "log")
    return hp.default


def _full_space(evaluator: Evaluator, args: argparse.Namespace) -> list:
    """Every hyperparameter of the space, conditional ones included (keras-tuner's own discovery)."""
    oracle = kt.oracles.RandomSearchOracle(max_trials=1)
    tuner = BenchTuner(oracle, Run(evaluator, 0), directory=args.directory, project_name="space", overwrite=True)
    tuner._populate_initial_space()
    return list(tuner.oracle.hyperparameters.space)


def _search(tuner: kt.engine.base_tuner.BaseTuner) -> None:
    try:
        tuner.search()
    except BudgetSpent:
        pass


METHODS = {
    **{f"tfnas:{name}": functools.partial(run_tfnas, name) for name in sorted(ORACLES)
       if name not in ("oneshot", "dnas")},
    "tfnas:oneshot": run_oneshot,
    "tfnas:dnas": lambda e, s, a: run_oneshot(e, s, a, "dnas"),
    "tfnas:oneshot+inherit": lambda e, s, a: run_oneshot(e, s, a, "oneshot", inherit=True),
    "keras-tuner:random": lambda e, s, a: run_keras_tuner("random", e, s, a),
    "keras-tuner:bayesian": lambda e, s, a: run_keras_tuner("bayesian", e, s, a),
    "keras-tuner:hyperband": lambda e, s, a: run_keras_tuner("hyperband", e, s, a),
    "optuna:nsga2": lambda e, s, a: run_optuna("nsga2", e, s, a),
    "optuna:tpe": lambda e, s, a: run_optuna("tpe", e, s, a),
    "tfnas:random+naswot": lambda e, s, a: run_tfnas("random", e, s, a, proxy=True),
    "tfnas:evolution+naswot": lambda e, s, a: run_tfnas("evolution", e, s, a, proxy=True),
}


# ----- hypervolume and the report -----------------------------------------------------
def curve(rows: list, reference: tuple[float, float], epochs: int) -> tuple[list[float], list[float]]:
    """Normalised hypervolume after each trained model, against full trainings spent."""
    spent, hv = [], []
    points = []
    total = 0
    for error, macs, charged in rows:
        points.append((error, macs))
        total += charged
        spent.append(total / epochs)
        hv.append(hypervolume_2d(np.array(points), reference) / (reference[0] * reference[1]))
    return spent, hv


def table(results: dict) -> list[dict]:
    rows = []
    random_kt = np.median([r["hv"] for r in results["runs"].get("keras-tuner:random", [])] or [np.nan])
    for method, runs in results["runs"].items():
        hv = np.array([r["hv"] for r in runs])
        q1, median, q3 = np.percentile(hv, [25, 50, 75])
        rows.append({
            "method": method, "seeds": len(runs), "median_hv": round(float(median), 4),
            "iqr": [round(float(q1), 4), round(float(q3), 4)],
            "vs_keras_tuner_random": round(float(median / random_kt), 3) if random_kt > 0 else None,
            "median_models_trained": float(np.median([r["models"] for r in runs])),
        })
    return sorted(rows, key=lambda r: -r["median_hv"])


def report(dataset: str) -> None:
    """Merges the per-seed files into `bench_strategies_<dataset>.json`, prints the table, draws the plot."""
    runs: dict[str, list] = {}
    settings = None
    files = []
    for name in sorted(os.listdir(RESULTS)):
        if name.startswith(f"bench_strategies_{dataset}_seed") and name.endswith(".json"):
            with open(os.path.join(RESULTS, name)) as f:
                files.append((name, json.load(f)))
    # A (method, seed) in two files (an --int8-test rerun under another tag) counts once: files without int8 first.
    files.sort(key=lambda item: (any("int8" in run for run in item[1]["runs"].values()), item[0]))
    for name, one in files:
        settings = settings or {k: one[k] for k in ("dataset", "epochs", "budget", "batch_size", "reference")}
        for method, run in one["runs"].items():
            if any(r["seed"] == one["seed"] for r in runs.get(method, [])):
                print(f"{name}: {method} seed {one['seed']} is already in another file: skipped")
                continue
            runs.setdefault(method, []).append({"seed": one["seed"], **run})
    results = {**(settings or {}), "runs": runs}
    rows = table(results)
    path = os.path.join(RESULTS, f"bench_strategies_{dataset}.json")
    with open(path, "w") as f:
        json.dump({**{k: v for k, v in results.items() if k != "runs"}, "table": rows,
                   "hv_per_seed": {m: {r["seed"]: round(r["hv"], 4) for r in rs} for m, rs in runs.items()}}, f, indent=1)
    print(f"\n{dataset}: normalised hypervolume of (val error, MACs) at {results['budget']} full trainings, "
          f"reference {results['reference']}")
    print(f"{'method':<26} {'seeds':>5} {'median HV':>10} {'IQR':>17} {'vs kt random':>13} {'models':>7}")
    for r in rows:
        print(f"{r['method']:<26} {r['seeds']:>5} {r['median_hv']:>10.4f} {str(r['iqr']):>17} "
              f"{str(r['vs_keras_tuner_random']):>13} {r['median_models_trained']:>7.0f}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    figure, axis = plt.subplots(figsize=(8, 5))
    grid = np.linspace(0, results["budget"], 61)
    for method, runs in results["runs"].items():
        curves = [np.interp(grid, r["spent"], r["curve"], left=0.0) for r in runs]
        style = "-" if method.startswith("tfnas") else "--"
        axis.plot(grid, np.median(curves, axis=0), style, label=method)
    axis.set(xlabel="full trainings spent", ylabel="hypervolume (median over seeds)", title=f"{dataset}: search efficiency")
    axis.legend(fontsize=7, ncol=2)
    figure.savefig(os.path.join(RESULTS, f"bench_strategies_{dataset}.png"), dpi=120, bbox_inches="tight")


# ----- the int8 test of the model each method hands its user -------------------------------
def chosen_row(points: list, values: list, limit: float) -> int | None:
    """The row a user is handed: highest validation accuracy within the MACs limit (ties: fewer MACs, then earlier)."""
    feasible = [i for i, ((_, macs), v) in enumerate(zip(points, values, strict=True)) if v is not None and macs <= limit]
    return min(feasible, key=lambda i: (points[i][0], points[i][1], i)) if feasible else None


def int8_entry(evaluator: Evaluator, entry: dict, method: str, seed: int, args: argparse.Namespace) -> dict:
    """The `int8` figures of one method's run: its chosen model retrained, exported to int8, tested on TFLite Micro."""
    index = chosen_row(entry["points"], entry["values"], REFERENCE[args.dataset][1])
    if index is None:
        return {"values": None, "note": f"no trained model within {REFERENCE[args.dataset][1]:.0f} MACs"}
    error, macs = entry["points"][index]
    path = os.path.join(args.directory, "int8", f"{args.dataset}_seed{seed}_{method.replace(':', '_')}.tflite")
    epochs = entry["trained_epochs"][index] if "trained_epochs" in entry else None  # older files: full trainings
    figures = evaluator.int8_test(entry["values"][index], path, epochs)
    return {"values": entry["values"][index], "row": index, "macs": macs, "val_accuracy_recorded": 1.0 - error, **figures}


def int8_line(dataset: str, seed: int, method: str, int8: dict) -> str:
    if int8.get("values") is None:
        return f"{dataset} seed {seed} {method:<26} int8: {int8.get('note')}"
    micro = int8["int8_test_accuracy_micro"]
    return (f"{dataset} seed {seed} {method:<26} int8 TFLM test acc {'n/a' if micro is None else f'{micro:.4f}'} "
            f"(float {int8['float_test_accuracy']:.4f}) MACs {int8['macs']} val acc recorded "
            f"{int8['val_accuracy_recorded']:.4f} retrained {int8['val_accuracy_retrained']:.4f} "
            f"best epoch {int8['best_epoch']} {int8['tflite_bytes']} B arena {int8['arena_bytes']} B {int8['seconds']:.0f}s")


def int8_report(dataset: str, tag: str) -> None:
    """Per method over the `<tag>` per-seed files: int8 TFLite Micro test accuracy of the chosen model, its MACs, HV.

    Writes `bench_strategies_<dataset>_int8<tag>.json`; never the table `bench_strategies_<dataset>.json`.
    """
    pattern = re.compile(rf"bench_strategies_{re.escape(dataset)}_seed(\d+){re.escape(tag)}\.json")
    per_method: dict[str, list] = {}
    settings = None
    for name in sorted(os.listdir(RESULTS)):
        if not pattern.fullmatch(name):
            continue
        with open(os.path.join(RESULTS, name)) as f:
            one = json.load(f)
        settings = settings or {k: one[k] for k in ("dataset", "epochs", "budget", "batch_size", "reference")}
        for method, run in one["runs"].items():
            int8 = run.get("int8") or {}
            per_method.setdefault(method, []).append({
                "seed": one["seed"], "hv": round(run["hv"], 4), "int8_test_accuracy_micro": int8.get("int8_test_accuracy_micro"),
                **{k: int8.get(k) for k in ("float_test_accuracy", "int8_test_accuracy_litert", "macs", "val_accuracy_recorded",
                                            "val_accuracy_retrained", "best_epoch", "tflite_bytes", "arena_bytes", "values")},
            })

    def median(rows: list, key: str) -> float | None:
        found = [r[key] for r in rows if r[key] is not None]
        return round(float(np.median(found)), 4) if found else None

    table_rows = []
    for method, rows in per_method.items():
        rows.sort(key=lambda r: r["seed"])
        table_rows.append({
            "method": method, "seeds": len(rows), "int8_seeds": sum(r["int8_test_accuracy_micro"] is not None for r in rows),
            **{f"median_{k}": median(rows, k) for k in ("int8_test_accuracy_micro", "float_test_accuracy", "macs", "hv")},
            "per_seed": rows,
        })
    table_rows.sort(key=lambda r: -(r["median_int8_test_accuracy_micro"] or 0.0))
    path = os.path.join(RESULTS, f"bench_strategies_{dataset}_int8{tag}.json")
    with open(path, "w") as f:
        json.dump({**(settings or {}), "tag": tag, "macs_limit": REFERENCE[dataset][1], "table": table_rows}, f, indent=1)

    def fmt(v: float | None, digits: int = 4) -> str:
        return "n/a" if v is None else f"{v:.{digits}f}"

    print(f"\n{dataset}{tag}: int8 test accuracy on TFLite Micro of each method's chosen model (best validation "
          f"accuracy within {REFERENCE[dataset][1]:.0f} MACs), medians over seeds; written to {os.path.relpath(path)}")
    print(f"{'method':<22} {'seeds':>5} {'int8 TFLM':>9} {'per seed':<26} {'float':>7} {'MACs':>7} {'val rec/retr per seed':<44} "
          f"{'HV':>7} {'HV per seed'}")
    for r in table_rows:
        rows = r["per_seed"]
        print(f"{r['method']:<22} {r['seeds']:>5} {fmt(r['median_int8_test_accuracy_micro']):>9} "
              f"{' '.join(fmt(x['int8_test_accuracy_micro']) for x in rows):<26} {fmt(r['median_float_test_accuracy']):>7} "
              f"{fmt(r['median_macs'], 0):>7} "
              f"{' '.join(fmt(x['val_accuracy_recorded'], 3) + '/' + fmt(x['val_accuracy_retrained'], 3) for x in rows):<44} "
              f"{fmt(r['median_hv']):>7} {' '.join(fmt(x['hv']) for x in rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(REFERENCE), default="mnist1d")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=None, help="epochs of a full training (default: EPOCHS)")
    parser.add_argument("--budget", type=int, default=30, help="full trainings' worth of epochs per run")
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--cache", default=os.path.join("/tmp", "tfnas_bench_strategies_cache"))
    parser.add_argument("--directory", default=os.path.join("/tmp", "tfnas_bench_strategies"))
    parser.add_argument("--oneshot-ranked", type=int, default=1000, help="sub-networks tfnas:oneshot ranks")
    parser.add_argument("--oneshot-supernet-epochs", type=int, default=None, help="default: the oracle's (--epochs)")
    parser.add_argument("--oneshot-trial-epochs", type=int, default=None,
                        help="epochs each tfnas:oneshot trial trains (fine-tunes) for; default: --epochs")
    parser.add_argument("--oneshot-tolerance", type=tolerance_arg, default="auto",
                        help="tfnas:oneshot's spread of trials over MACs: 'auto', a number, or 'none' (the reward's order)")
    parser.add_argument("--oneshot-lr", type=float, default=None, help="the supernet's learning rate")
    parser.add_argument("--tag", default="", help="suffix of the per-seed file, to split one seed's methods over processes")
    parser.add_argument("--report", action="store_true", help="only print the table and draw the plot")
    parser.add_argument("--int8-test", action="store_true",
                        help="also retrain each method's chosen model, export it to int8 and test it on TFLite Micro")
    parser.add_argument("--int8-report", action="store_true",
                        help="only print and write the int8 table of the --tag files (bench_strategies_<dataset>_int8<tag>.json)")
    args = parser.parse_args()
    args.epochs = args.epochs or EPOCHS[args.dataset]
    if args.report:
        report(args.dataset)
        return
    if args.int8_report:
        int8_report(args.dataset, args.tag)
        return
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    os.makedirs(args.cache, exist_ok=True)
    os.makedirs(RESULTS, exist_ok=True)
    for seed in args.seeds:
        path = os.path.join(RESULTS, f"bench_strategies_{args.dataset}_seed{seed}{args.tag}.json")
        results = {"dataset": args.dataset, "seed": seed, "epochs": args.epochs, "budget": args.budget,
                   "batch_size": BATCH_SIZES[args.dataset], "reference": REFERENCE[args.dataset], "runs": {}}
        if os.path.exists(path):
            with open(path) as f:
                old = json.load(f)
            if (old["epochs"], old["budget"]) == (args.epochs, args.budget):
                results["runs"] = old["runs"]  # resume: finished methods are kept
        evaluator = Evaluator(args.dataset, seed, args.epochs, args.cache)
        trained_by: dict[str, Evaluator] = {}  # a method whose models only its own run can rebuild (+inherit)
        for method in args.methods:
            if method not in results["runs"]:
                start, trainings = time.perf_counter(), evaluator.trainings
                run = METHODS[method](evaluator, seed, args)
                trained_by[method] = run.evaluator
                spent, hv = curve(run.rows, REFERENCE[args.dataset], args.epochs)
                results["runs"][method] = {
                    "hv": hv[-1] if hv else 0.0, "models": len(run.rows) - run.extra.get("charge_rows", 0), "spent": spent,
                    "curve": hv, "points": [[e, m] for e, m, _ in run.rows], "values": run.values,
                    "trained_epochs": [epochs for _, _, epochs in run.rows],
                    "new_trainings": evaluator.trainings - trainings, "seconds": round(time.perf_counter() - start, 1),
                    **run.extra,
                }
                print(f"{args.dataset} seed {seed} {method:<26} HV {results['runs'][method]['hv']:.4f} "
                      f"models {len(run.rows)} new trainings {evaluator.trainings - trainings} "
                      f"{time.perf_counter() - start:.0f}s load {os.getloadavg()[0]:.1f}", flush=True)
                with open(path, "w") as f:
                    json.dump(results, f)
            entry = results["runs"][method]
            if not args.int8_test:
                continue
            if "int8" not in entry:
                if "values" not in entry:
                    print(f"{args.dataset} seed {seed} {method:<26} int8: skipped, the run predates recorded hp values")
                    continue
                if method.endswith("+inherit") and method not in trained_by:
                    print(f"{args.dataset} seed {seed} {method:<26} int8: skipped, its supernet is gone (rerun the method)")
                    continue
                entry["int8"] = int8_entry(trained_by.get(method, evaluator), entry, method, seed, args)
                with open(path, "w") as f:
                    json.dump(results, f)
            print(int8_line(args.dataset, seed, method, entry["int8"]), flush=True)
        shutil.rmtree(os.path.join(args.directory), ignore_errors=True)
    if args.int8_test:
        int8_report(args.dataset, args.tag)  # never the table: its files may hold other tags' runs
    else:
        report(args.dataset)


if __name__ == "__main__":
    sys.exit(main())
