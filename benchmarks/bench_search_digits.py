"""tfnas vs keras-tuner RandomSearch on digits: same space, same budget, same training.

Question: within 20 trained models, does tfnas find a better accuracy-vs-MACs
front than keras-tuner's RandomSearch with its own list objective (which sums
val_accuracy and MACs unweighted, keras-tuner #556), and what does tfnas's
machinery cost on top of training?

Data: sklearn digits, `train_test_split(test_size=0.25, random_state=0)`;
both searches hold out the same stratified 20% of the training part for
validation. Fronts are re-measured on the test split. Hypervolume is of
(test error, MACs), both minimised, with the reference point fixed in advance:
(error 1.0, MACs 20,000) for the constrained comparison, and (1.0, 200,000)
for the whole space.

Run: `python benchmarks/bench_search_digits.py [--trials 20 --epochs 30 --seeds 0 1 2 --oracle pso]`.
Writes `benchmarks/results/bench_search_digits.json` (`--output` for another file).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time

import keras
import keras_tuner as kt
import numpy as np

import tfnas
from tfnas.cost import profile
from tfnas.data import prepare
from tfnas.demo import load_digits_images
from tfnas.oracles import DEFAULT_ORACLE
from tfnas.pareto import hypervolume_2d
from tfnas.pareto import non_dominated_fronts
from tfnas.spaces import MobileNetSpace

MAX_MACS = 20_000
REFERENCES = {"hv_20k": (1.0, 20_000.0), "hv_200k": (1.0, 200_000.0)}


class KerasTunerSpace(MobileNetSpace):
    """The same space for keras-tuner: `fit` reports MACs so a list objective can see them."""

    def fit(self, hp, model, *args, **kwargs):
        macs = profile(model).macs
        # keras-tuner's SaveBestEpoch cannot score a list objective that holds "macs" (not a training
        # log), so keep the best epoch's weights here and the trained model in memory, in trial order.
        callbacks = [c for c in kwargs.pop("callbacks", []) if type(c).__name__ != "SaveBestEpoch"]
        best = BestWeights()
        start = time.perf_counter()
        history = model.fit(*args, callbacks=[*callbacks, best], **kwargs)
        self.fit_seconds.append(time.perf_counter() - start)
        model.set_weights(best.weights)
        self.trained.append(model)
        metrics = {"val_accuracy": max(history.history["val_accuracy"]), "macs": float(macs)}
        # keras-tuner 1.4.8 wants a dict result to carry the list objective's own value.
        return {**metrics, "multi_objective": self.objective.get_value(metrics)}


class BestWeights(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the best val_accuracy."""

    def __init__(self):
        super().__init__()
        self.best, self.weights = -1.0, None

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] > self.best:
            self.best, self.weights = logs["val_accuracy"], self.model.get_weights()


def front_table(models: list[tuple[str, int, float, float]]) -> list[dict]:
    """Non-dominated (test error, MACs) rows, cheapest first."""
    if not models:
        return []
    points = np.array([[1.0 - test_acc, macs] for _, macs, _, test_acc in models])
    rows = [models[i] for i in non_dominated_fronts(points)[0]]
    return [
        {"trial": t, "macs": m, "val_accuracy": round(v, 4), "test_accuracy": round(a, 4)}
        for t, m, v, a in sorted(rows, key=lambda r: r[1])
    ]


def hypervolumes(models: list[tuple[str, int, float, float]]) -> dict[str, float]:
    points = np.array([[1.0 - a, m] for _, m, _, a in models]).reshape(-1, 2)
    return {name: hypervolume_2d(points, ref) / (ref[0] * ref[1]) for name, ref in REFERENCES.items()}


def run_tfnas(x, y, x_test, y_test, args) -> dict:
    start = time.perf_counter()
    result = tfnas.search(
        x, y, constraints={"max_macs": MAX_MACS}, max_trials=args.trials, epochs=args.epochs, seed=args.seed,
        oracle=args.oracle, directory=args.directory, project_name="tfnas", overwrite=True, verbose=1,
    )
    wall = time.perf_counter() - start
    models = []
    for c in result.completed:
        _, acc = c.model().evaluate(x_test, y_test, verbose=0)
        models.append((c.trial_id, int(c.metrics["macs"]), c.metrics["val_accuracy"], float(acc)))
    fit = sum(c.metrics["fit_seconds"] for c in result.completed)
    return {
        "models": models, "wall_seconds": wall, "fit_seconds": fit,
        "overhead_share": (wall - fit) / fit, "infeasible_skipped": result.infeasible_count,
    }


