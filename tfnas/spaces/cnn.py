"""Plain CNN spaces: a few Conv + BN + ReLU blocks, optional pooling, a Flatten or pooled head.

Why this shape of space: on the small inputs microcontrollers see (8x8
images, 40-step signals) one or two full convolutions with a Flatten head
beat deeper depthwise-separable stacks at the same multiply-accumulates; the
MNIST-1D paper's model (strided Conv1D stack + Flatten + Dense) is in the 1-D
space. Every layer maps to an int8 op that TFLite Micro runs (CONV_2D,
MAX_POOL_2D, MEAN, RESHAPE, FULLY_CONNECTED); BN folds into the convs.
"""

from __future__ import annotations

import contextlib
from types import ModuleType
from typing import Any

import keras_tuner as kt

from tfnas.spaces.base import EdgeSpace
from tfnas.spaces.blocks import HEADS
from tfnas.spaces.blocks import clamp_stride
from tfnas.spaces.blocks import conv_bn_relu
from tfnas.spaces.blocks import head
from tfnas.spaces.blocks import pick
from tfnas.spaces.blocks import same_out
from tfnas.spaces.ranges import int_choices
from tfnas.spaces.ranges import str_choices

POOLINGS = ("none", "max")


class _PlainCNNSpace(EdgeSpace):
    """Conv blocks (Conv + BN + ReLU, then optional 2x max pooling), a head, an optional hidden Dense.

    Hyperparameters: `num_blocks`, `filters` (of the first block), `growth`
    (each later block has `growth` times the filters of the one before: the
    usual doubling after each downsampling, or 1; active with 2 blocks or
    more), per block i (active when `num_blocks >= i`) `block{i}_kernel`,
    `block{i}_strides`, `block{i}_pool`; then `head`, `dense_units` (0 = no
    hidden Dense layer), `dropout`, `learning_rate`. A stride or a pooling is
    skipped on an axis that is already 1 wide, so the map never shrinks below
    one position. One width and one growth instead of a width per block keep
    the space small enough for 20 trials to cover.
    """

    summary_keys = ("num_blocks", "filters", "growth", "head", "dense_units", "dropout", "learning_rate")
    RANGES = {
        "num_blocks": int_choices(1, 8),
        "filters": int_choices(1),
        "growth": int_choices(1, 4),
        "kernel_sizes": int_choices(1, 15),
        "strides": int_choices(1, 4),
        "pooling": str_choices(POOLINGS),
        "head": str_choices(HEADS),
        "dense_units": int_choices(0),
        **EdgeSpace.RANGES,
    }
    _DEFAULTS: dict[str, tuple] = {  # subclasses override the first choices of their own data
        "growth": (2, 1),
        "strides": (1, 2),
        "pooling": ("max", "none"),
        "head": ("flatten", "gap"),
        "dense_units": (0, 32, 64),
        "dropout": (0.0, 0.1, 0.25),
        "learning_rate": (1e-3, 3e-3, 1e-2),
    }

    def __init__(
        self,
        input_shape: tuple[int, ...] | None = None,
        num_outputs: int | None = None,
        task: str = "classification",
        name: str | None = None,
        **ranges: Any,
    ) -> None:
        super().__init__(input_shape, num_outputs, task, name, **{**self._DEFAULTS, **ranges})

    def _body(self, hp: kt.HyperParameters, k: ModuleType, inputs: Any) -> Any:
        r = self._ranges
        assert self.input_shape is not None  # build_with() refuses an unconfigured space
        sizes = list(self.input_shape[:-1])
        choices = list(r["num_blocks"])
        num_blocks = hp.Choice("num_blocks", choices)
        filters = hp.Choice("filters", list(r["filters"]))
        deeper = [n for n in choices if n >= 2]
        growth = 1
        if deeper:
            scope = hp.conditional_scope("num_blocks", deeper) if min(choices) < 2 else contextlib.nullcontext()
            with scope:
                growth = pick(hp, "growth", r["growth"])
        x = inputs
        for i in range(1, max(choices) + 1):
            active = [n for n in choices if n >= i]
            scope = hp.conditional_scope("num_blocks", active) if i > min(choices) else contextlib.nullcontext()
            with scope:
                kernel = pick(hp, f"block{i}_kernel", r["kernel_sizes"])
                stride = pick(hp, f"block{i}_strides", r["strides"])
                pooling = pick(hp, f"block{i}_pool", r["pooling"])
            if i > num_blocks:
                continue
            strides = tuple(clamp_stride(stride, size) for size in sizes)
            width = filters * (growth or 1) ** (i - 1)
            conv = self._conv(k)(width, kernel, strides=strides, padding="same", use_bias=False, name=f"b{i}_conv")
            x = conv_bn_relu(k, x, conv, f"b{i}")
            sizes = [same_out(size, s) for size, s in zip(sizes, strides, strict=True)]
            if pooling == "max" and min(sizes) >= 2:
                x = self._pool(k)(2, padding="same", name=f"b{i}_pool")(x)
                sizes = [same_out(size, 2) for size in sizes]
        x = head(k, x, pick(hp, "head", r["head"]), len(sizes))
        units = pick(hp, "dense_units", r["dense_units"])
        if units:
            x = k.layers.Dense(units, activation="relu", name="dense")(x)
        return x

    def _conv(self, k: ModuleType) -> Any:
        raise NotImplementedError

    def _pool(self, k: ModuleType) -> Any:
        raise NotImplementedError


class CNN2DSpace(_PlainCNNSpace):
    """Plain CNN search space for images of shape (H, W, C); see `_PlainCNNSpace`.

    Example:
        >>> space = CNN2DSpace(num_blocks=(1, 2)).configure((8, 8, 1), 10, "classification")
        >>> model = space.build(kt.HyperParameters())
    """

    space_name = "cnn2d"
    input_rank = 3
    _DEFAULTS = {  # first choices: one 12-filter conv, 2x max pooling, Flatten (8.8k MACs, ~99% on 8x8 digits)
        **_PlainCNNSpace._DEFAULTS,
        "num_blocks": (1, 2),
        "filters": (12, 8, 16, 24),
        "kernel_sizes": (3,),
    }

    def _rank_hint(self) -> str:
        return "images (H, W, C)"

    def _conv(self, k: ModuleType) -> Any:
        return k.layers.Conv2D

    def _pool(self, k: ModuleType) -> Any:
        return k.layers.MaxPooling2D


class CNN1DSpace(_PlainCNNSpace):
    """Plain strided Conv1D search space for signals of shape (T, C); see `_PlainCNNSpace`.

    Example:
        >>> space = CNN1DSpace().configure((40, 1), 10, "classification")
        >>> model = space.build(kt.HyperParameters())
    """

    space_name = "cnn1d"
    input_rank = 2
    _DEFAULTS = {  # first choices: k5 convs of 8 then 16 filters, each with 2x max pooling, Flatten (16k MACs on MNIST-1D)
        **_PlainCNNSpace._DEFAULTS,
        "num_blocks": (2, 1, 3),
        "filters": (8, 16, 24, 32),
        "kernel_sizes": (5, 3, 7),
    }

    def _rank_hint(self) -> str:
        return "signals (T, C)"

    def _conv(self, k: ModuleType) -> Any:
        return k.layers.Conv1D

    def _pool(self, k: ModuleType) -> Any:
        return k.layers.MaxPooling1D
