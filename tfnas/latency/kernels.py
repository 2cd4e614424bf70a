"""Single-kernel int8 `.tflite` micro-models: one op each, written with a manifest of their features.

LiteRT's Python interpreter times whole `invoke()` calls only, so the time of
one kernel at one shape is the time of a model holding that kernel alone (as
nn-Meter measures). Each micro-model is a one-layer Keras model converted by
`tfnas.export.convert` (batch-1 signature, int8 in and out,
`TFLITE_BUILTINS_INT8`), so it runs exactly the kernel a candidate's graph
runs; the file is then opened to check it holds that one op and nothing else.
Its features are computed by lowering the same Keras model with the cost
model, the way the predictor will see a candidate's ops.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from tfnas.cost._graph import flatten_model
from tfnas.cost._kernel_features import graph_kernels
from tfnas.cost._lower import lower
from tfnas.errors import TfnasInputError
from tfnas.export.convert import convert
from tfnas.latency.candidates import space_candidate
from tfnas.latency.measure import MANIFEST
from tfnas.latency.measure import MANIFEST_FORMAT
from tfnas.latency.measure import MODEL
from tfnas.latency.measure import read_manifest
from tfnas.latency.sampling import KINDS
from tfnas.latency.sampling import OVERHEAD
from tfnas.latency.sampling import Spec

ALLOWED_EXTRA_OPS = ("QUANTIZE", "DEQUANTIZE")
L = keras.layers


def _conv(p: dict[str, Any], depthwise: bool) -> tuple[list[tuple[int, ...]], Callable]:
    def body(x: Any) -> Any:
        kernel = (p["kh"], p["kw"])
        stride = (1, p["stride"]) if p["kh"] == 1 and p["kw"] > 1 else p["stride"]  # a 1D conv strides along time only
        if depthwise:
            return L.DepthwiseConv2D(kernel, stride, padding=p["padding"], activation=p["act"])(x)
        return L.Conv2D(p["cout"], kernel, stride, padding=p["padding"], activation=p["act"])(x)

    return [(p["h"], p["w"], p["cin"])], body


def _layer(p: dict[str, Any]) -> tuple[list[tuple[int, ...]], Callable]:
    """Input shapes and the one-layer body of the micro-model of spec parameters `p` (kind in p["kind"])."""
    kind, hwc = p["kind"], (p.get("h", 1), p.get("w", 1), p.get("cin", 1))
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return _conv(p, kind == "DEPTHWISE_CONV_2D")
    if kind in ("FULLY_CONNECTED", OVERHEAD):
        return [(p["cin"],)], lambda x: L.Dense(p["cout"], activation=p.get("act"))(x)
    if kind in ("ADD", "MUL"):
        other = (1, 1, p["cin"]) if p.get("broadcast") else hwc
        merge = L.Add() if kind == "ADD" else L.Multiply()
        return [hwc, other], lambda a, b: merge([a, b])
    if kind == "CONCATENATION":
        return [hwc, hwc[:2] + (p["cin2"],)], lambda a, b: L.Concatenate()([a, b])
    if kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        pool = L.AveragePooling2D if kind == "AVERAGE_POOL_2D" else L.MaxPooling2D
        return [hwc], lambda x: pool(p["pool"], p["stride"], padding=p["padding"])(x)
    simple: dict[str, Callable] = {
        "MEAN": lambda: L.GlobalAveragePooling2D(), "RESHAPE": lambda: L.Flatten(),
        "HARD_SWISH": lambda: L.Activation("hard_silu"), "LOGISTIC": lambda: L.Activation("sigmoid"),
        "RELU": lambda: L.ReLU(), "RELU6": lambda: L.ReLU(6.0), "PAD": lambda: L.ZeroPadding2D(p.get("pad", 1)),
    }  # fmt: skip
    if kind == "SOFTMAX":
        return [(p["cin"],)], lambda x: L.Softmax()(x)
    if kind not in simple:
        raise TfnasInputError(f"No micro-model for kernel type {kind!r}: known ones are {sorted(KINDS)}.")
    return [hwc], lambda x: simple[kind]()(x)


def build_model(params: dict[str, Any]) -> keras.Model:
    """The one-layer Keras 3 model of a kernel spec's parameters."""
    shapes, body = _layer(params)
    inputs = [keras.Input(shape) for shape in shapes]
    return keras.Model(inputs, body(*inputs), name=params["kind"].lower())


def features_of(model: keras.Model, kind: str) -> dict[str, float]:
    """The features of the micro-model's one op, from the cost model's lowering (the predictor's view)."""
    graph = flatten_model(model)
    kernels = graph_kernels(graph, lower(graph))
    kinds = [k for k, _ in kernels]
    if kinds != [kind if kind != OVERHEAD else "FULLY_CONNECTED"]:
        raise TfnasInputError(f"The {kind} micro-model lowers to {kinds}, not to the one op expected.")
    return kernels[0][1]


