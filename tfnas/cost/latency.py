"""Device profiles and the latency they predict: milliseconds of a model's int8 graph on one CPU.

A `DeviceProfile` is plain data: what was measured on a device (the time of single-kernel micro-models,
see `tfnas.latency`), where and how (CPU, LiteRT version, threads, quantization) and how well it fits.
It is saved as JSON the user can read; the regressors are refitted from its samples when it is used
(deterministic, a second or so), never pickled.

The prediction sums one regressor per kernel type over the ops of the int8 graph the converter will
write (`tfnas.cost._lower`), each scaled by what its group costs inside a model (`in_model`): as
nn-Meter does, with the kernels known exactly instead of detected from a trace.

Example:
    >>> profile = DeviceProfile.load("phone.json")
    >>> total_ms, per_op = model_latency_ms(model, profile)
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
from typing import Any

import numpy as np

from tfnas.cost._graph import Graph
from tfnas.cost._graph import flatten_model
from tfnas.cost._kernel_features import FEATURES
from tfnas.cost._kernel_features import graph_kernels
from tfnas.cost._latency_fit import GROUPS
from tfnas.cost._latency_fit import MIN_MODELS
from tfnas.cost._latency_fit import OTHER
from tfnas.cost._latency_fit import KernelRegressor
from tfnas.cost._latency_fit import error_summary
from tfnas.cost._latency_fit import fit_in_model
from tfnas.cost._latency_fit import group_of
from tfnas.cost._latency_fit import relative_errors
from tfnas.cost._lower import lower
from tfnas.cost._tflite_graph import Lowered
from tfnas.errors import TfnasInputError

FORMAT = "tfnas-device-profile"
VERSION = 4  # 4: `blocks` (fastest block median); 3: RESHAPE has its own in-model scale; 2: `in_model`. Older ones load.
_FIELDS = ("machine", "cpu", "litert_version", "threads", "quantization", "overhead_ms", "op_discount_ms", "runs",
           "warmup", "blocks", "repeatability")  # fmt: skip


@dataclasses.dataclass
class DeviceProfile:
    """What one device measured: the time of single-kernel micro-models, and the conditions of the measurement.

    Attributes:
        machine: Platform and architecture, e.g. "Linux-6.8 x86_64" or "Pixel 8 (adb)".
        cpu: CPU model string.
        litert_version: `ai-edge-litert` version that timed the kernels.
        threads: Interpreter threads.
        quantization: "int8" (what the micro-models were converted to).
        overhead_ms: Median time of one `invoke()` of a trivial model: the fixed cost every model pays once.
        op_discount_ms: What an op costs less inside a model than alone in its micro-model (the
            delegate's per-call set-up, paid once per model; negative when it costs more), fitted on the `compositions`.
        runs: Timed `invoke()`s per micro-model.
        warmup: Untimed `invoke()`s before them.
        blocks: Blocks the runs were split into; each sample's "ms" is the fastest block's median
            (`tfnas.latency.measure.time_model`). 1 in profiles older than the field: the median of all runs.
        repeatability: Micro-models timed again at the end of the calibration: "n", "within_10" (the share
            within 10% of their first timing) and "median_abs" (median relative difference); {} if not measured.
        samples: Kernel type (e.g. "CONV_2D") -> measured micro-models, each a dict with "file",
            "ms" (see `blocks`), "p5", "p95" and "features" (the names of `FEATURES`).
        compositions: Whole models measured whole: "file", "ms" and "ops" ([kernel type,
            features] of each op), on which `in_model` (or, with few of them, `op_discount_ms`) is fitted.
        in_model: What ops cost inside a model relative to alone, fitted on the compositions
            (`tfnas.cost._latency_fit.fit_in_model`): "constant_ms", "per_op_ms" and a scale per kernel
            group; empty when there were too few compositions (then `op_discount_ms` applies).
        fit_errors: Kernel type -> cross-validated relative error of its regressor
            ("n", "mape", "within_5", "within_10").
    """

    machine: str
    cpu: str
    litert_version: str
    threads: int = 1
    quantization: str = "int8"
    overhead_ms: float = 0.0
    op_discount_ms: float = 0.0
    runs: int = 30
    warmup: int = 5
    blocks: int = 1
    repeatability: dict[str, float] = dataclasses.field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    fit_errors: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    compositions: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    in_model: dict[str, float] = dataclasses.field(default_factory=dict)
    source: str = dataclasses.field(default="", repr=False, compare=False)
    _fitted: dict[str, KernelRegressor] = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (a copy): a `format`/`version` header, the conditions, the fit errors and the samples."""
        data: dict[str, Any] = {"format": FORMAT, "version": VERSION}
        data.update({name: getattr(self, name) for name in _FIELDS})
        data["fit_errors"] = copy.deepcopy(self.fit_errors)
        data["samples"] = copy.deepcopy(self.samples)
        data["compositions"] = copy.deepcopy(self.compositions)
        data["in_model"] = dict(self.in_model)
        return data

    def save(self, path: str | os.PathLike) -> None:
        """Writes the profile as JSON (readable, diffable; no pickles)."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=1)
        self.source = str(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> DeviceProfile:
        """Reads a profile that `save` wrote.

        Raises:
            TfnasInputError: the file is missing, not JSON, not a tfnas device profile, of a newer format
                version, or has a missing or ill-typed field; the message names the file and the field.
        """
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError as e:
            raise TfnasInputError(f"No device profile at {str(path)!r}: make one with `tfnas calibrate {path}`.") from e
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise TfnasInputError(f"{str(path)!r} is not a device profile: it is not valid JSON ({e}).") from e
        profile = cls.from_dict(data, str(path))
        profile.source = str(path)
        return profile

    @classmethod
    def from_dict(cls, data: Any, where: str = "the device profile") -> DeviceProfile:
        """Checks and builds a profile from its JSON form; see `load` for the errors."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise TfnasInputError(
                f"{where!r} is not a tfnas device profile (format {found!r}, expected {FORMAT!r}): "
                "make one with `tfnas calibrate OUT.json`."
            )
        if not isinstance(data.get("version"), int) or data["version"] > VERSION:
            raise TfnasInputError(
                f"{where!r} is a device profile of format version {data.get('version')!r}; this tfnas reads "
                f"version {VERSION} or older: upgrade tfnas or calibrate again."
            )
        types: dict[str, Any] = {"machine": str, "cpu": str, "litert_version": str, "threads": int, "quantization": str,
                 "overhead_ms": (int, float), "runs": int, "warmup": int, "samples": dict, "fit_errors": dict}  # fmt: skip
        for name, kind in types.items():
            if not isinstance(data.get(name), kind):
                raise TfnasInputError(f"{where!r}: field {name!r} is missing or not a {kind}. Received: {data.get(name)!r}")
        data = {"op_discount_ms": 0.0, "compositions": [], "in_model": {}, "blocks": 1, "repeatability": {}, **data}
        optional: dict[str, Any] = {"op_discount_ms": (int, float), "compositions": list, "blocks": int, "repeatability": dict}
        for name, kind in optional.items():
            if not isinstance(data[name], kind):
                raise TfnasInputError(f"{where!r}: field {name!r} must be a {kind}. Received: {str(data[name])[:200]}")
        in_model = data["in_model"]
        if isinstance(in_model, dict) and in_model and "reshape" not in in_model and "other" in in_model:  # version 2
            in_model = data["in_model"] = {**in_model, "reshape": in_model["other"]}
        needed = {"constant_ms", "per_op_ms", *GROUPS.values(), OTHER}
        numbers = isinstance(in_model, dict) and all(isinstance(v, (int, float)) for v in in_model.values())
        if not numbers or (in_model and needed - set(in_model)):
            raise TfnasInputError(
                f"{where!r}: 'in_model' must be empty or map each of {sorted(needed)} to a number. "
                f"Received: {str(in_model)[:200]}"
            )
        _check_samples(data["samples"], where)
        return cls(**{name: data[name] for name in (*_FIELDS, "samples", "fit_errors", "compositions", "in_model")})

    def kernels(self) -> list[str]:
        """The kernel types this profile measured."""
        return sorted(kind for kind, rows in self.samples.items() if rows)

    def add_samples(self, kind: str, rows: list[dict[str, Any]]) -> None:
        """Adds measured micro-models of one kernel type (dicts with "ms", "p5", "p95", "features"); refits later."""
        self.samples.setdefault(kind, []).extend(rows)
        self._fitted.pop(kind, None)

    def regressor(self, kind: str) -> KernelRegressor:
        """The fitted regressor of one kernel type (fitted on first use, deterministically)."""
        if kind not in self._fitted:
            x, y = training_data(self.samples[kind])
            self._fitted[kind] = KernelRegressor().fit(x, y)
        return self._fitted[kind]

    def refit_errors(self) -> dict[str, dict[str, float]]:
        """Recomputes `fit_errors` (5-fold cross-validated relative error per kernel type) and returns it."""
        self.fit_errors = {kind: error_summary(relative_errors(*training_data(self.samples[kind])))
                           for kind in self.kernels()}  # fmt: skip
        self._fitted.clear()
        return self.fit_errors


