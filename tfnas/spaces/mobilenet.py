"""`MobileNetSpace`: MobileNet-style image models (H, W, C) small enough for microcontrollers.

Why this shape of space: depthwise-separable and inverted-residual blocks give
the best accuracy per multiply-accumulate on images, and every layer maps to an
int8 op that TFLite Micro runs (CONV_2D, DEPTHWISE_CONV_2D, ADD, MEAN,
FULLY_CONNECTED, SOFTMAX); BatchNormalization folds into the convs.
"""

from __future__ import annotations

import contextlib
from types import ModuleType
from typing import Any

import keras_tuner as kt

from tfnas.spaces.base import EdgeSpace
from tfnas.spaces.blocks import HEADS
from tfnas.spaces.blocks import activation
from tfnas.spaces.blocks import bool_hp
from tfnas.spaces.blocks import clamp_stride
from tfnas.spaces.blocks import conv_bn_relu
from tfnas.spaces.blocks import head
from tfnas.spaces.blocks import make_divisible
from tfnas.spaces.blocks import pick
from tfnas.spaces.blocks import same_out
from tfnas.spaces.blocks import squeeze_excite
from tfnas.spaces.ranges import bool_choices
from tfnas.spaces.ranges import float_choices
from tfnas.spaces.ranges import int_choices
from tfnas.spaces.ranges import str_choices

ACTIVATIONS = ("relu", "hard_swish")

# The TFLite ops each optional feature converts to (int8), and whether TFLite Micro runs them all: a search for a
# microcontroller leaves out a feature marked False. Both convert to ops TFLite Micro has int8 kernels for
# (tfnas.export.micro_ops.TFLM_OPS; tests/spaces_tests/test_scaled_spaces.py converts them and runs them on TFLM).
FEATURE_OPS: dict[str, tuple[str, ...]] = {
    "squeeze_excite": ("MEAN", "CONV_2D", "LOGISTIC", "MUL"),
    "hard_swish": ("HARD_SWISH",),
}
RUNS_ON_TFLM: dict[str, bool] = {"squeeze_excite": True, "hard_swish": True}