def run_keras_tuner(x, y, x_test, y_test, args) -> dict:
    data = prepare(x, y, validation_split=0.2, seed=args.seed)
    space = KerasTunerSpace().configure(data.spec.input_shape, data.spec.num_outputs, "classification")
    space.fit_seconds, space.trained = [], []
    tuner = kt.RandomSearch(
        space, objective=[kt.Objective("val_accuracy", "max"), kt.Objective("macs", "min")],
        max_trials=args.trials, seed=args.seed, directory=args.directory, project_name="keras_tuner", overwrite=True,
    )
    space.objective = tuner.oracle.objective  # keras-tuner's list objective: -val_accuracy + macs
    start = time.perf_counter()
    tuner.search(*data.fit_args, epochs=args.epochs, verbose=0, **data.fit_kwargs)
    wall = time.perf_counter() - start
    models = []
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id)
    for trial, model in zip([t for t in trials if t.status == "COMPLETED"], space.trained, strict=True):
        _, acc = model.evaluate(x_test, y_test, verbose=0)
        models.append((trial.trial_id, int(trial.metrics.get_last_value("macs")),
                       trial.metrics.get_last_value("val_accuracy"), float(acc)))
    fit = sum(space.fit_seconds)
    return {"models": models, "wall_seconds": wall, "fit_seconds": fit, "overhead_share": (wall - fit) / fit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--directory", default="/tmp/tfnas_bench_search_digits")
    parser.add_argument("--oracle", default=DEFAULT_ORACLE, help="the tfnas strategy (default: tfnas's default)")
    parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results", "bench_search_digits.json"))
    args = parser.parse_args()
    (x, y), (x_test, y_test) = load_digits_images()
    runs = []
    for seed in args.seeds:
        args.seed = seed
        shutil.rmtree(args.directory, ignore_errors=True)
        results = {
            "tfnas": run_tfnas(x, y, x_test, y_test, args),
            "keras_tuner_random": run_keras_tuner(x, y, x_test, y_test, args),
        }
        for r in results.values():
            r.update(hypervolumes(r["models"]))
            r["best_test_accuracy_under_20k"] = max((a for _, m, _, a in r["models"] if m <= MAX_MACS), default=0.0)
            r["models_under_20k"] = sum(m <= MAX_MACS for _, m, _, _ in r["models"])
            r["front"] = front_table(r["models"])
        runs.append({"seed": seed, "results": results})
        print_run(runs[-1], args)
    print_medians(runs, args)
    out = args.output
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"args": {k: v for k, v in vars(args).items() if k != "seed"}, "runs": runs}, f, indent=1)
    print(f"Wrote {out}")


def print_run(run: dict, args: argparse.Namespace) -> None:
    print(f"\nDigits, {args.trials} trials x {args.epochs} epochs, seed {run['seed']}")
    for name, r in run["results"].items():
        print(f"Front of {name} (test error vs MACs):")
        for row in r["front"]:
            print(f"  trial {row['trial']:>3}  macs {row['macs']:>9,}  val {row['val_accuracy']:.4f}  "
                  f"test {row['test_accuracy']:.4f}")


def print_medians(runs: list[dict], args: argparse.Namespace) -> None:
    columns = ("hv_20k", "hv_200k", "best_test_accuracy_under_20k", "models_under_20k", "wall_seconds", "overhead_share")
    print(f"\nDigits, {args.trials} trials x {args.epochs} epochs; per seed, then the median over seeds {args.seeds}")
    print(f"{'method':<20} {'seed':>6} {'HV@20k':>8} {'HV@200k':>8} {'best<20k':>9} {'n<20k':>6} {'wall s':>8} {'overhead':>9}")
    for name in runs[0]["results"]:
        rows = [(str(run["seed"]), [run["results"][name][c] for c in columns]) for run in runs]
        rows.append(("median", list(np.median([values for _, values in rows], axis=0))))
        for seed, v in rows:
            print(f"{name:<20} {seed:>6} {v[0]:>8.4f} {v[1]:>8.4f} {v[2]:>9.4f} {v[3]:>6.0f} {v[4]:>8.1f} {100 * v[5]:>8.1f}%")
    ratios = [
        run["results"]["tfnas"]["hv_20k"] / run["results"]["keras_tuner_random"]["hv_20k"]
        for run in runs if run["results"]["keras_tuner_random"]["hv_20k"] > 0
    ]
    print(
        f"HV@20k ratio tfnas / keras-tuner, median over seeds where keras-tuner has a model under 20k: "
        f"{np.median(ratios):.2f}x ({len(ratios)} of {len(runs)} seeds)" if ratios
        else "keras-tuner trained no model under 20k MACs in any seed (HV@20k = 0)"
    )


if __name__ == "__main__":
    main()
