"""Compression paths side by side on digits and MNIST-1D, measured as int8 files on the real runtimes.

Question: what does each path (int8 post-training quantization, QAT, 50% /
75% magnitude pruning with and without prune-preserving QAT, 2:4 pruning,
clustering, distillation, channel pruning of 25% / 50% of the filters, and
channel pruning to half the MACs by the cost model, `target=`) cost in
accuracy, and what does it save in MACs, bytes and arena, once the model is
a full-int8 `.tflite` run by LiteRT and TFLite Micro?

Setup: one fixed architecture per data set (digits: MobileNet-style, 4.8k
weights; MNIST-1D: DS-CNN, about 14k MACs), trained from the same seed for
`--epochs`; every path fine-tunes that same trained model for
`--finetune-epochs` epochs per stage and is exported int8 with 200
calibration samples. Distillation fine-tunes it on a 4x wider teacher's
softened outputs. Accuracy is on the test split (digits:
`train_test_split(test_size=0.25, random_state=0)`; MNIST-1D: its own 1000
test signals), float = Keras, LiteRT and TFLite Micro = the int8 file.
Medians over `--seeds`. The arena is TFLite Micro's (activations +
persistent); "pred" is the cost model's `peak_ram_bytes` against TFLite
Micro's activation part.

Run: `python benchmarks/bench_compress.py [--datasets digits mnist1d --seeds 0 1 2 --epochs 40
--finetune-epochs 10 --paths "int8 PTQ" "channels 50%" --output FILE]`. Writes `benchmarks/results/bench_compress.json` by default.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import keras
import keras_tuner as kt
import numpy as np

import tfnas
from tfnas.cost import profile
from tfnas.demo import load_digits_images
from tfnas.demo import load_mnist1d
from tfnas.spaces import DSCNN1DSpace
from tfnas.spaces import MobileNetSpace

ARCHITECTURES = {
    "digits": (MobileNetSpace, {"stem_filters": 16, "stage1_filters": 32, "stage1_expansion": 4, "learning_rate": 3e-3}),
    "mnist1d": (
        DSCNN1DSpace,
        {"stem_filters": 32, "stem_strides": 2, "pooling": "none", "num_blocks": 3, "block1_filters": 32, "block2_filters": 32,
         "block3_filters": 32, "block1_strides": 1, "block2_strides": 2, "block3_strides": 1, "learning_rate": 3e-3},
    ),
}
PATHS = {
    "int8 PTQ": None,
    "QAT": {"qat": True},
    "prune 50%": {"prune": 0.5},
    "prune 50% + PQAT": {"prune": 0.5, "qat": True},
    "prune 75%": {"prune": 0.75},
    "prune 75% + PQAT": {"prune": 0.75, "qat": True},
    "2:4 + PQAT": {"structure": "2:4", "qat": True},
    "cluster 16": {"cluster": 16},
    "distill (4x teacher)": "distill",
    "channels 25%": {"channels": 0.25},
    "channels 50%": {"channels": 0.5},
    "channels 50% + QAT": {"channels": 0.5, "qat": True},
    "budget 50% MACs + QAT": "budget",
}


def build(dataset: str, input_shape: tuple, width: int = 1) -> keras.Model:
    space_cls, values = ARCHITECTURES[dataset]
    space = space_cls().configure(input_shape, 10, "classification")
    hp = kt.HyperParameters()
    space.build(hp)
    values = dict(values)
    for key in list(values):
        if "filters" in key:
            values[key] *= width
    hp.values.update(values)
    for registered in hp.space:  # stages/blocks switched on above take their defaults
        if hp.is_active(registered) and registered.name not in hp.values:
            hp.values[registered.name] = registered.default
    return space.build(hp)


def run_seed(dataset: str, seed: int, epochs: int, finetune_epochs: int, folder: str, paths: list[str] | None = None) -> dict[str, dict]:
    (x, y), (x_test, y_test) = load_digits_images() if dataset == "digits" else load_mnist1d()
    keras.utils.set_random_seed(seed)
    model = build(dataset, x.shape[1:])
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    rows = {"float": {"float": _accuracy(model, x_test, y_test), "macs": profile(model).macs, "params": model.count_params()}}
    teacher = None
    for name, kwargs in PATHS.items():
        if paths and name not in paths:
            continue
        start = time.perf_counter()
        if kwargs is None:
            source, fine_tuned = model, None
        else:
            if kwargs == "budget":
                kwargs = {"target": {"max_macs": profile(model).macs // 2}, "qat": True}
            if kwargs == "distill":
                if teacher is None:
                    keras.utils.set_random_seed(seed)
                    teacher = build(dataset, x.shape[1:], width=4)
                    teacher.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
                    rows["teacher (float)"] = {"float": _accuracy(teacher, x_test, y_test), "params": teacher.count_params()}
                kwargs = {"distill_from": teacher}
            try:
                source = tfnas.compress(model, x, y, epochs=finetune_epochs, seed=seed, **kwargs)
            except tfnas.TfnasInputError as e:  # e.g. 2:4 on a 1D model: TF-MOT has nothing it can prune
                rows[name] = {"skipped": str(e)}
                print(f"  {dataset} seed {seed} {name:<22} not applicable: {str(e)[:80]}", flush=True)
                continue
            fine_tuned = source.final.value
        path = os.path.join(folder, f"{dataset}_{seed}_{len(rows)}.tflite")
        exported = tfnas.export(source, path, representative_data=x[:200])
        # the float twin of the file: the smaller Keras 3 model after channel pruning (its cost model's arena is "pred")
        twin = model if fine_tuned is None else source.keras_model
        checked = tfnas.verify(path, x_test, y_test, model=twin, latency_runs=200)
        rows[name] = {
            "finetune_val": fine_tuned,
            "macs": profile(model).macs if fine_tuned is None else source.stages[-1].macs,
            "litert": checked.litert_value,
            "micro": checked.micro_value,
            "agreement": checked.agreement,
            "bytes": exported.bytes,
            "gzip_bytes": exported.gzip_bytes,
            "weight_zeros": exported.weight_zeros,
            "arena_total": checked.arena_total_bytes,
            "arena_head": checked.arena_head_bytes,
            "predicted_peak_ram": checked.predicted_peak_ram_bytes,
            "latency_ms": checked.litert_latency_ms,
            "seconds": time.perf_counter() - start,
        }
        print(f"  {dataset} seed {seed} {name:<22} micro {rows[name]['micro']:.4f} bytes {exported.bytes:,} gzip {exported.gzip_bytes:,}", flush=True)
    return rows


def _accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(x, verbose=0).argmax(1) == y))


def table(dataset: str, runs: list[dict[str, dict]]) -> list[str]:
    def med(name: str, key: str) -> float:
        values = [r[name][key] for r in runs if r[name].get(key) is not None]
        return float(np.median(values)) if values else float("nan")

    base = med("float", "float")
    lines = [
        f"\n{dataset}: float test accuracy {base:.2%} (median of {len(runs)} seeds), {int(med('float', 'macs')):,} MACs, "
        f"{int(med('float', 'params')):,} params",
        f"{'path':<22} {'LiteRT':>7} {'TFLM':>7} {'drop':>6} {'macs':>7} {'bytes':>7} {'gzip':>7} {'zeros':>6} {'arena':>7} {'act':>6} "
        f"{'pred':>6} {'lat_ms':>7}",
    ]
    for name in PATHS:
        if name not in runs[0]:
            continue
        if "skipped" in runs[0][name]:
            lines.append(f"{name:<22} not applicable: {runs[0][name]['skipped'][:90]}")
            continue
        micro = med(name, "micro")
        lines.append(
            f"{name:<22} {med(name, 'litert'):>7.2%} {micro:>7.2%} {100 * (base - micro):>5.2f}p {med(name, 'macs'):>7,.0f} "
            f"{int(med(name, 'bytes')):>7,} "
            f"{int(med(name, 'gzip_bytes')):>7,} {med(name, 'weight_zeros'):>6.1%} {int(med(name, 'arena_total')):>7,} "
            f"{int(med(name, 'arena_head')):>6,} {int(med(name, 'predicted_peak_ram')):>6,} {med(name, 'latency_ms'):>7.4f}"
        )
    if "teacher (float)" in runs[0]:
        lines.append(f"(teacher: {med('teacher (float)', 'float'):.2%} float, {int(med('teacher (float)', 'params')):,} params)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist1d"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--finetune-epochs", type=int, default=10)
    parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results", "bench_compress.json"))
    parser.add_argument("--paths", nargs="+", default=None, help=f"only these rows (besides the float model) of {list(PATHS)}")
    args = parser.parse_args()
    results, lines = {}, []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for dataset in args.datasets:
            runs = [run_seed(dataset, seed, args.epochs, args.finetune_epochs, folder, args.paths) for seed in args.seeds]
            results[dataset] = runs
            lines += table(dataset, runs)
    print("\n".join(lines))
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump({"args": vars(args), "seconds": time.perf_counter() - start, "load_average": os.getloadavg(),
                   "results": results, "table": lines}, f, indent=1)
    print(f"\nWrote {args.output} in {time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    main()
