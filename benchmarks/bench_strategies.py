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

Run: `python benchmarks/bench_strategies.py --dataset mnist1d [--seeds 0 1 2 3 4]`;
`--report` prints the table and draws the plot from the results files.
Writes one `benchmarks/results/bench_strategies_<dataset>_seed<N>.json` per seed (a rerun
resumes: finished methods are kept, so seeds can be spread over processes), and `--report`
merges them into `bench_strategies_<dataset>.json` (the table) and `.png`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
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
class Evaluator:
    """Trains a candidate with the shared recipe; memoises (values, epochs) -> (val_error, macs)."""

    def __init__(self, dataset: str, seed: int, epochs: int, cache_dir: str | None):
        (x, y), _ = load_digits_images() if dataset == "digits" else load_mnist1d()
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
        arch_key = hashlib.sha256(json.dumps(arch, default=str).encode()).hexdigest()
        keras.backend.clear_session(free_memory=False)
        keras.utils.set_random_seed((self.seed * 1_000_003 + int(arch_key[:8], 16)) % 2**31)
        model = self.model(arch)
        row: dict[str, Any] = {"key": key, "macs": int(profile(model).macs), "epochs": epochs}
        if epochs:
            start = time.perf_counter()
            history = model.fit(*self.data.fit_args, epochs=epochs, verbose=0, **self.data.fit_kwargs)
            accuracy = np.nan_to_num(np.array(history.history["val_accuracy"], dtype=float))
            row.update(val_error=float(1.0 - accuracy.max()), seconds=time.perf_counter() - start)
            self.trainings += 1
        self.cache[key] = row
        if self.path:
            with open(self.path, "a") as f:
                f.write(json.dumps(row) + "\n")
        return row


class Run:
    """What one method did in one seed: a (val_error, macs, epochs charged) row per trained model."""

    def __init__(self, evaluator: Evaluator, budget_epochs: int):
        self.evaluator, self.budget = evaluator, budget_epochs
        self.rows: list[tuple[float, int, int]] = []
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


def run_oneshot(evaluator: Evaluator, seed: int, args: argparse.Namespace) -> Run:
    """The one-shot oracle: its supernet is charged first (its epochs x sub-networks a step), then its trials.

    The supernet trains on the same fit split for `args.epochs` epochs at the
    benchmark's batch size, with the benchmark's plain recipe (Adam, constant
    rate, no label smoothing or weight decay); it ranks sub-networks on the
    same validation split the trials are scored on. Its trials are trained
    from scratch by the shared `Evaluator` (`inherit=False`), like every
    other method's, so a candidate two methods propose scores the same. The
    supernet's cost enters the curve as a row that adds no hypervolume
    (error 1.0, the reference).
    """
    from tfnas.training import Training

    if args.dataset != "mnist1d":
        raise SystemExit("tfnas:oneshot: the supernet covers the DS-CNN 1-D space only (--dataset mnist1d)")
    run = Run(evaluator, args.budget * args.epochs)
    oracle = ORACLES["oneshot"](
        objective=kt.Objective("val_accuracy", "max"), max_trials=args.budget, seed=seed, inherit=False,
        constraints={"max_macs": int(REFERENCE[args.dataset][1])}, num_ranked=args.oneshot_ranked,
        supernet_epochs=args.oneshot_supernet_epochs or args.epochs, learning_rate=args.oneshot_lr,
    )
    oracle.adopt(epochs=args.epochs)
    oracle.cost_function = lambda hps: {"macs": evaluator.macs(hps.values)}
    recipe = Training(schedule="constant", warmup_epochs=0, label_smoothing=0.0, weight_decay=0.0,
                      batch_size=BATCH_SIZES[args.dataset])
    keras.utils.set_random_seed(seed)
    directory = os.path.join(args.directory, f"oneshot_{seed}")
    shutil.rmtree(directory, ignore_errors=True)
    (x, y), validation = evaluator.data.fit_args, evaluator.data.fit_kwargs["validation_data"]
    tuner = BenchTuner(oracle, run, directory=args.directory, project_name=f"tfnas_oneshot_{seed}", overwrite=True)
    oracle.prepare(evaluator.space, x, y, validation_data=validation, training=recipe, directory=directory)
    charged = oracle.report["supernet_subnet_epochs"]
    run.spent += charged
    run.rows.append((1.0, 0, charged))
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
        oracle = kt.oracles.HyperbandOracle(objective=objective, max_epochs=args.epochs, factor=3, hyperband_iterations=100, seed=seed)
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
    tuner = BenchTuner(kt.oracles.RandomSearchOracle(max_trials=1), Run(evaluator, 0), directory=args.directory, project_name="space", overwrite=True)
    tuner._populate_initial_space()
    return list(tuner.oracle.hyperparameters.space)


