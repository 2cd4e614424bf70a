"""The whole pipeline on MNIST-1D against the paper's CNN: search -> compress -> int8 -> TFLite Micro.

Question: can tfnas find a model that runs on a microcontroller (full int8,
TFLite Micro) at no more than half the paper CNN's MACs (<= 16k) and still
reach its 94% test accuracy (Greydanus 2020, MNIST-1D, CNN row: 94%, 5,210
params, about 31.8k MACs)?

Setup: MNIST-1D generated offline (`make_dataset(get_dataset_args())`: 4000
train / 1000 test signals of length 40). The paper's CNN (3 Conv1D of 25
channels, kernels 5/3/3, stride 2, ReLU, then Dense) is rebuilt in Keras and
trained with the same recipe as every tfnas trial (Adam, batch 32, best epoch
on a seeded 20% validation split) for the same epochs, then exported int8 and
run on TFLite Micro: a side-by-side baseline, not only the paper's figure.
tfnas searches the DS-CNN space under `max_macs=16_000`, takes the most
accurate candidate of the front, fine-tunes it with QAT and exports it
int8. Test accuracy is on the 1000 test signals as TFLite Micro computes it.

Run: `python benchmarks/bench_mnist1d.py [--trials 20 --epochs 60 --seeds 0]`.
Writes `benchmarks/results/bench_mnist1d.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import keras
import numpy as np

import tfnas
from tfnas.cost import profile
from tfnas.data import prepare
from tfnas.demo import load_mnist1d
from tfnas.spaces import DSCNN1DSpace

MAX_MACS = 16_000
PAPER = {"test_accuracy": 0.94, "params": 5210, "macs": 31_800}


def paper_cnn() -> keras.Model:
    """The MNIST-1D paper's CNN: Conv1D(25, 5, s2, pad 1) -> Conv1D(25, 3, s2, pad 1) x2 -> Dense(10)."""
    inputs = keras.Input((40, 1), name="input")
    x = inputs
    for i, kernel in enumerate((5, 3, 3)):
        x = keras.layers.ZeroPadding1D(1, name=f"pad{i}")(x)
        x = keras.layers.Conv1D(25, kernel, strides=2, activation="relu", name=f"conv{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="head")(x), name="paper_cnn")
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train_best_epoch(model: keras.Model, x: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> keras.Model:
    """The recipe of a tfnas trial: the same seeded validation split, best epoch by val_accuracy."""
    data = prepare(x, y, seed=seed)
    best = {"acc": -1.0, "weights": None}

    def keep(epoch: int, logs: dict) -> None:
        if logs["val_accuracy"] > best["acc"]:
            best.update(acc=logs["val_accuracy"], weights=model.get_weights())

    model.fit(*data.fit_args, epochs=epochs, verbose=0, callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=keep)],
              **data.fit_kwargs)
    model.set_weights(best["weights"])
    return model


def deployed(model_or_result, x: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, path: str, float_model) -> dict:
    exported = tfnas.export(model_or_result, path, representative_data=x[:200])
    checked = tfnas.verify(path, x_test, y_test, model=float_model, latency_runs=200)
    cost = profile(float_model)
    return {
        "float_test": checked.float_value, "litert_test": checked.litert_value, "micro_test": checked.micro_value,
        "macs": cost.macs, "params": cost.params, "bytes": exported.bytes, "arena_total": checked.arena_total_bytes,
        "arena_head": checked.arena_head_bytes, "predicted_peak_ram": checked.predicted_peak_ram_bytes,
        "latency_ms": checked.litert_latency_ms,
    }


def run_seed(seed: int, trials: int, epochs: int, qat_epochs: int, folder: str) -> dict:
    (x, y), (x_test, y_test) = load_mnist1d()
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    baseline = train_best_epoch(paper_cnn(), x, y, epochs, seed)
    paper_row = deployed(baseline, x, x_test, y_test, os.path.join(folder, f"paper_{seed}.tflite"), baseline)
    paper_row["seconds"] = time.perf_counter() - start

    start = time.perf_counter()
    result = tfnas.search(
        x, y, space=DSCNN1DSpace(), constraints={"max_macs": MAX_MACS}, max_trials=trials, epochs=epochs,
        directory=folder, project_name=f"mnist1d_{seed}", seed=seed, overwrite=True, verbose=0,
    )
    search_seconds = time.perf_counter() - start
    candidate = result.candidate("most_accurate")
    model = candidate.model()
    compressed = tfnas.compress(model, x, y, qat=True, epochs=qat_epochs, seed=seed)
    row = deployed(compressed, x, x_test, y_test, os.path.join(folder, f"tfnas_{seed}.tflite"), model)
    row.update(trial=candidate.trial_id, val_accuracy=candidate.metrics["val_accuracy"],
               hyperparameters=candidate.hyperparameters, search_seconds=search_seconds, qat_val=compressed.final.value,
               trained=len(result.completed),
               front=[(c.trial_id, c.metrics["macs"], c.metrics["val_accuracy"]) for c in result.pareto])
    ptq = deployed(model, x, x_test, y_test, os.path.join(folder, f"tfnas_ptq_{seed}.tflite"), model)
    row["micro_test_ptq"] = ptq["micro_test"]
    print(f"seed {seed}: paper CNN {paper_row['micro_test']:.4f} at {paper_row['macs']:,} MACs; "
          f"tfnas {row['micro_test']:.4f} (PTQ {ptq['micro_test']:.4f}) at {row['macs']:,} MACs", flush=True)
    return {"paper_cnn": paper_row, "tfnas": row}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--qat-epochs", type=int, default=10)
    parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results", "bench_mnist1d.json"))
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        runs = [run_seed(seed, args.trials, args.epochs, args.qat_epochs, folder) for seed in args.seeds]
    lines = [
        f"\nMNIST-1D, test accuracy on TFLite Micro (int8), {len(runs)} seed(s), {args.trials} trials x {args.epochs} epochs",
        f"{'model':<34} {'TFLM test':>9} {'float':>7} {'MACs':>7} {'params':>7} {'bytes':>7} {'arena':>7}",
        f"{'paper CNN (Greydanus 2020, paper)':<34} {PAPER['test_accuracy']:>9.2%} {'':>7} {PAPER['macs']:>7,} "
        f"{PAPER['params']:>7,}",
    ]
    for name, key in (("paper CNN, same recipe, int8 PTQ", "paper_cnn"), ("tfnas (<=16k MACs), QAT int8", "tfnas")):
        for run in runs:
            r = run[key]
            lines.append(f"{name:<34} {r['micro_test']:>9.2%} {r['float_test']:>7.2%} {r['macs']:>7,} {r['params']:>7,} "
                         f"{r['bytes']:>7,} {r['arena_total']:>7,}")
    met = [run["tfnas"]["micro_test"] >= PAPER["test_accuracy"] and run["tfnas"]["macs"] <= MAX_MACS for run in runs]
    lines.append(f"Target (>= 94% int8 on TFLite Micro at <= 16k MACs) met in {sum(met)} of {len(met)} seed(s).")
    print("\n".join(lines))
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump({"args": vars(args), "seconds": time.perf_counter() - start, "load_average": os.getloadavg(),
                   "paper": PAPER, "runs": runs, "table": lines}, f, indent=1, default=str)
    print(f"\nWrote {args.output} in {time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    main()