def file_ops(path: str) -> list[str]:
    """The op names of a `.tflite` file, read with LiteRT's reference kernels (no delegate op).

    LiteRT is called here directly, not through `tfnas.verify`: verification times files with this
    package's harness (`measure.time_model`), and the two packages must not import each other.
    """
    from ai_edge_litert import interpreter as litert

    from tfnas._litert_compat import ops_details

    interp = litert.Interpreter(model_path=path, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    return [op["op_name"] for op in ops_details(interp)]


def write_kernel(spec: Spec, directory: str, seed: int = 0) -> dict[str, Any]:
    """Builds, converts and checks one micro-model; returns its manifest row ("file", "kind", "params", "features").

    Raises:
        TfnasInputError: the converted file holds other ops than the expected one (plus QUANTIZE/DEQUANTIZE).
    """
    model = build_model(spec.params)
    rng = np.random.default_rng(seed)
    data = [rng.normal(size=(8, *t.shape[1:])).astype(np.float32) for t in model.inputs]
    samples: Any = data if len(data) > 1 else data[0]  # one array, or a list of them for several inputs
    flatbuffer = convert(model, "int8", samples)
    path = os.path.join(directory, spec.file)
    with open(path, "wb") as f:
        f.write(flatbuffer)
    expected = "FULLY_CONNECTED" if spec.kind == OVERHEAD else spec.kind
    ops = [op for op in file_ops(path) if op not in ALLOWED_EXTRA_OPS]
    if ops != [expected]:
        os.remove(path)
        raise TfnasInputError(f"The {spec.kind} micro-model {spec.params} converted to ops {ops}, not [{expected!r}].")
    return {
        "file": spec.file,
        "kind": spec.kind,
        "params": spec.params,
        "features": features_of(model, spec.kind),
    }


def random_chain(rng: np.random.Generator) -> keras.Model:
    """A small random multi-op model (stem, depthwise-separable blocks, pooling, dense head; 2D or 1D).

    Calibration times some of these whole, beside the spaces' own candidates (`write_models`).
    """
    one_d = rng.random() < 0.3
    conv, dw = (L.Conv1D, L.DepthwiseConv1D) if one_d else (L.Conv2D, L.DepthwiseConv2D)
    shape = (int(rng.integers(32, 257)), 1) if one_d else (int(rng.integers(8, 49)),) * 2 + (int(rng.choice([1, 3])),)
    x = inputs = keras.Input(shape)
    width = int(rng.choice([8, 12, 16, 24, 32]))
    x = conv(width, 3, strides=2, padding="same", activation="relu")(x)
    for _ in range(int(rng.integers(1, 4))):
        y = dw(3, padding="same", activation="relu6")(x)
        y = conv(width, 1, padding="same")(y)
        x = L.Add()([x, y]) if rng.random() < 0.5 else y
    if not one_d and rng.random() < 0.5:
        x = L.MaxPooling2D(2, padding="same")(x)
    x = (L.GlobalAveragePooling1D() if one_d else L.GlobalAveragePooling2D())(x)
    return keras.Model(inputs, L.Dense(10, activation="softmax")(x))


def write_models(n: int, rng: np.random.Generator, directory: str, start: int = 0) -> list[dict[str, Any]]:
    """Writes `n` whole models (kind "MODEL", with each op's [kernel type, features]) to `directory`.

    Every fourth (the first included) is a small `random_chain`, the others random candidates of
    tfnas's spaces (`tfnas.latency.candidates.space_candidate`): what an op
    costs inside a model is fitted on them.
    """
    os.makedirs(directory, exist_ok=True)
    rows = []
    for i in range(n):
        model = random_chain(rng) if i % 4 == 0 else space_candidate(rng)
        data = rng.normal(size=(8, *model.inputs[0].shape[1:])).astype(np.float32)
        name = f"model_{start + i:05d}.tflite"
        with open(os.path.join(directory, name), "wb") as f:
            f.write(convert(model, "int8", data))
        graph = flatten_model(model)
        ops = [[kind, features] for kind, features in graph_kernels(graph, lower(graph))]
        rows.append({"file": name, "kind": MODEL, "params": {}, "features": {}, "ops": ops})
    _append_manifest(directory, rows, [])
    return rows


def _append_manifest(directory: str, rows: list[dict[str, Any]], skipped: list[dict[str, Any]]) -> None:
    manifest = read_manifest(directory) if os.path.exists(os.path.join(directory, MANIFEST)) else _empty()
    manifest["kernels"].extend(rows)
    manifest["skipped"].extend(skipped)
    with open(os.path.join(directory, MANIFEST), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)


def write_kernels(specs: list[Spec], directory: str) -> list[dict[str, Any]]:
    """Writes every spec's micro-model into `directory` and adds them to its manifest; returns the new rows.

    A spec that does not convert to its one op is skipped (with its reason in the manifest's "skipped").
    """
    os.makedirs(directory, exist_ok=True)
    rows, skipped = [], []
    for i, spec in enumerate(specs):
        try:
            rows.append(write_kernel(spec, directory, seed=i))
        except TfnasInputError as e:
            skipped.append({"file": spec.file, "kind": spec.kind, "reason": str(e)})
    _append_manifest(directory, rows, skipped)
    return rows


def _empty() -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "quantization": "int8",
        "kernels": [],
        "skipped": [],
    }
