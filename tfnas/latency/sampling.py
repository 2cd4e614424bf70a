"""Which kernel shapes to measure: random shapes over the ranges the search spaces and Keras's MobileNets reach.

Shapes are drawn log-uniformly (a 4x4 map matters as much as a 64x64 one),
half the channel counts are multiples of 8 and half are not, since SIMD
tiles make odd counts cost more than their MACs say. Kernel sizes and
strides are those the spaces produce (1x1, 3x3, 5x5, 7x7, the 10x4 stride-2
keyword-spotting stem, and 1D kernels, which run as 1xk 2D kernels).
`perturb` draws near a given shape: where the fit is worst, calibration asks
for more shapes like those. Imports only numpy: nothing here needs Keras.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

OVERHEAD = "OVERHEAD"  # a 1x1 dense layer: the fixed cost of one invoke()
KINDS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "MUL", "MEAN", "AVERAGE_POOL_2D", "MAX_POOL_2D",
         "RESHAPE", "SOFTMAX", "HARD_SWISH", "LOGISTIC", "RELU", "RELU6", "CONCATENATION", "PAD")  # fmt: skip
MAX_ELEMENTS = 1_300_000  # 112 x 112 x 104: about the largest activation of a MobileNet at 224 px
MAX_MACS = 60_000_000
MAX_WEIGHTS = 20_000_000  # a dense layer's int8 weights: streamed from memory, not from cache
CONV_KERNELS = [(1, 1)] * 4 + [(3, 3)] * 3 + [(5, 5), (7, 7), (10, 4), (1, 3), (1, 5), (1, 7)]
DW_KERNELS = [(3, 3)] * 3 + [(5, 5)] * 2 + [(7, 7), (1, 3), (1, 5), (1, 7), (1, 9)]


@dataclasses.dataclass
class Spec:
    """One micro-model to write: its kernel type, the parameters of its Keras layer, and its file name."""

    kind: str
    params: dict[str, Any]
    file: str


def _log_int(rng: np.random.Generator, lo: int, hi: int) -> int:
    return round(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _channels(rng: np.random.Generator, lo: int, hi: int) -> int:
    c = _log_int(rng, lo, hi)
    return max(8, round(c / 8) * 8) if rng.random() < 0.5 and c >= 8 else c


def _map(rng: np.random.Generator, lo: int = 1, hi: int = 112) -> tuple[int, int]:
    size = _log_int(rng, lo, hi)
    return size, size if rng.random() < 0.7 else _log_int(rng, lo, hi)


def _conv(rng: np.random.Generator, depthwise: bool) -> dict[str, Any]:
    kh, kw = (DW_KERNELS if depthwise else CONV_KERNELS)[rng.integers(len(DW_KERNELS if depthwise else CONV_KERNELS))]
    stride = 2 if rng.random() < 0.3 else 1
    oh, ow = (1, _log_int(rng, 4, 512)) if kh == 1 and kw > 1 else _map(rng)
    cin = _channels(rng, 8, 960) if depthwise else (int(rng.choice([1, 3])) if rng.random() < 0.1 else _channels(rng, 1, 512))
    cout = cin if depthwise else _channels(rng, 4, 640)
    padding = "valid" if rng.random() < 0.2 else "same"
    p = {"kh": kh, "kw": kw, "stride": stride, "padding": padding, "cin": cin, "cout": cout,
         "act": [None, "relu", "relu6"][rng.integers(3)]}  # fmt: skip
    while True:
        macs = oh * ow * kh * kw * cout * (1 if depthwise else cin)
        if oh * ow * max(cin, cout) * stride * stride <= MAX_ELEMENTS and macs <= MAX_MACS or oh * ow == 1:
            break
        oh, ow = max(1, oh * 3 // 4), max(1, ow * 3 // 4)
    one_d = kh == 1 and kw > 1
    p["h"] = 1 if one_d else _input_size(oh, kh, stride, padding)
    p["w"] = _input_size(ow, kw, stride, padding)
    return p


def _input_size(out: int, k: int, stride: int, padding: str) -> int:
    """The input size that a conv with this kernel, stride and padding turns into `out`."""
    return (out - 1) * stride + k if padding == "valid" else out * stride


def _elementwise(rng: np.random.Generator, kind: str) -> dict[str, Any]:
    h, w = _map(rng, 1, 112)
    c = _channels(rng, 1, 512)
    while h * w * c > MAX_ELEMENTS and h * w > 1:
        h, w = max(1, h * 3 // 4), max(1, w * 3 // 4)
    p: dict[str, Any] = {"h": h, "w": w, "cin": c}
    if kind == "MUL":
        p["broadcast"] = bool(rng.random() < 0.5)
    if kind == "CONCATENATION":
        p["cin2"] = _channels(rng, 1, 256)
    if kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        p.update(
            pool=int(rng.choice([2, 2, 3])),
            stride=2,
            padding="valid" if rng.random() < 0.3 else "same",
        )
        p["h"], p["w"] = max(p["h"], 3), max(p["w"], 3)
    if kind == "PAD":
        p["pad"] = int(rng.choice([1, 1, 2, 3]))
    return p


def _dense(rng: np.random.Generator) -> dict[str, Any]:
    """A dense layer: a classifier head, or an MLP's first layer on a flattened image (up to 224 x 224 x 3 inputs)."""
    cin = _channels(rng, 8, 2048) if rng.random() < 0.6 else _log_int(rng, 2048, 150_528)
    cout = _channels(rng, 2, 1280)
    while cin * cout > MAX_WEIGHTS and cout > 2:
        cout = max(2, cout // 2)
    return {"cin": cin, "cout": cout, "act": [None, "relu"][rng.integers(2)]}


def draw(kind: str, rng: np.random.Generator) -> dict[str, Any]:
    """Random layer parameters of one micro-model of kernel type `kind` ("kind" included)."""
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        p = _conv(rng, kind == "DEPTHWISE_CONV_2D")
    elif kind == "FULLY_CONNECTED":
        p = _dense(rng)
    elif kind == "SOFTMAX":
        p = {"cin": _log_int(rng, 2, 1001)}
    elif kind == OVERHEAD:
        p = {"cin": 1, "cout": 1}
    else:
        p = _elementwise(rng, kind)
    return {"kind": kind, **p}


def perturb(params: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """A shape near `params`: sizes and channel counts scaled by up to 1.5x either way, kernel and stride kept."""
    p = dict(params)
    for key in ("h", "w", "cin", "cout", "cin2"):
        if key in p and p[key] > 1 and not (key == "h" and p.get("kh") == 1):
            p[key] = max(1, round(p[key] * math.exp(rng.uniform(-0.4, 0.4))))
    if p["kind"] == "DEPTHWISE_CONV_2D":
        p["cout"] = p["cin"]
    for key in ("h", "w"):
        if key in p and p.get("padding") == "valid":
            p[key] = max(p[key], p.get("kh" if key == "h" else "kw", p.get("pool", 1)))
    if p["kind"] in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        p["h"], p["w"] = max(p["h"], p["pool"]), max(p["w"], p["pool"])
    elements = p.get("h", 1) * p.get("w", 1) * max(p.get("cin", 1), p.get("cout", 1))
    return p if elements <= MAX_ELEMENTS else params


def specs(kinds: list[str] | tuple[str, ...], n: int, rng: np.random.Generator, start: int = 0) -> list[Spec]:
    """`n` random specs of each kind, files numbered from `start`."""
    out: list[Spec] = []
    for kind in kinds:
        for _ in range(n):
            out.append(
                Spec(
                    kind,
                    draw(kind, rng),
                    f"{kind.lower()}_{start + len(out):05d}.tflite",
                )
            )
    return out
