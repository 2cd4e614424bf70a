"""Benchmark of `tfnas.cost.profile` against its references, on the cost zoo and three Keras Applications.

For each zoo model and Keras Application (MobileNet alpha 0.25, MobileNetV2
alpha 0.35, MobileNetV3Small alpha 0.75 minimalistic, 96x96x3): FLOPs of
`profile` vs the TensorFlow profiler (relative error), the median time of
each and the speed-up; the estimated int8 `.tflite` size vs a real full-int8
conversion; the estimated arena vs what TFLite Micro allocates (in a child
process): the non-persistent "head" (`peak_ram_bytes`) and the total
(`arena_bytes`, head plus the persistent tail). Prints a table and writes
benchmarks/results/bench_cost.json.

With `--random N` (N defaults to 30) it also draws N random models of every
space of `tfnas.spaces.SPACES` (trained-like weights), converts them and
reports, per family, the max and median relative error of the predicted head
and total arena against TFLite Micro.

With `--calibrate N` it also converts N random CNN / DS-CNN / MLP models and
refits the size coefficients of `tfnas/cost/_size.py` by non-negative least squares (this
is how they were obtained, with N=60), reporting the fit errors and how many
predicted graphs and arenas match the real ones exactly; and it refits the
per-op-kind bytes of the persistent arena (`tfnas/cost/_persistent.py`) on
the zoo, the Keras Applications and those models.

Usage:
    python benchmarks/bench_cost.py [--repeats 20] [--random [30]] [--calibrate 60]
"""

from __future__ import annotations

import argparse
import functools
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
from tfnas.cost import _persistent  # noqa: E402
from tfnas.cost import _size  # noqa: E402
from tfnas.cost._graph import flatten_model  # noqa: E402
from tfnas.cost._lower import lower  # noqa: E402
from tfnas.cost._memory import peak_ram_bytes  # noqa: E402
from tfnas.errors import MicroRunError  # noqa: E402
from tfnas.testing.cost_zoo import FAMILY_SHAPES  # noqa: E402
from tfnas.testing.cost_zoo import convert_int8  # noqa: E402
from tfnas.testing.cost_zoo import cost_zoo  # noqa: E402
from tfnas.testing.cost_zoo import family_model  # noqa: E402
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
    for name, model in cost_zoo(applications=True).items():
        report = tfnas.cost.profile(model)
        reference = tfnas.cost.profiler_flops(model)
        t_profile = _median_seconds(functools.partial(tfnas.cost.profile, model), repeats)
        t_profiler = _median_seconds(functools.partial(tfnas.cost.profiler_flops, model), max(3, repeats // 4))
        blob = convert_int8(model)
        arena = tflm_arena(blob)
        head = arena["head"]
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
                "arena_bytes": report.arena_bytes,
                "persistent_arena_bytes": report.persistent_arena_bytes,
                "tflm_tail_bytes": arena["tail"],
                "tflm_total_bytes": arena["total"],
                "arena_ratio": report.arena_bytes / arena["total"],
            }
        )
    return rows


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'model':23s} {'tfnas FLOPs':>11s} {'profiler':>10s} {'err':>7s} {'tfnas ms':>9s} {'prof ms':>8s} "
        f"{'speedup':>8s} {'tflite est':>10s} {'real':>7s} {'err':>7s} {'RAM est':>8s} {'TFLM':>7s} {'ratio':>6s} "
        f"{'arena est':>9s} {'TFLM':>7s} {'ratio':>6s}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['model']:23s} {r['flops']:11,d} {r['profiler_flops']:10,d} {r['flops_rel_error']:+7.2%} "
            f"{r['profile_ms']:9.3f} {r['profiler_ms']:8.1f} {r['speedup']:7.0f}x {r['tflite_bytes']:10,d} "
            f"{r['real_tflite_bytes']:7,d} {r['tflite_rel_error']:+7.2%} {r['peak_ram_bytes']:8,d} "
            f"{r['tflm_head_bytes']:7,d} {r['ram_ratio']:6.3f} {r['arena_bytes']:9,d} {r['tflm_total_bytes']:7,d} "
            f"{r['arena_ratio']:6.3f}"
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
        "arena_ratio_min": min(r["arena_ratio"] for r in rows),
        "arena_ratio_max": max(r["arena_ratio"] for r in rows),
    }


# -- arena on random models of every space ----------------------------------------------------------


