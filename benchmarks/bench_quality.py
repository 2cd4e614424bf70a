"""Model quality under a MAC budget: tfnas (with and without final training) vs plain keras-tuner.

Question (issue 13): what int8 test accuracy on TFLite Micro does a user get
under a MAC limit from tfnas's defaults, and from keras-tuner's
`RandomSearch` over a space written in five minutes?

Protocol, per data set and seed (0, 1, 2):
- The search sees only the training split; each method holds out a seeded,
  stratified 20% of it for validation (tfnas's own split; the same
  `tfnas.data.prepare` split for keras-tuner).
- Every method trains the same number of trials x epochs.
- The model is chosen on **validation**: the most accurate trial under the
  MAC limit. tfnas's figure is its last epoch's (what it reports); keras-
  tuner's is its own, the best epoch's (its checkpointed weights).
- "tfnas + final" retrains that same chosen candidate from scratch on the
  whole training split (training + validation) for `--final-epochs`, seed =
  the run's seed; its epochs are added to the budget column.
- Each chosen model is exported full int8 (200 training samples calibrate)
  and its **test** accuracy measured on LiteRT (reference kernels) and on
  TFLite Micro, with MACs, file bytes and TFLite Micro's arena.

Methods: `tfnas` (defaults: `space="auto"`, the default oracle and training
recipe), `tfnas+final`, `kt_random` (keras-tuner RandomSearch, 0-3 Conv +
Flatten + optional Dense, ReLU, Adam at a constant rate from {1e-3, 3e-3,
1e-2}; trials over the limit are trained too, as keras-tuner cannot skip them).

Run one data set and seed per process (two in parallel on 2 cores):
    python benchmarks/bench_quality.py --dataset digits --seed 0
then `python benchmarks/bench_quality.py --report` prints the table and writes
`benchmarks/results/bench_quality.json` from the per-run files.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import time

import keras
import keras_tuner as kt
import tensorflow as tf

import tfnas
from tfnas.cost import profile
from tfnas.data import prepare
from tfnas.demo import load_digits_images
from tfnas.demo import load_mnist1d

RESULTS = os.path.join(os.path.dirname(__file__), "results")
SETTINGS = {  # limit, trials, epochs per trial, final-training epochs
    "digits": {"max_macs": 10_000, "trials": 20, "epochs": 20, "final_epochs": 60},
    "mnist1d": {"max_macs": 16_000, "trials": 20, "epochs": 30, "final_epochs": 90},
}


def load(dataset: str) -> tuple:
    return load_digits_images() if dataset == "digits" else load_mnist1d()


def generic_space(input_shape: tuple[int, ...]):
    """The five-minute keras-tuner space: 0-3 Conv (ReLU) + Flatten + optional Dense, constant-rate Adam."""
    conv = keras.layers.Conv2D if len(input_shape) == 3 else keras.layers.Conv1D

    def build(hp: kt.HyperParameters) -> keras.Model:
        inputs = keras.Input(input_shape)
        x = inputs
        for i in range(hp.Int("conv_layers", 0, 3)):
            x = conv(hp.Choice(f"filters_{i}", [4, 8, 16, 32]), 3, padding="same", activation="relu")(x)
        x = keras.layers.Flatten()(x)
        if hp.Boolean("dense"):
            x = keras.layers.Dense(hp.Choice("dense_units", [16, 32, 64]), activation="relu")(x)
        outputs = keras.layers.Dense(10, activation="softmax")(x)
        model = keras.Model(inputs, outputs)
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-3, 3e-3, 1e-2])),
            loss="sparse_categorical_crossentropy", metrics=["accuracy"],
        )
        return model

    return build


def measure(model: keras.Model, name: str, x_train, x_test, y_test, workdir: str) -> dict:
    """Int8 export of the chosen model and its test figures on LiteRT and TFLite Micro."""
    path = os.path.join(workdir, f"{name}.tflite")
    tfnas.export(model, path, representative_data=x_train[:200])
    report = tfnas.verify(path, x_test, y_test, model=model, latency_runs=10)
    return {
        "macs": profile(model).macs,
        "test_float": report.float_value,
        "test_int8_litert": report.litert_value,
        "test_int8_tflm": report.micro_value,
        "bytes": report.bytes,
        "arena_bytes": report.arena_total_bytes,
        "micro_error": report.micro_error,
    }


def run_tfnas(dataset: str, seed: int, data: tuple, workdir: str) -> list[dict]:
    """The tfnas search, then its chosen model as searched and after final training."""
    s = SETTINGS[dataset]
    (x, y), (x_test, y_test) = data
    start = time.perf_counter()
    result = tfnas.search(
        x, y, constraints={"max_macs": s["max_macs"]}, max_trials=s["trials"], epochs=s["epochs"], seed=seed,
        directory=workdir, project_name=f"tfnas_{dataset}_{seed}", overwrite=True, verbose=0,
    )
    search_seconds = time.perf_counter() - start
    chosen = result.candidate("most_accurate")
    base = {"val": chosen.metrics[result.quality], "trial": chosen.trial_id, "family": chosen.hyperparameters.get("family")}
    rows = [{
        "method": "tfnas", **base, "epochs_spent": sum(c.metrics.get("epochs", 0) for c in result.completed),
        "seconds": search_seconds, **measure(chosen.model(), "tfnas", x, x_test, y_test, workdir),
    }]
    start = time.perf_counter()
    final = result.finalize(x, y, top=1, seeds=[seed], epochs=s["final_epochs"], print_fn=None)[0]
    rows.append({
        "method": "tfnas+final", **base, "epochs_spent": rows[0]["epochs_spent"] + final.epochs,
        "seconds": search_seconds + time.perf_counter() - start,
        **measure(final.model(), "tfnas_final", x, x_test, y_test, workdir),
    })
    return rows


def run_keras_tuner(dataset: str, seed: int, data: tuple, workdir: str) -> dict:
    """keras-tuner RandomSearch on the generic space; the most accurate trial under the limit."""
    s = SETTINGS[dataset]
    (x, y), (x_test, y_test) = data
    split = prepare(x, y, seed=seed)
    (x_train, y_train), (x_val, y_val) = split.fit_args, split.fit_kwargs["validation_data"]
    keras.utils.set_random_seed(seed)
    build = generic_space(tuple(x.shape[1:]))
    tuner = kt.RandomSearch(
        build, objective="val_accuracy", max_trials=s["trials"], seed=seed, directory=workdir,
        project_name=f"kt_{dataset}_{seed}", overwrite=True,
    )
    start = time.perf_counter()
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=s["epochs"], batch_size=32, verbose=0)
    seconds = time.perf_counter() - start
    trials = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    feasible = [t for t in trials if profile(build(t.hyperparameters)).macs <= s["max_macs"]]
    best = max(feasible, key=lambda t: t.metrics.get_best_value("val_accuracy"))
    return {
        "method": "kt_random", "val": best.metrics.get_best_value("val_accuracy"), "trial": best.trial_id,
        "feasible_trials": len(feasible), "epochs_spent": s["trials"] * s["epochs"], "seconds": seconds,
        **measure(tuner.load_model(best), "kt_random", x, x_test, y_test, workdir),
    }


def run(dataset: str, seed: int) -> None:
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    workdir = os.path.join("/tmp", f"bench_quality_{dataset}_{seed}")
    shutil.rmtree(workdir, ignore_errors=True)
    data = load(dataset)
    rows = [*run_tfnas(dataset, seed, data, workdir), run_keras_tuner(dataset, seed, data, workdir)]
    for row in rows:
        row.update(dataset=dataset, seed=seed)
        print(json.dumps(row), flush=True)
    with open(os.path.join(RESULTS, f"bench_quality_{dataset}_seed{seed}.json"), "w") as f:
        json.dump(rows, f, indent=1)


def report() -> None:
    paths = sorted(glob.glob(os.path.join(RESULTS, "bench_quality_*_seed*.json")))
    rows = [row for path in paths for row in json.load(open(path))]
    table = []
    print(f"{'dataset':8} {'method':12} {'seeds':6} {'tflm test (median)':>19} {'per seed':>22} {'litert':>7} {'float':>6} "
          f"{'val':>6} {'val-test':>8} {'macs':>7} {'bytes':>7} {'arena':>6} {'epochs':>6} {'wall s':>7}")
    for dataset in SETTINGS:
        for method in ("tfnas", "tfnas+final", "kt_random"):
            chosen = sorted((r for r in rows if r["dataset"] == dataset and r["method"] == method), key=lambda r: r["seed"])
            if not chosen:
                continue
            med = lambda key, chosen=chosen: statistics.median(r[key] for r in chosen if r[key] is not None)  # noqa: E731
            line = {
                "dataset": dataset, "method": method, "seeds": [r["seed"] for r in chosen],
                "test_int8_tflm": [r["test_int8_tflm"] for r in chosen], "median_test_int8_tflm": med("test_int8_tflm"),
                "median_test_int8_litert": med("test_int8_litert"), "median_test_float": med("test_float"),
                "median_val": med("val"),
                "median_val_minus_test_float": statistics.median(r["val"] - r["test_float"] for r in chosen),
                "median_macs": med("macs"), "median_bytes": med("bytes"), "median_arena_bytes": med("arena_bytes"),
                "median_epochs_spent": med("epochs_spent"), "median_seconds": med("seconds"),
            }
            table.append(line)
            per_seed = " ".join(f"{v * 100:.1f}" for v in line["test_int8_tflm"])
            print(f"{dataset:8} {method:12} {len(chosen):<6} {line['median_test_int8_tflm'] * 100:>18.2f}% {per_seed:>22} "
                  f"{line['median_test_int8_litert'] * 100:>6.2f}% {line['median_test_float'] * 100:>5.1f}% "
                  f"{line['median_val'] * 100:>5.1f}% {line['median_val_minus_test_float'] * 100:>+7.1f}p "
                  f"{line['median_macs']:>7,.0f} {line['median_bytes']:>7,.0f} "
                  f"{line['median_arena_bytes']:>6,.0f} {line['median_epochs_spent']:>6.0f} {line['median_seconds']:>7.0f}")
    with open(os.path.join(RESULTS, "bench_quality.json"), "w") as f:
        json.dump({"settings": SETTINGS, "table": table, "runs": rows}, f, indent=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(SETTINGS))
    parser.add_argument("--seed", type=int)
    parser.add_argument("--report", action="store_true", help="print the table from the per-run files")
    args = parser.parse_args()
    if args.report:
        report()
    else:
        run(args.dataset, args.seed)


if __name__ == "__main__":
    main()
