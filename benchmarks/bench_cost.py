"""Benchmark of `tfnas.cost.profile` against its references, on the cost zoo.

For each zoo model: FLOPs of `profile` vs the TensorFlow profiler (relative
error), the median time of each and the speed-up; the estimated int8 `.tflite`
size vs a real full-int8 conversion; the estimated arena vs what TFLite Micro
allocates (non-persistent "head" bytes, in a child process). Prints a table and
writes benchmarks/results/bench_cost.json.

With `--calibrate N` it also converts N random CNN / DS-CNN / MLP models and
refits the size coefficients of `tfnas/cost/_size.py` by non-negative least squares (this
is how they were obtained, with N=60), reporting the fit errors and how many
predicted graphs and arenas match the real ones exactly.

Usage:
    python benchmarks/bench_cost.py [--repeats 20] [--calibrate 60]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import nnls  # noqa: E402

import tfnas.cost  # noqa: E402
from tfnas.cost import _size  # noqa: E402
from tfnas.cost._graph import flatten_model  # noqa: E402
from tfnas.cost._lower import lower  # noqa: E402
from tfnas.cost._memory import peak_ram_bytes  # noqa: E402
from tfnas.testing.cost_zoo import convert_int8  # noqa: E402
from tfnas.errors import MicroRunError  # noqa: E402
from tfnas.testing.cost_zoo import cost_zoo  # noqa: E402
from tfnas.testing.cost_zoo import tflm_arena  # noqa: E402
from tfnas.testing.cost_zoo import trained_like  # noqa: E402

L = keras.layers
RESULTS = Path(__file__).resolve().parent / "results" / "bench_cost.json"


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up (imports, tracing caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_zoo(repeats: int) -> list[dict]:
    """Measures every zoo model; returns one row per model."""
    rows = []
    for name, model in cost_zoo().items():
        report = tfnas.cost.profile(model)
        reference = tfnas.cost.profiler_flops(model)
        t_profile = _median_seconds(lambda: tfnas.cost.profile(model), repeats)
        t_profiler = _median_seconds(lambda: tfnas.cost.profiler_flops(model), max(3, repeats // 4))
        blob = convert_int8(model)
        head = tflm_arena(blob)["head"]
        rows.append(
            {
                "model": name,
                "flops": report.flops,
                "profiler_flops": reference,
                "flops_rel_error": (report.flops - reference) / reference,
                "macs": report.macs,
                "params": report.params,
                "profile_ms": t_profile * 1e3,
                "profiler_ms": t_profiler * 1e3,
                "speedup": t_profiler / t_profile,
                "tflite_bytes": report.tflite_bytes,
                "real_tflite_bytes": len(blob),
                "tflite_rel_error": (report.tflite_bytes - len(blob)) / len(blob),
                "peak_ram_bytes": report.peak_ram_bytes,
                "tflm_head_bytes": head,
                "ram_ratio": report.peak_ram_bytes / head,
            }
        )
    return rows


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'model':15s} {'tfnas FLOPs':>11s} {'profiler':>10s} {'err':>7s} {'tfnas ms':>9s} {'prof ms':>8s} "
        f"{'speedup':>8s} {'tflite est':>10s} {'real':>7s} {'err':>7s} {'RAM est':>8s} {'TFLM':>7s} {'ratio':>6s}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['model']:15s} {r['flops']:11,d} {r['profiler_flops']:10,d} {r['flops_rel_error']:+7.2%} "
            f"{r['profile_ms']:9.3f} {r['profiler_ms']:8.1f} {r['speedup']:7.0f}x {r['tflite_bytes']:10,d} "
            f"{r['real_tflite_bytes']:7,d} {r['tflite_rel_error']:+7.2%} {r['peak_ram_bytes']:8,d} "
            f"{r['tflm_head_bytes']:7,d} {r['ram_ratio']:6.3f}"
        )


def summary(rows: list[dict]) -> dict:
    big = [r for r in rows if r["real_tflite_bytes"] > 5000]
    return {
        "max_abs_flops_rel_error": max(abs(r["flops_rel_error"]) for r in rows),
        "median_speedup": statistics.median(r["speedup"] for r in rows),
        "min_speedup": min(r["speedup"] for r in rows),
        "max_abs_tflite_rel_error": max(abs(r["tflite_rel_error"]) for r in rows),
        "max_abs_tflite_rel_error_above_5kb": max(abs(r["tflite_rel_error"]) for r in big) if big else None,
        "ram_ratio_min": min(r["ram_ratio"] for r in rows),
        "ram_ratio_max": max(r["ram_ratio"] for r in rows),
    }


# -- size calibration on random models ------------------------------------------------------------


def random_model(seed: int) -> keras.Model:
    """A random small 2D CNN, 1D DS-CNN or MLP (seed % 3 picks which), with trained-like weights."""
    rng = np.random.default_rng(seed)
    pick = lambda *xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    kind = seed % 3
    if kind == 2:
        inputs = keras.Input((pick(8, 20, 64, 100),))
        x = inputs
        for _ in range(int(rng.integers(1, 5))):
            x = L.Dense(pick(8, 16, 32, 64, 128), activation=pick("relu", "linear", "tanh", "sigmoid", "relu6"),
                        use_bias=bool(rng.random() < 0.8))(x)  # fmt: skip
            x = L.BatchNormalization()(x) if rng.random() < 0.3 else x
            x = L.Dropout(0.1)(x) if rng.random() < 0.3 else x
        return trained_like(keras.Model(inputs, L.Dense(pick(1, 3, 10), activation=pick("softmax", "linear"))(x)), seed)
    one_d = kind == 1
    if one_d:
        conv, dw, sep = L.Conv1D, L.DepthwiseConv1D, L.SeparableConv1D
    else:
        conv, dw, sep = L.Conv2D, L.DepthwiseConv2D, L.SeparableConv2D
    pool = (L.MaxPooling1D, L.AveragePooling1D) if one_d else (L.MaxPooling2D, L.AveragePooling2D)
    shape = (pick(32, 49, 64, 100), pick(1, 3, 6, 10)) if one_d else (pick(16, 24, 32),) * 2 + (pick(1, 3),)
    inputs = keras.Input(shape)
    x = L.Rescaling(1 / 255)(inputs) if not one_d and rng.random() < 0.3 else inputs
    filters = pick(4, 8, 16)
    for _ in range(int(rng.integers(2, 6))):
        block, strides = pick("conv", "dw", "sep", "res", "pool"), pick(1, 2) if x.shape[1] >= 8 else 1
        if block == "conv":
            x = conv(filters, pick(1, 3, 5), strides=strides, padding="same", use_bias=bool(rng.random() < 0.5))(x)
        elif block == "dw":
            x = dw(3, strides=strides, padding="same")(x)
        elif block == "sep":
            x = sep(filters, 3, strides=strides, padding="same")(x)
        elif block == "pool" and x.shape[1] >= 4:
            x = pick(*pool)(2)(x)
        else:
            y = L.ReLU()(L.BatchNormalization()(conv(int(x.shape[-1]), 3, padding="same")(x)))
            x = L.Add()([x, y])
        if block in ("conv", "dw", "sep"):
            x = L.BatchNormalization()(x) if rng.random() < 0.6 else x
            x = pick(L.ReLU(), L.ReLU(max_value=6.0))(x) if rng.random() < 0.7 else x
        filters = min(64, filters * pick(1, 2))
    x = pick(L.GlobalAveragePooling1D() if one_d else L.GlobalAveragePooling2D(), L.Flatten())(x)
    x = L.Dense(pick(16, 32), activation="relu")(x) if rng.random() < 0.4 else x
    return trained_like(keras.Model(inputs, L.Dense(pick(2, 5, 10), activation=pick("softmax", "linear"))(x)), seed)


def calibrate(count: int) -> dict:
    """Refits the size coefficients on the zoo plus `count` random models; reports errors and exact matches."""
    models = list(cost_zoo().items()) + [(f"random{seed}", random_model(seed)) for seed in range(count)]
    features, constants, sizes, ram_exact, tflm_failed = [], [], [], 0, 0
    for name, model in models:
        graph = lower(flatten_model(model))
        blob = convert_int8(model)
        features.append(_size.features(graph))
        constants.append(_size.constant_bytes(graph))
        sizes.append(len(blob))
        try:
            ram_exact += peak_ram_bytes(graph) == tflm_arena(blob)["head"]
        except MicroRunError:  # TFLite Micro aborts on a few random models; counted, not compared
            tflm_failed += 1
    keys = list(features[0])
    a = np.array([[f[k] for k in keys] for f in features], float)
    y = np.array(sizes, float) - np.array(constants, float)
    # Non-negative least squares: every table entry costs bytes, and the counts are collinear enough that
    # plain least squares trades a negative cost per tensor against the per-op costs.
    coefficients, _ = nnls(a, y)
    errors = (a @ coefficients + np.array(constants) - np.array(sizes)) / np.array(sizes)
    current = (a @ np.array([_size.COEFFICIENTS[k] for k in keys]) + np.array(constants) - sizes) / np.array(sizes)
    return {
        "models": len(models),
        "fitted_coefficients": {k: round(float(v), 1) for k, v in zip(keys, coefficients)},
        "refit_max_abs_rel_error": float(np.abs(errors).max()),
        "refit_mean_abs_rel_error": float(np.abs(errors).mean()),
        "shipped_max_abs_rel_error": float(np.abs(current).max()),
        "shipped_mean_abs_rel_error": float(np.abs(current).mean()),
        "arena_exact_matches": ram_exact,
        "tflm_aborted": tflm_failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed runs of profile() per model")
    parser.add_argument("--calibrate", type=int, default=0, help="also refit the size model on N random models")
    args = parser.parse_args()

    rows = bench_zoo(args.repeats)
    print_table(rows)
    result = {"rows": rows, "summary": summary(rows)}
    for key, value in result["summary"].items():
        print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")
    if args.calibrate:
        result["calibration"] = calibrate(args.calibrate)
        print("\ncalibration:", json.dumps(result["calibration"], indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