def _check_samples(samples: dict[str, Any], where: str) -> None:
    """Every sample has a positive median and every feature, as numbers."""
    for kind, rows in samples.items():
        if not isinstance(rows, list):
            raise TfnasInputError(f"{where!r}: samples[{kind!r}] must be a list of measurements.")
        for i, row in enumerate(rows):
            ok = isinstance(row, dict) and isinstance(row.get("ms"), (int, float)) and row["ms"] > 0
            feats = row.get("features") if isinstance(row, dict) else None
            ok = ok and isinstance(feats, dict) and all(isinstance(feats.get(n), (int, float)) for n in FEATURES)
            if not ok:
                raise TfnasInputError(
                    f"{where!r}: samples[{kind!r}][{i}] needs a positive 'ms' and numeric 'features' "
                    f"{list(FEATURES)}. Received: {str(row)[:200]}"
                )


def training_data(rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Feature matrix (rows of `FEATURES`) and measured milliseconds of one kernel type's samples."""
    x = np.array([[float(row["features"][name]) for name in FEATURES] for row in rows], dtype=np.float64)
    return x.reshape(len(rows), len(FEATURES)), np.array([float(row["ms"]) for row in rows], dtype=np.float64)


def resolve_profile(device: DeviceProfile | str | os.PathLike) -> DeviceProfile:
    """A profile from itself or from the path of its JSON file."""
    if isinstance(device, DeviceProfile):
        return device
    if isinstance(device, (str, os.PathLike)):
        return DeviceProfile.load(device)
    raise TfnasInputError(f"device must be a DeviceProfile or the path of its JSON file. Received: {type(device)!r}")


def predict_latency_ms(lowered: Lowered, graph: Graph, device: DeviceProfile | str | os.PathLike) -> tuple[float, list[float]]:
    """Predicted latency of one batch-1 inference of a lowered int8 graph on the profiled device.

    Args:
        lowered: The predicted int8 graph (`tfnas.cost._lower.lower(graph)`).
        graph: The flattened model it was lowered from (kernel sizes and strides come from its layers).
        device: A `DeviceProfile` or the path of one.

    Returns:
        `(total_ms, per_op_ms)`: the per-invoke overhead plus the sum of the ops, and each op's share
        (aligned with `lowered.ops`; the op's layer is `graph.calls[lowered.tensors[op.outputs[0]].origin]`).

    Raises:
        TfnasInputError: an op's kernel type was never measured on this device (the message names the
            op, its layer and the command that measures it).
    """
    profile = resolve_profile(device)
    kernels = graph_kernels(graph, lowered)
    for i, (kind, _) in enumerate(kernels):
        if not profile.samples.get(kind):
            _raise_unmeasured(kind, profile, graph, lowered, i)
    return kernels_latency_ms(kernels, profile)


def kernels_latency_ms(kernels: list, profile: DeviceProfile) -> tuple[float, list[float]]:
    """`predict_latency_ms` of ops given as [kernel type, features] (as `compositions` keep them), all measured."""
    per_op = ops_ms(profile, kernels)
    constant = profile.in_model["constant_ms"] if profile.in_model else profile.overhead_ms
    return constant + math.fsum(per_op), per_op


def ops_ms(profile: DeviceProfile, kernels: list, discount: float | None = None) -> list[float]:
    """Each op's milliseconds inside a model, from its micro-model's predicted time less the per-invoke overhead.

    With `in_model` fitted (and no `discount` given), that time is scaled by its kernel group's in-model
    scale and the per-op cost added; otherwise the op discount is subtracted.
    """
    scaled = discount is None and bool(profile.in_model)
    discount = profile.op_discount_ms if discount is None else discount
    per_op = [0.0] * len(kernels)
    for kind in sorted({kind for kind, _ in kernels}):
        index = [i for i, (k, _) in enumerate(kernels) if k == kind]
        x = np.array([[kernels[i][1][name] for name in FEATURES] for i in index])
        for i, ms in zip(index, profile.regressor(kind).predict(x), strict=True):
            alone = float(max(ms - profile.overhead_ms, 0.0))
            if scaled:
                per_op[i] = profile.in_model[group_of(kind)] * alone + profile.in_model["per_op_ms"]
            else:
                per_op[i] = max(alone - discount, 0.0)
    return per_op


def usable_compositions(profile: DeviceProfile) -> list[dict[str, Any]]:
    """The measured whole models all of whose kernel types the profile has samples of (the others cannot be predicted)."""
    return [c for c in profile.compositions if all(profile.samples.get(kind) for kind, _ in c["ops"])]


def fit_compositions(profile: DeviceProfile) -> None:
    """Fits how ops cost inside a model from the measured whole models: `in_model`, or with fewer than
    `MIN_MODELS` of them usable, the overhead and op discount (`fit_op_discount`)."""
    usable = usable_compositions(profile)
    profile.in_model = {}
    if len(usable) < MIN_MODELS:
        fit_op_discount(profile)
        return
    alone = []
    for c in usable:
        sums: dict[str, float] = {}
        for (kind, _), ms in zip(c["ops"], ops_ms(profile, c["ops"], discount=0.0), strict=True):
            sums[group_of(kind)] = sums.get(group_of(kind), 0.0) + ms
        alone.append(sums)
    profile.op_discount_ms = 0.0
    profile.in_model = fit_in_model(alone, [len(c["ops"]) for c in usable], np.array([c["ms"] for c in usable]))


def fit_op_discount(profile: DeviceProfile) -> float:
    """Fits `overhead_ms` and `op_discount_ms` to the `compositions`; returns the discount.

    The overhead is a few microseconds measured on a trivial model, and an op inside a model skips some of
    what it pays alone; both decide the time of small models. A grid search over the pair minimises the mean
    |log(predicted / measured)| over the measured multi-op models: the overhead from a quarter to twice the
    measured one, the discount from minus the overhead to four times it. Without compositions the measured
    overhead stays and the discount is 0.
    """
    usable = usable_compositions(profile)
    if not usable:
        profile.op_discount_ms = 0.0
        return 0.0
    measured = np.array([c["ms"] for c in usable])
    base = max(profile.overhead_ms, 1e-4)
    micro = [np.array(ops_ms(profile, c["ops"], discount=-profile.overhead_ms)) for c in usable]  # micro-model times
    best = (np.inf, profile.overhead_ms, 0.0)
    for overhead in np.linspace(0.25 * base, 2 * base, 36):
        for cut in np.linspace(0.0, 5 * base, 101):  # what each op's micro-model time loses inside a model
            totals = np.array([overhead + np.maximum(m - cut, 0).sum() for m in micro])
            loss = float(np.mean(np.abs(np.log(totals / measured))))
            best = min(best, (loss, float(overhead), float(cut - overhead)))
    profile.overhead_ms, profile.op_discount_ms = best[1], best[2]
    return profile.op_discount_ms


def _raise_unmeasured(kind: str, profile: DeviceProfile, graph: Graph, lowered: Lowered, i: int) -> None:
    origin = lowered.tensors[lowered.ops[i].outputs[0]].origin
    layer = graph.calls[origin].name if origin >= 0 else "?"
    where = profile.source or f"the profile of {profile.machine}"
    raise TfnasInputError(
        f"{where} has no measurements of kernel {kind} (op {i}, layer {layer!r}): measure it with "
        f"`tfnas calibrate {profile.source or 'OUT.json'} --add {kind}` (or tfnas.latency.calibrate(path, kernels=[{kind!r}])); "
        "a kernel type calibrate has no micro-model for (tfnas.latency.sampling.KINDS) needs its layer replaced."
    )


def model_latency_ms(model: Any, device: DeviceProfile | str | os.PathLike) -> tuple[float, list[float]]:
    """`predict_latency_ms` of a built Keras 3 model: flattened and lowered like `tfnas.cost.profile` does."""
    graph = flatten_model(model)
    return predict_latency_ms(lower(graph), graph, device)