def bench_random(per_family: int) -> dict:
    """Predicted vs TFLite Micro head and total arena on `per_family` random models of every space."""
    results = {}
    for space in FAMILY_SHAPES:
        heads, totals, failed = [], [], 0
        for seed in range(per_family):
            keras.backend.clear_session()
            model = family_model(space, seed)
            report = tfnas.cost.profile(model)
            try:
                real = tflm_arena(convert_int8(model, num_samples=4))
            except MicroRunError:
                failed += 1
                continue
            heads.append(abs(report.peak_ram_bytes - real["head"]) / real["head"])
            totals.append(abs(report.arena_bytes - real["total"]) / real["total"])
        results[space] = {
            "models": len(heads), "tflm_failed": failed,
            "head_max_abs_rel_error": max(heads), "head_median_abs_rel_error": statistics.median(heads),
            "total_max_abs_rel_error": max(totals), "total_median_abs_rel_error": statistics.median(totals),
        }  # fmt: skip
        r = results[space]
        print(
            f"{space:13s} {r['models']:4d} {failed:4d} {r['head_max_abs_rel_error']:9.2%} "
            f"{r['head_median_abs_rel_error']:9.2%} {r['total_max_abs_rel_error']:9.2%} {r['total_median_abs_rel_error']:9.2%}",
            flush=True,
        )
    return results


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
    """Refits the size coefficients on the zoo plus `count` random models; reports errors and exact matches.

    Also refits the persistent-arena bytes per op kind on the zoo, the Keras Applications and those models.
    """
    models = list(cost_zoo(applications=True).items()) + [(f"random{seed}", random_model(seed)) for seed in range(count)]
    features, constants, sizes, ram_exact, tflm_failed, tails = [], [], [], 0, 0, []
    for _name, model in models:
        graph = lower(flatten_model(model))
        blob = convert_int8(model)
        features.append(_size.features(graph))
        constants.append(_size.constant_bytes(graph))
        sizes.append(len(blob))
        try:
            arena = tflm_arena(blob)
            ram_exact += peak_ram_bytes(graph) == arena["head"]
            tails.append((graph, arena["tail"]))
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
        "fitted_coefficients": {k: round(float(v), 1) for k, v in zip(keys, coefficients, strict=True)},
        "refit_max_abs_rel_error": float(np.abs(errors).max()),
        "refit_mean_abs_rel_error": float(np.abs(errors).mean()),
        "shipped_max_abs_rel_error": float(np.abs(current).max()),
        "shipped_mean_abs_rel_error": float(np.abs(current).mean()),
        "arena_exact_matches": ram_exact,
        "tflm_aborted": tflm_failed,
        "persistent": fit_persistent(tails),
    }


def fit_persistent(tails: list) -> dict:
    """NNLS fit of the fixed and per-op-kind persistent bytes beyond the exactly known structs.

    Args:
        tails: (predicted graph, TFLite Micro's measured tail bytes) pairs.
    """
    kinds = sorted({op.kind for graph, _ in tails for op in graph.ops})
    a = np.array([[1] + [_persistent.op_kinds(g).get(k, 0) for k in kinds] for g, _ in tails], float)
    y = np.array([tail - _persistent.known_bytes(g) for g, tail in tails], float)
    coefficients, _ = nnls(a, y)
    measured = np.array([tail for _, tail in tails], float)
    shipped = np.array([_persistent.persistent_arena_bytes(g) for g, _ in tails], float)
    return {
        "fixed_bytes": round(float(coefficients[0]), 1),
        "op_bytes": {k: round(float(v), 1) for k, v in zip(kinds, coefficients[1:], strict=True)},
        "refit_max_abs_rel_error": float(np.abs((a @ coefficients - y) / measured).max()),
        "shipped_max_abs_rel_error": float(np.abs((shipped - measured) / measured).max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed runs of profile() per model")
    parser.add_argument("--calibrate", type=int, default=0, help="also refit the size model on N random models")
    parser.add_argument("--random", type=int, nargs="?", const=30, default=0,
                        help="also check the arena on N random models per space (default 30)")  # fmt: skip
    args = parser.parse_args()

    rows = bench_zoo(args.repeats)
    print_table(rows)
    result = {"rows": rows, "summary": summary(rows)}
    for key, value in result["summary"].items():
        print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")
    if args.random:
        print(f"\n{'space':13s} {'n':>4s} {'fail':>4s} {'head max':>9s} {'head med':>9s} {'total max':>9s} {'total med':>9s}")
        result["random"] = {"per_family": args.random, "families": bench_random(args.random)}
    if args.calibrate:
        result["calibration"] = calibrate(args.calibrate)
        print("\ncalibration:", json.dumps(result["calibration"], indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
