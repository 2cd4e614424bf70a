"""Whole candidate models that calibration times: random draws of tfnas's own search spaces.

A kernel alone in its micro-model does not cost what it costs inside a
model: XNNPACK elides a flatten's copy, the previous op leaves the input in
cache, the delegate's per-op set-up is paid once per model. Calibration
therefore also times a few dozen whole models and fits, on them, what each
kernel group costs inside a model relative to alone (`tfnas.cost.latency.fit_in_model`).
Those models are the candidates a search proposes -- random draws of the
image space from 32 to 224 px (the phone-scale MobileNet ranges included)
and of the signal and spectrogram spaces -- so the correction is learned on
the structures it will be applied to. Draws are seeded from calibration's
own generator; `benchmarks/bench_latency.py` draws its held-out models with
other seeds. `kernel_params` and `space_specs` take single kernels out of such
candidates, so calibration also times the exact shapes the spaces produce.
"""

from __future__ import annotations

import json
from typing import Any

import keras
import keras_tuner as kt
import numpy as np

from tfnas.cost._graph import flatten_model
from tfnas.cost._kernel_features import op_kind
from tfnas.cost._lower import lower
from tfnas.latency import sampling
from tfnas.spaces import ImageSpace
from tfnas.spaces import SignalSpace
from tfnas.spaces import SpectrogramSpace

RESOLUTIONS = (32, 64, 96, 128, 160, 192, 224)
SIGNAL = (1024, 1)
SPECTROGRAM = (49, 10, 1)
SPACE_KINDS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D")  # what kernel_params reads
PER_CANDIDATE = 6  # new kernel shapes taken from one candidate (its ops are alike: more candidates, more variety)
MAX_ROUNDS = 12  # builds until no new conditional hyperparameter appears (a space nests at most a few levels)


def random_values(space: kt.HyperModel, rng: np.random.Generator) -> kt.HyperParameters:
    """One random draw of every active hyperparameter of a configured space, as RandomSearch makes it.

    Builds the space, draws a value for each hyperparameter it registered,
    and builds again until the values drawn switch on no new conditional one.
    """
    hp = kt.HyperParameters()
    drawn: set[str] = set()
    for _ in range(MAX_ROUNDS):
        space.build(hp)
        new = [p for p in hp.space if p.name not in drawn]
        if not new:
            break
        for p in new:
            hp.values[p.name] = p.random_sample(int(rng.integers(2**31)))
            drawn.add(p.name)
    return hp


def space_candidate(rng: np.random.Generator, attempts: int = 10) -> keras.Model:
    """A random candidate of the image (one of `RESOLUTIONS`), signal or spectrogram space, with 10 classes.

    A draw the space cannot build (a shape reduced below one pixel) is
    redrawn, up to `attempts` times.
    """
    pick = int(rng.integers(len(RESOLUTIONS) + 2))
    shape: tuple[int, ...]
    if pick < len(RESOLUTIONS):
        side = RESOLUTIONS[pick]
        space, shape = ImageSpace(), (side, side, 3)
    else:
        space, shape = (SignalSpace(), SIGNAL) if pick == len(RESOLUTIONS) else (SpectrogramSpace(), SPECTROGRAM)
    configured = space.configure(shape, 10, "classification")
    error: Exception | None = None
    for _ in range(attempts):
        try:
            return configured.build(random_values(configured, rng))
        except ValueError as e:  # an impossible draw; a search fails that trial and moves on
            error = e
    raise RuntimeError(f"no buildable draw of {type(space).__name__} at {shape} in {attempts} attempts: {error}")