class MobileNetSpace(EdgeSpace):
    """MobileNet-style search space for images of shape (H, W, C).

    Stem Conv2D 3x3 + BN + ReLU, then 1 to `max(num_stages)` stages of blocks,
    GlobalAveragePooling2D (or Flatten, see `head`), Dropout and a Dense head. A block with expansion 1
    is depthwise-separable (depthwise + BN + ReLU, 1x1 conv + BN + ReLU); with
    expansion > 1 it is an inverted residual (1x1 expand + BN + ReLU, depthwise
    + BN + ReLU, linear 1x1 project + BN). Strides are clamped so the feature
    map never shrinks below 1x1, so tiny inputs such as 8x8 digits work.

    Hyperparameters: `stem_filters`, `stem_strides`, `num_stages`, then per
    stage i (1-based, active only when `num_stages >= i`) `stage{i}_blocks`,
    `stage{i}_filters`, `stage{i}_kernel`, `stage{i}_expansion`,
    `stage{i}_strides`, `stage{i}_skip`; then `dropout`, `learning_rate`.
    The phone-scale options (`width_multiplier`, `stage{i}_se`,
    `stage{i}_activation`, `last_filters`, `head_units`) register an hp only
    when their range has more than one choice; their defaults (1.0, False,
    "relu", 0, 0) build the microcontroller space as before.

    Args:
        input_shape: See `EdgeSpace`.
        num_outputs: See `EdgeSpace`.
        task: See `EdgeSpace`.
        name: See `EdgeSpace`.
        stem_filters: Filters of the 3x3 stem conv.
        stem_strides: Stride of the stem conv.
        num_stages: Number of stages.
        blocks: Blocks per stage.
        filters: Output channels of a stage.
        kernel_sizes: Depthwise kernel size of a stage.
        expansions: Expansion of a stage: 1 = depthwise-separable block,
            2 / 4 / 6 = inverted residual.
        strides: Stride of a stage's first block (the others use 1).
        skip: Whether a stage adds residual connections (only where the
            block keeps shape: stride 1 and same channels).
        head: "gap" (global average pooling) and/or "flatten"; with one
            choice no `head` hp is registered.
        width_multiplier: Multiplies the stem's and every stage's filters,
            rounded to multiples of 8 (MobileNet's alpha); 1.0 keeps them as
            given. hp `width_multiplier`.
        squeeze_excite: Whether a stage's blocks squeeze and excite after the
            depthwise conv (MobileNetV3's); hp `stage{i}_se`.
        activations: "relu" and/or "hard_swish" (MobileNetV3's), per stage;
            hp `stage{i}_activation`.
        last_filters: Width of a 1x1 conv + BN + activation after the last
            stage (MobileNetV2's 1280, V3's 576); 0 = none. hp `last_filters`.
        head_units: Width of a Dense + activation after the pooling
            (MobileNetV3's 1024); 0 = none. hp `head_units`.
        stage_widths: Not choices but a schedule, one width per stage (e.g.
            MobileNetV2's 16, 24, 32, 64, 96, 160, 320): stage i then
            chooses among the `filters` within a factor 2 of its width (the
            nearest first), so widths grow with depth as in the phone models
            and random draws fit a budget more often; (0,) = every stage
            chooses among all `filters`. See `stage_filters`.
        dropout: Dropout rate before the head.
        learning_rate: Adam learning rate.

    Example:
        >>> space = MobileNetSpace(filters=(8, 16), expansions=(1,))
        >>> space = space.configure((8, 8, 1), 10, "classification")
        >>> model = space.build(kt.HyperParameters())
    """

    space_name = "mobilenet"
    input_rank = 3
    summary_keys = (
        "stem_filters",
        "stem_strides",
        "num_stages",
        "stage1_filters",
        "stage1_expansion",
        "dropout",
        "learning_rate",
    )
    RANGES = {
        "stem_filters": int_choices(1),
        "stem_strides": int_choices(1, 4),
        "num_stages": int_choices(1, 8),
        "blocks": int_choices(1, 8),
        "filters": int_choices(1),
        "kernel_sizes": int_choices(1, 9),
        "expansions": int_choices(1, 8),
        "strides": int_choices(1, 4),
        "skip": bool_choices,
        "head": str_choices(HEADS),
        "width_multiplier": float_choices(0.0, 4.0, include_low=False),
        "squeeze_excite": bool_choices,
        "activations": str_choices(ACTIVATIONS),
        "last_filters": int_choices(0),
        "head_units": int_choices(0),
        "stage_widths": int_choices(0),
        **EdgeSpace.RANGES,
    }

    def __init__(
        self,
        input_shape: tuple[int, ...] | None = None,
        num_outputs: int | None = None,
        task: str = "classification",
        name: str | None = None,
        *,
        stem_filters: tuple[int, ...] = (8, 16, 24),
        stem_strides: tuple[int, ...] = (1, 2),
        num_stages: tuple[int, ...] = (1, 2, 3),
        blocks: tuple[int, ...] = (1, 2, 3),
        filters: tuple[int, ...] = (8, 16, 24, 32, 48),
        kernel_sizes: tuple[int, ...] = (3, 5),
        expansions: tuple[int, ...] = (1, 2, 4, 6),
        strides: tuple[int, ...] = (2, 1),
        skip: tuple[bool, ...] = (True, False),
        head: tuple[str, ...] = ("gap",),
        width_multiplier: tuple[float, ...] = (1.0,),
        squeeze_excite: tuple[bool, ...] = (False,),
        activations: tuple[str, ...] = ("relu",),
        last_filters: tuple[int, ...] = (0,),
        head_units: tuple[int, ...] = (0,),
        stage_widths: tuple[int, ...] = (0,),
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
            num_stages=num_stages,
            blocks=blocks,
            filters=filters,
            kernel_sizes=kernel_sizes,
            expansions=expansions,
            strides=strides,
            skip=skip,
            head=head,
            width_multiplier=width_multiplier,
            squeeze_excite=squeeze_excite,
            activations=activations,
            last_filters=last_filters,
            head_units=head_units,
            stage_widths=stage_widths,
            dropout=dropout,
            learning_rate=learning_rate,
            **unknown,
        )

    def _rank_hint(self) -> str:
        return "images (H, W, C)"

    def _width(self, hp: kt.HyperParameters, filters: int, at_least_one: bool = False) -> int:
        """`filters` times the `width_multiplier` (rounded to a multiple of 8); unchanged at 1.0.

        With `at_least_one` a multiplier below 1 keeps the width, as Keras
        Applications keep MobileNetV2's last conv at 1280 for alpha < 1.
        """
        multiplier = pick(hp, "width_multiplier", self._ranges["width_multiplier"])
        if at_least_one:
            multiplier = max(multiplier, 1.0)
        return filters if multiplier == 1.0 else make_divisible(filters * multiplier)

    def _stem(self, hp: kt.HyperParameters, k: ModuleType, inputs: Any) -> tuple[Any, int, int, int]:
        """The stem conv; returns its output and the output's height, width and channels."""
        r = self._ranges
        assert self.input_shape is not None  # build_with() refuses an unconfigured space
        h, w, _ = self.input_shape
        stem_filters = self._width(hp, hp.Choice("stem_filters", list(r["stem_filters"])))
        stem_stride = hp.Choice("stem_strides", list(r["stem_strides"]))
        stride = (clamp_stride(stem_stride, h), clamp_stride(stem_stride, w))
        conv = k.layers.Conv2D(stem_filters, 3, strides=stride, padding="same", use_bias=False, name="stem_conv")
        x = conv_bn_relu(k, inputs, conv, "stem")
        return x, same_out(h, stride[0]), same_out(w, stride[1]), stem_filters

    def _body(self, hp: kt.HyperParameters, k: ModuleType, inputs: Any) -> Any:
        r = self._ranges
        x, h, w, channels = self._stem(hp, k, inputs)
        act = "relu"
        stage_choices = list(r["num_stages"])
        num_stages = hp.Choice("num_stages", stage_choices)
        for i in range(1, max(stage_choices) + 1):
            active = [n for n in stage_choices if n >= i]
            scope = hp.conditional_scope("num_stages", active) if i > min(stage_choices) else contextlib.nullcontext()
            with scope:
                blocks = hp.Choice(f"stage{i}_blocks", list(r["blocks"]))
                filters = hp.Choice(f"stage{i}_filters", list(stage_filters(r, i)))
                kernel = hp.Choice(f"stage{i}_kernel", list(r["kernel_sizes"]))
                expansion = hp.Choice(f"stage{i}_expansion", list(r["expansions"]))
                first_stride = hp.Choice(f"stage{i}_strides", list(r["strides"]))
                skip = bool_hp(hp, f"stage{i}_skip", r["skip"])
                se = _flag(hp, f"stage{i}_se", r["squeeze_excite"])
                stage_act = pick(hp, f"stage{i}_activation", r["activations"])
            if i > num_stages:
                continue
            assert skip is not None  # None only while the stage is inactive
            filters, act = self._width(hp, filters), stage_act
            for b in range(1, blocks + 1):
                s = first_stride if b == 1 else 1
                stride = (clamp_stride(s, h), clamp_stride(s, w))
                x = _block(k, x, channels, filters, kernel, expansion, stride, skip, f"s{i}b{b}", se=se, act=act)
                h, w, channels = same_out(h, stride[0]), same_out(w, stride[1]), filters
        return self._tail(hp, k, x, act)

    def _tail(self, hp: kt.HyperParameters, k: ModuleType, x: Any, act: str) -> Any:
        """The optional last 1x1 conv, the pooling (or Flatten) and the optional hidden Dense, in `act`."""
        r = self._ranges
        last = pick(hp, "last_filters", r["last_filters"])
        if last:
            conv = k.layers.Conv2D(self._width(hp, last, True), 1, use_bias=False, name="last_conv")
            x = activation(k, conv_bn_relu(k, x, conv, "last", relu=False), act, "last")
        x = head(k, x, pick(hp, "head", r["head"]), 2)
        units = pick(hp, "head_units", r["head_units"])
        if units:
            x = activation(k, k.layers.Dense(self._width(hp, units, True), name="head_dense")(x), act, "head_dense")
        return x