def _search(tuner: kt.engine.base_tuner.BaseTuner) -> None:
    try:
        tuner.search()
    except BudgetSpent:
        pass


METHODS = {
    **{f"tfnas:{name}": (lambda name: lambda e, s, a: run_tfnas(name, e, s, a))(name) for name in sorted(ORACLES)
       if name != "oneshot"},
    "tfnas:oneshot": run_oneshot,
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
            "method": method, "seeds": len(runs), "median_hv": round(float(median), 4), "iqr": [round(float(q1), 4), round(float(q3), 4)],
            "vs_keras_tuner_random": round(float(median / random_kt), 3) if random_kt > 0 else None,
            "median_models_trained": float(np.median([r["models"] for r in runs])),
        })
    return sorted(rows, key=lambda r: -r["median_hv"])


def report(dataset: str) -> None:
    """Merges the per-seed files into `bench_strategies_<dataset>.json`, prints the table, draws the plot."""
    runs: dict[str, list] = {}
    settings = None
    for name in sorted(os.listdir(RESULTS)):
        if name.startswith(f"bench_strategies_{dataset}_seed") and name.endswith(".json"):
            with open(os.path.join(RESULTS, name)) as f:
                one = json.load(f)
            settings = settings or {k: one[k] for k in ("dataset", "epochs", "budget", "batch_size", "reference")}
            for method, run in one["runs"].items():
                runs.setdefault(method, []).append({"seed": one["seed"], **run})
    results = {**(settings or {}), "runs": runs}
    rows = table(results)
    path = os.path.join(RESULTS, f"bench_strategies_{dataset}.json")
    with open(path, "w") as f:
        json.dump({**{k: v for k, v in results.items() if k != "runs"}, "table": rows,
                   "hv_per_seed": {m: {r["seed"]: round(r["hv"], 4) for r in rs} for m, rs in runs.items()}}, f, indent=1)
    print(f"\n{dataset}: normalised hypervolume of (val error, MACs) at {results['budget']} full trainings, reference {results['reference']}")
    print(f"{'method':<26} {'seeds':>5} {'median HV':>10} {'IQR':>17} {'vs kt random':>13} {'models':>7}")
    for r in rows:
        print(f"{r['method']:<26} {r['seeds']:>5} {r['median_hv']:>10.4f} {str(r['iqr']):>17} {str(r['vs_keras_tuner_random']):>13} {r['median_models_trained']:>7.0f}")
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
    parser.add_argument("--oneshot-supernet-epochs", type=int, default=None, help="default: --epochs")
    parser.add_argument("--oneshot-lr", type=float, default=None, help="the supernet's learning rate")
    parser.add_argument("--tag", default="", help="suffix of the per-seed file, to split one seed's methods over processes")
    parser.add_argument("--report", action="store_true", help="only print the table and draw the plot")
    args = parser.parse_args()
    args.epochs = args.epochs or EPOCHS[args.dataset]
    if args.report:
        report(args.dataset)
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
        for method in args.methods:
            if method in results["runs"]:
                continue
            start, trainings = time.perf_counter(), evaluator.trainings
            run = METHODS[method](evaluator, seed, args)
            spent, hv = curve(run.rows, REFERENCE[args.dataset], args.epochs)
            results["runs"][method] = {
                "hv": hv[-1] if hv else 0.0, "models": len(run.rows) - run.extra.get("charge_rows", 0), "spent": spent, "curve": hv,
                "points": [[e, m] for e, m, _ in run.rows], "new_trainings": evaluator.trainings - trainings,
                "seconds": round(time.perf_counter() - start, 1), **run.extra,
            }
            print(f"{args.dataset} seed {seed} {method:<26} HV {results['runs'][method]['hv']:.4f} "
                  f"models {len(run.rows)} new trainings {evaluator.trainings - trainings} "
                  f"{time.perf_counter() - start:.0f}s load {os.getloadavg()[0]:.1f}", flush=True)
            with open(path, "w") as f:
                json.dump(results, f)
        shutil.rmtree(os.path.join(args.directory), ignore_errors=True)
    report(args.dataset)


if __name__ == "__main__":
    sys.exit(main())