def _conv_params(layer: Any, shape: tuple[int, ...], depthwise: bool, pointwise: bool) -> dict[str, Any] | None:
    """Micro-model parameters of one conv op (`tfnas.latency.kernels` format); None for one it cannot build."""
    if tuple(getattr(layer, "dilation_rate", (1,))) not in ((1,), (1, 1)) or getattr(layer, "padding", "") == "causal":
        return None
    if getattr(layer, "depth_multiplier", 1) != 1 and depthwise:
        return None
    one_d = len(shape) == 2
    h, w, cin = (1, *shape) if one_d else shape
    if pointwise:  # the 1x1 half of a separable conv: it reads the depthwise half's output
        return {"kh": 1, "kw": 1, "stride": 1, "padding": "same", "h": h, "w": w, "cin": cin,
                "cout": layer.filters, "act": None}  # fmt: skip
    size, strides = tuple(layer.kernel_size), tuple(layer.strides)
    kh, kw = (1, size[0]) if one_d else size
    stride = strides[-1]
    if not one_d and (strides[0] != strides[1]):
        return None
    cout = cin if depthwise else layer.filters
    return {"kh": int(kh), "kw": int(kw), "stride": int(stride), "padding": layer.padding, "h": int(h), "w": int(w),
            "cin": int(cin), "cout": int(cout), "act": None}  # fmt: skip


def _pool_params(layer: Any, shape: tuple[int, ...]) -> dict[str, Any] | None:
    size, strides = tuple(layer.pool_size), tuple(layer.strides)
    if len(shape) != 3 or size[0] != size[1] or strides[0] != strides[1]:
        return None
    return {"h": shape[0], "w": shape[1], "cin": shape[2], "pool": int(size[0]), "stride": int(strides[0]),
            "padding": layer.padding}  # fmt: skip


def kernel_params(model: keras.Model) -> list[dict[str, Any]]:
    """Micro-model parameters ("kind" included) of the conv, depthwise, dense and pooling ops of a model's int8 graph.

    Calibration measures these exact shapes beside random ones: the shapes
    the spaces really produce (a 3-channel stem at 224 px, a dense layer on a
    flattened image) are where the predictor must be right. Ops whose layer
    has no micro-model of the same shape (dilated or causal convs, 1D pooling,
    dense layers on sequences) are left out.
    """
    graph = flatten_model(model)
    lowered = lower(graph)
    out = []
    for op in lowered.ops:
        origin = lowered.tensors[op.outputs[0]].origin
        if origin < 0:
            continue
        kind, call = op_kind(op, graph, lowered), graph.calls[origin]
        layer, shape = call.op, graph.shapes[call.inputs[0]] if call.inputs else ()
        params: dict[str, Any] | None = None
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D") and hasattr(layer, "kernel_size"):
            separable = hasattr(layer, "pointwise_kernel")
            pointwise = separable and kind == "CONV_2D"
            if pointwise:  # its input is the depthwise half's output
                shape = graph.shapes[call.outputs[0]][:-1] + (shape[-1] * layer.depth_multiplier,)
            params = _conv_params(layer, shape, kind == "DEPTHWISE_CONV_2D", pointwise)
        elif kind == "FULLY_CONNECTED" and len(shape) == 1:
            params = {"cin": int(shape[0]), "cout": int(layer.units), "act": None}
        elif kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D") and hasattr(layer, "pool_size"):
            params = _pool_params(layer, shape)
        if params is not None:
            out.append({"kind": kind, **params})
    return out


def space_specs(kinds: list[str], rng: np.random.Generator, count: int, start: int, seen: set[str]) -> list[sampling.Spec]:
    """About `count` micro-model specs of the exact conv, depthwise, dense and pooling shapes of random
    candidates of tfnas's spaces (`tfnas.latency.candidates.kernel_params`), at most `PER_CANDIDATE` new
    ones from each; `seen` (the specs' JSON) keeps a shape from being measured twice."""
    specs: list[sampling.Spec] = []
    if not set(kinds) & set(SPACE_KINDS):
        return specs
    for _ in range(2 * count):  # draws that bring nothing new (small models of shapes already taken) end it too
        if len(specs) >= count:
            break
        params = [p for p in kernel_params(space_candidate(rng)) if p["kind"] in kinds]
        rng.shuffle(params)
        taken = 0
        for p in params:
            key = json.dumps(p, sort_keys=True)
            if taken == PER_CANDIDATE:
                break
            if key in seen:
                continue
            seen.add(key)
            specs.append(sampling.Spec(p["kind"], p, f"{p['kind'].lower()}_{start + len(specs):05d}.tflite"))
            taken += 1
    return specs