def stage_filters(ranges: dict[str, tuple], stage: int) -> tuple[int, ...]:
    """The `filters` choices of stage `stage` (1-based): all of them, or those near its `stage_widths` width.

    With a schedule, the choices within a factor 2 of the stage's width (the
    last width for stages beyond the schedule), nearest first; the nearest
    choice alone when none is that close.
    """
    schedule = ranges["stage_widths"]
    if schedule == (0,):
        return tuple(ranges["filters"])
    width = schedule[min(stage, len(schedule)) - 1]
    by_distance = sorted(ranges["filters"], key=lambda f: (abs(f - width), f))
    near = tuple(f for f in by_distance if width / 2 <= f <= width * 2)
    return near or tuple(by_distance[:1])


def _flag(hp: kt.HyperParameters, name: str, choices: tuple[bool, ...]) -> bool | None:
    """A boolean hp for two choices; one choice is a constant and registers no hp (unlike `bool_hp`)."""
    return choices[0] if len(choices) == 1 else hp.Boolean(name, default=choices[0])


def _block(
    k: ModuleType,
    x: Any,
    in_channels: int,
    filters: int,
    kernel: int,
    expansion: int,
    stride: tuple[int, int],
    skip: bool,
    name: str,
    se: bool | None = False,
    act: str = "relu",
) -> Any:
    """One depthwise-separable (expansion 1) or inverted-residual block, with squeeze-and-excite when `se`."""
    shortcut = x
    if expansion > 1:
        conv = k.layers.Conv2D(in_channels * expansion, 1, use_bias=False, name=f"{name}_expand")
        x = activation(k, conv_bn_relu(k, x, conv, f"{name}_expand", relu=False), act, f"{name}_expand")
    # TensorFlow's depthwise kernel needs equal strides. A stride was clamped to 1 only on a 1-pixel axis,
    # where "same" padding gives one output whatever the stride, so the larger stride on both axes is the same op.
    dw_stride = (max(stride), max(stride))
    dw = k.layers.DepthwiseConv2D(kernel, strides=dw_stride, padding="same", use_bias=False, name=f"{name}_dw")
    x = activation(k, conv_bn_relu(k, x, dw, f"{name}_dw", relu=False), act, f"{name}_dw")
    if se:
        x = squeeze_excite(k, x, in_channels * expansion, name)
    project = k.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_project")
    # Inverted residuals keep the projection linear; separable blocks end in the activation.
    x = conv_bn_relu(k, x, project, f"{name}_project", relu=False)
    if expansion == 1:
        x = activation(k, x, act, f"{name}_project")
    if skip and stride == (1, 1) and in_channels == filters:
        x = k.layers.Add(name=f"{name}_add")([shortcut, x])
    return x
