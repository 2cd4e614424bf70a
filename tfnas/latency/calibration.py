"""`calibrate`: measures this machine's kernels and fits a `DeviceProfile`; `profile_from_csv` for another device's.

Calibration starts with a few random shapes of every kernel type, then
spends the rest of its time budget where the fit is worst: each round picks
the kernel type whose cross-validated relative error is highest and measures
shapes near its worst-predicted samples and fresh random ones (adaptive
sampling, as nn-Meter does). Converting a micro-model takes about a tenth of
a second and timing it less, so a few hundred kernels fit in minutes.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import tempfile
import time
from typing import Any

import numpy as np

from tfnas.cost._kernel_features import FEATURES
from tfnas.cost._latency_fit import relative_errors
from tfnas.cost.latency import DeviceProfile
from tfnas.cost.latency import fit_compositions
from tfnas.cost.latency import training_data
from tfnas.errors import TfnasInputError
from tfnas.latency import sampling
from tfnas.latency.candidates import space_specs
from tfnas.latency.kernels import write_kernels
from tfnas.latency.kernels import write_models
from tfnas.latency.measure import BLOCKS
from tfnas.latency.measure import FEATURE_PREFIX
from tfnas.latency.measure import MODEL
from tfnas.latency.measure import device_info
from tfnas.latency.measure import measure
from tfnas.latency.repeatability import repeatability

logger = logging.getLogger("tfnas")
DEFAULT_BUDGET_S = 900.0
INITIAL = {"CONV_2D": 24, "DEPTHWISE_CONV_2D": 24, "FULLY_CONNECTED": 16}
INITIAL_OTHER = 8
BATCH = 8
COMPOSITIONS = 48  # whole models timed to fit `in_model` (about 2 s each to convert and time here)
SPACE_SHARE = 0.5  # of the time left after the initial sample: exact kernel shapes of random space candidates
SPACE_KERNELS = 400  # space shapes `write_kernel_set` writes for another device (no time budget there)
# Convolutions take most of a model's time: their fit is worth the most calibration time.
WEIGHT = {"CONV_2D": 4.0, "DEPTHWISE_CONV_2D": 4.0, "FULLY_CONNECTED": 2.0}


def _check(threads: int, quantization: str, kernels: list[str]) -> None:
    if not isinstance(threads, int) or threads < 1:
        raise TfnasInputError(f"threads must be an integer >= 1. Received: threads={threads!r}")
    if quantization != "int8":
        raise TfnasInputError(f"calibrate measures int8 kernels only for now. Received: quantization={quantization!r}")
    unknown = sorted(set(kernels) - set(sampling.KINDS))
    if unknown:
        raise TfnasInputError(f"Unknown kernel types {unknown}: calibrate knows {list(sampling.KINDS)}.")


def calibrate(
    path: str | os.PathLike | None,
    threads: int = 1,
    quantization: str = "int8",
    budget_s: float | None = None,
    *,
    kernels: list[str] | None = None,
    directory: str | None = None,
    initial: int | None = None,
    runs: int = 30,
    warmup: int = 5,
    blocks: int = BLOCKS,
    seed: int = 0,
    compositions: int | None = None,
) -> DeviceProfile:
    """Measures single-kernel micro-models on this machine and saves the fitted `DeviceProfile`.

    Args:
        path: Where to save the profile JSON (None: not saved). When `kernels` is given and `path` holds a
            profile of the same threads and quantization, its samples are kept and these kernels added.
        threads: LiteRT interpreter threads (the ones the app will use).
        quantization: "int8" (full-integer models; the only one measured for now).
        budget_s: Wall-clock seconds to spend; the initial sample is always measured, the adaptive rounds
            stop when the budget is spent. Defaults to 900.
        kernels: Kernel types to measure (names in `tfnas.latency.sampling.KINDS`); all of them by default.
        directory: Where to keep the micro-models (a temporary folder by default).
        initial: Random shapes per kernel type before the adaptive rounds (default: 24 for convs,
            16 for dense layers, 8 for the others).
        runs: Timed `invoke()`s per micro-model.
        warmup: Untimed `invoke()`s before them.
        blocks: Blocks the runs are split into; the fastest block's median is kept (`measure.time_model`).
        seed: Seed of the shapes drawn.
        compositions: Whole models timed whole (mostly random candidates of tfnas's spaces, see
            `tfnas.latency.kernels.write_models`), to fit what an op costs inside a model (`in_model`).
            Defaults to `COMPOSITIONS`, or 0 when `kernels` only adds kernel types to a profile.

    Returns:
        The profile, its `fit_errors` cross-validated.
    """
    kinds = list(kernels or sampling.KINDS)
    _check(threads, quantization, kinds)
    compositions = _compositions(compositions, kernels)
    start = time.monotonic()
    budget = DEFAULT_BUDGET_S if budget_s is None else float(budget_s)
    profile = _start_profile(path, threads, quantization, kernels is not None, runs, warmup, blocks)
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="tfnas-kernels-") as tmp:
        folder = directory or tmp
        counter = [len(_existing(folder))]
        _measure_overhead(profile, folder, rng, counter)
        for kind in kinds:
            n = initial if initial is not None else INITIAL.get(kind, INITIAL_OTHER)
            _run(sampling.specs([kind], n, rng, counter[0]), folder, profile, counter)
        if compositions:
            written = write_models(compositions, rng, folder, counter[0])
            counter[0] += compositions
            files = {row["file"]: row for row in written}
            rows = measure(folder, profile.threads, profile.runs, profile.warmup, files=set(files), blocks=profile.blocks)
            add_rows(profile, rows)
        remaining = start + budget - time.monotonic()
        _space_kernels(profile, kinds, folder, rng, counter, time.monotonic() + SPACE_SHARE * remaining)
        _adapt(profile, kinds, folder, rng, counter, start + budget)
        profile.repeatability = repeatability(profile, folder, rng)
    profile.refit_errors()
    fit_compositions(profile)
    if path is not None:
        profile.save(path)
    logger.info("calibrated %d kernels of %d types in %.0f s", sum(map(len, profile.samples.values())), len(kinds),
                time.monotonic() - start)  # fmt: skip
    return profile


def write_kernel_set(
    directory: str, kernels: list[str] | None = None, per_kind: int | None = None, compositions: int | None = None, seed: int = 0
) -> int:
    """Writes micro-models to time on another device (`tfnas calibrate --kernels DIR`); returns how many.

    Without measurements there is no adaptive sampling: `per_kind` random shapes of each kernel type
    (default: 4x calibrate's initial sample, about what its adaptive rounds reach), `SPACE_KERNELS` shapes
    of the spaces' own candidates (`space_specs`), the trivial model of the per-invoke overhead and
    `compositions` whole models (`COMPOSITIONS` by default). Time them with `python -m tfnas.latency.measure
    DIR --out CSV` there and fit with `profile_from_csv`.
    """
    kinds = list(kernels or sampling.KINDS)
    _check(1, "int8", kinds)
    compositions = _compositions(compositions, kernels)
    rng = np.random.default_rng(seed)
    specs = sampling.specs([sampling.OVERHEAD], 1, rng)
    for kind in kinds:
        specs += sampling.specs([kind], per_kind or 4 * INITIAL.get(kind, INITIAL_OTHER), rng, len(specs))
    specs += space_specs(kinds, rng, SPACE_KERNELS, len(specs), set())
    written = write_kernels(specs, directory)
    return len(written) + len(write_models(compositions, rng, directory, len(specs)))


def _compositions(count: int | None, kernels: list[str] | None) -> int:
    """Whole models to time: `COMPOSITIONS` for a full calibration, none when only adding kernel types."""
    if count is None:
        return 0 if kernels else COMPOSITIONS
    if not isinstance(count, int) or count < 0:
        raise TfnasInputError(f"compositions must be an integer >= 0. Received: compositions={count!r}")
    return count


def _measure_overhead(profile: DeviceProfile, folder: str, rng: np.random.Generator, counter: list[int]) -> None:
    """Sets `overhead_ms`: a few microseconds, so the least of three medians, lest one burst of load set it."""
    spec = sampling.specs([sampling.OVERHEAD], 1, rng, counter[0])
    counter[0] += 1
    write_kernels(spec, folder)
    runs = max(profile.runs, 100)
    repeats = [measure(folder, profile.threads, runs, profile.warmup, {spec[0].file}, profile.blocks) for _ in range(3)]
    profile.overhead_ms = min(rows[0]["ms"] for rows in repeats)


def _existing(folder: str) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".tflite")] if os.path.isdir(folder) else []


def _start_profile(
    path: Any, threads: int, quantization: str, extend: bool, runs: int, warmup: int, blocks: int
) -> DeviceProfile:
    """The profile at `path` when kernels are added to it (same conditions), else a new, empty one."""
    info = device_info()
    if extend and path is not None and os.path.exists(path):
        old = DeviceProfile.load(path)
        if (old.threads, old.quantization, old.litert_version) == (
            threads,
            quantization,
            info["litert_version"],
        ):
            return old
    return DeviceProfile(
        info["machine"],
        info["cpu"],
        info["litert_version"],
        threads,
        quantization,
        runs=runs,
        warmup=warmup,
        blocks=blocks,
    )


def _run(specs: list[sampling.Spec], folder: str, profile: DeviceProfile, counter: list[int]) -> list[dict[str, Any]]:
    """Writes, times and records micro-models; returns the timed rows."""
    counter[0] += len(specs)
    written = write_kernels(specs, folder)
    params = {row["file"]: row["params"] for row in written}
    rows = measure(folder, profile.threads, profile.runs, profile.warmup, files=set(params), blocks=profile.blocks)
    add_rows(profile, [{**row, "params": params[row["file"]]} for row in rows])
    return rows


def _adapt(profile: DeviceProfile, kinds: list[str], folder: str, rng: np.random.Generator, counter: list[int],
           deadline: float) -> None:  # fmt: skip
    """Adaptive rounds until `deadline`: more shapes of the kernel type whose fit is worst, near its worst samples."""
    errors = {kind: _cv(profile, kind) for kind in kinds}
    while time.monotonic() < deadline:
        kind = max(kinds, key=lambda k: _priority(k, errors[k]))
        rows = profile.samples.get(kind, [])
        worst: list[int] = list(np.argsort(-np.abs(errors[kind]))[: BATCH // 2]) if len(errors[kind]) else []
        params = [sampling.perturb(rows[i]["params"], rng) for i in worst if "params" in rows[i]]
        params += [sampling.draw(kind, rng) for _ in range(BATCH - len(params))]
        specs = [sampling.Spec(kind, p, f"{kind.lower()}_{counter[0] + i:05d}.tflite") for i, p in enumerate(params)]
        _run(specs, folder, profile, counter)
        errors[kind] = _cv(profile, kind)


def _space_kernels(profile: DeviceProfile, kinds: list[str], folder: str, rng: np.random.Generator,
                   counter: list[int], deadline: float) -> None:  # fmt: skip
    """Measures the spaces' own kernel shapes (`space_specs`) in batches until `deadline`.

    Random shapes cover the whole range; these are where the predictor is used: a 3-channel stem at 224 px,
    a dense layer on a flattened image, MobileNet's 1x1 convs. Adding 419 of them to a default calibration
    raised the share of 108 development models predicted within 5% from 69% to 81% (within 10%: 89% to 92%).
    """
    seen: set[str] = set()
    while time.monotonic() < deadline:
        specs = space_specs(kinds, rng, 6 * BATCH, counter[0], seen)
        if not specs:
            return
        _run(specs, folder, profile, counter)


def _priority(kind: str, errors: np.ndarray) -> float:
    """How much one more batch of a kernel type is worth: its error, weighted by how much of a model's time
    such kernels take, with diminishing returns (a kernel type that stays noisy cannot take the whole budget).

    The weights are fixed (`WEIGHT`). Weighing by each type's measured share of whole models' time instead
    was tried: it left the small ops (MEAN, pooling, RESHAPE) with 8-16 samples, and the held-out share
    within 10% came out at 79% against 85% with these weights (one calibration each, the same 1,217 models).
    """
    if not len(errors):
        return float("inf")
    return WEIGHT.get(kind, 1.0) * float(np.mean(np.abs(errors))) / np.sqrt(len(errors))


def _cv(profile: DeviceProfile, kind: str) -> np.ndarray:
    rows = profile.samples.get(kind, [])
    return relative_errors(*training_data(rows)) if len(rows) >= 3 else np.array([])


def add_rows(profile: DeviceProfile, rows: list[dict[str, Any]]) -> None:
    """Adds measured rows (what `measure` returns or its CSV holds) to a profile's samples; OVERHEAD sets the overhead."""
    for row in rows:
        kind = str(row["kind"])
        features = {name: float(row.get(FEATURE_PREFIX + name, 0.0) or 0.0) for name in FEATURES}
        if kind == sampling.OVERHEAD:
            profile.overhead_ms = float(row["ms"])
            continue
        if kind == MODEL:
            ops = json.loads(row["ops"]) if isinstance(row["ops"], str) else row["ops"]
            profile.compositions.append({"file": row["file"], "ms": float(row["ms"]), "ops": ops})
            continue
        sample = {"file": row["file"], "ms": float(row["ms"]), "p5": float(row["p5"]), "p95": float(row["p95"]),
                  "features": features}  # fmt: skip
        if row.get("params"):
            sample["params"] = row["params"]
        profile.add_samples(kind, [sample])


def profile_from_csv(csv_path: str | os.PathLike, path: str | os.PathLike | None = None) -> DeviceProfile:
    """Fits a profile from the CSV that `python -m tfnas.latency.measure` wrote on another device.

    Raises:
        TfnasInputError: the CSV is missing, empty, lacks a column, or mixes thread counts.
    """
    try:
        with open(csv_path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise TfnasInputError(f"Cannot read {str(csv_path)!r}: {e}") from e
    needed = {
        "file",
        "kind",
        "ms",
        "p5",
        "p95",
        "threads",
        "machine",
        "cpu",
        "litert_version",
    }
    if not rows or needed - set(rows[0]):
        raise TfnasInputError(
            f"{str(csv_path)!r} is not a CSV of `python -m tfnas.latency.measure`: it needs the columns {sorted(needed)}."
        )
    threads = {row["threads"] for row in rows}
    if len(threads) != 1:
        raise TfnasInputError(f"{str(csv_path)!r} mixes thread counts {sorted(threads)}: measure each count into its own CSV.")
    first = rows[0]
    profile = DeviceProfile(
        first["machine"],
        first["cpu"],
        first["litert_version"],
        int(first["threads"]),
        "int8",
        blocks=int(first.get("blocks") or 1),  # CSVs older than the column hold medians of all runs
    )
    add_rows(profile, rows)
    profile.refit_errors()
    fit_compositions(profile)
    if path is not None:
        profile.save(path)
    return profile
