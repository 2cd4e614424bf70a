"""`DSCNN1DSpace`: depthwise-separable 1D CNNs (DS-CNN) for signals of shape (T, C).

Why this shape of space: DS-CNN is the standard small model for keyword
spotting and sensor signals on microcontrollers; in int8 TFLite its 1D layers
become EXPAND_DIMS / CONV_2D / DEPTHWISE_CONV_2D / RESHAPE ops that TFLite
Micro runs, and BatchNormalization folds into the convs.
"""

from __future__ import annotations

import contextlib
from types import ModuleType
from typing import Any

import keras_tuner as kt

from tfnas.spaces.base import EdgeSpace
from tfnas.spaces.blocks import HEADS
from tfnas.spaces.blocks import bool_hp
from tfnas.spaces.blocks import clamp_stride
from tfnas.spaces.blocks import conv_bn_relu
from tfnas.spaces.blocks import head
from tfnas.spaces.blocks import pick
from tfnas.spaces.blocks import same_out
from tfnas.spaces.ranges import bool_choices
from tfnas.spaces.ranges import int_choices
from tfnas.spaces.ranges import str_choices

POOLINGS = ("none", "max", "avg")


class DSCNN1DSpace(EdgeSpace):
    """DS-CNN search space for signals of shape (T, C).

    Conv1D stem + BN + ReLU, optional 2x pooling, then 1 to `max(num_blocks)`
    depthwise-separable blocks (DepthwiseConv1D + BN + ReLU, 1x1 Conv1D + BN +
    ReLU, plus a residual Add where the block keeps shape and `skip` is on),
    GlobalAveragePooling1D, Dropout and a Dense head. Strides and pooling are
    clamped so the time axis never shrinks below 1.

    Hyperparameters: `stem_filters`, `stem_kernel`, `stem_strides`,
    `pooling`, `num_blocks`, then per block i (1-based, active only when
    `num_blocks >= i`) `block{i}_filters`, `block{i}_kernel`,
    `block{i}_strides`, `block{i}_skip`; then `dropout`, `learning_rate`.

    Args:
        input_shape: See `EdgeSpace`.
        num_outputs: See `EdgeSpace`.
        task: See `EdgeSpace`.
        name: See `EdgeSpace`.
        stem_filters: Filters of the stem Conv1D.
        stem_strides: Stride of the stem Conv1D (4 suits long raw signals).
        pooling: 2x pooling after the stem: "none", "max" or "avg".
        num_blocks: Number of depthwise-separable blocks.
        filters: Output channels of a block.
        kernel_sizes: Kernel size of the stem and of each block's depthwise
            conv.
        strides: Stride of a block's depthwise conv.
        skip: Whether a block adds a residual connection (only where it
            keeps shape: stride 1 and same channels).
        head: "gap" (global average pooling) and/or "flatten"; with one
            choice no `head` hp is registered.
        dropout: Dropout rate before the head.
        learning_rate: Adam learning rate.

    Example:
        >>> space = DSCNN1DSpace(num_blocks=(1, 2)).configure((49, 10), 12, "classification")
        >>> model = space.build(kt.HyperParameters())
    """

    space_name = "dscnn1d"
    input_rank = 2
    summary_keys = ("stem_filters", "stem_strides", "num_blocks", "block1_filters", "dropout", "learning_rate")
    RANGES = {
        "stem_filters": int_choices(1),
        "stem_strides": int_choices(1, 8),
        "pooling": str_choices(POOLINGS),
        "num_blocks": int_choices(1, 12),
        "filters": int_choices(1),
        "kernel_sizes": int_choices(1, 31),
        "strides": int_choices(1, 4),
        "skip": bool_choices,
        "head": str_choices(HEADS),
        **EdgeSpace.RANGES,
    }

    def __init__(
        self,
        input_shape: tuple[int, ...] | None = None,
        num_outputs: int | None = None,
        task: str = "classification",
        name: str | None = None,
        *,
        stem_filters: tuple[int, ...] = (8, 16, 32),
        stem_strides: tuple[int, ...] = (1, 2, 4),
        pooling: tuple[str, ...] = ("none", "max", "avg"),
        num_blocks: tuple[int, ...] = (1, 2, 3, 4),
        filters: tuple[int, ...] = (8, 16, 32, 48),
        kernel_sizes: tuple[int, ...] = (3, 5, 7),
        strides: tuple[int, ...] = (1, 2),
        skip: tuple[bool, ...] = (True, False),
        head: tuple[str, ...] = ("gap",),
        dropout: tuple[float, ...] = (0.0, 0.1, 0.25),
        learning_rate: tuple[float, ...] = (1e-3, 3e-3, 1e-2),
        **unknown: Any,
    ) -> None:
        super().__init__(
            input_shape=input_shape,
            num_outputs=num_outputs,
            task=task,
            name=name,
            stem_filters=stem_filters,
            stem_strides=stem_strides,
            pooling=pooling,
            num_blocks=num_blocks,
            filters=filters,
            kernel_sizes=kernel_sizes,
            strides=strides,
            skip=skip,
            head=head,
            dropout=dropout,
            learning_rate=learning_rate,
            **unknown,
        )

    def _rank_hint(self) -> str:
        return "signals (T, C)"

    def _body(self, hp: kt.HyperParameters, k: ModuleType, inputs: Any) -> Any:
        r = self._ranges
        assert self.input_shape is not None  # build_with() refuses an unconfigured space
        length, channels = self.input_shape
        stem_filters = hp.Choice("stem_filters", list(r["stem_filters"]))
        stem_kernel = hp.Choice("stem_kernel", list(r["kernel_sizes"]))
        stride = clamp_stride(hp.Choice("stem_strides", list(r["stem_strides"])), length)
        conv = k.layers.Conv1D(
            stem_filters, stem_kernel, strides=stride, padding="same", use_bias=False, name="stem_conv"
        )
        x = conv_bn_relu(k, inputs, conv, "stem")
        length, channels = same_out(length, stride), stem_filters

        pooling = hp.Choice("pooling", list(r["pooling"]))
        if pooling != "none" and length >= 2:
            pool = k.layers.MaxPooling1D if pooling == "max" else k.layers.AveragePooling1D
            x = pool(2, padding="same", name="stem_pool")(x)
            length = same_out(length, 2)

        block_choices = list(r["num_blocks"])
        num_blocks = hp.Choice("num_blocks", block_choices)
        for i in range(1, max(block_choices) + 1):
            active = [n for n in block_choices if n >= i]
            scope = hp.conditional_scope("num_blocks", active) if i > min(block_choices) else contextlib.nullcontext()
            with scope:
                filters = hp.Choice(f"block{i}_filters", list(r["filters"]))
                kernel = hp.Choice(f"block{i}_kernel", list(r["kernel_sizes"]))
                block_stride = hp.Choice(f"block{i}_strides", list(r["strides"]))
                skip = bool_hp(hp, f"block{i}_skip", r["skip"])
            if i > num_blocks:
                continue
            stride = clamp_stride(block_stride, length)
            name = f"b{i}"
            shortcut = x
            dw = k.layers.DepthwiseConv1D(kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")
            x = conv_bn_relu(k, x, dw, f"{name}_dw")
            pw = k.layers.Conv1D(filters, 1, use_bias=False, name=f"{name}_pw")
            x = conv_bn_relu(k, x, pw, f"{name}_pw")
            if skip and stride == 1 and channels == filters:
                x = k.layers.Add(name=f"{name}_add")([shortcut, x])
            length, channels = same_out(length, stride), filters
        return head(k, x, pick(hp, "head", r["head"]), 1)
