"""`DSCNN2DSpace`: the MLPerf-Tiny keyword-spotting DS-CNN family for spectrograms (time x features x 1).

Why this shape of space: on MFCC spectrograms such as 49x10 the reference
microcontroller model starts with one full convolution whose kernel and
stride are sized to the input (10x4, stride 2), which cuts the map 4x before
the depthwise-separable blocks do the rest; a square 3x3 stem would spend
most of the MACs at full resolution.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import keras_tuner as kt

from tfnas.spaces.blocks import conv_bn_relu
from tfnas.spaces.blocks import same_out
from tfnas.spaces.mobilenet import MobileNetSpace


def stem_geometry(height: int, width: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The stem kernel and stride for a `height` x `width` input: (10, 4) and (2, 2) on 49x10.

    The kernel spans about a fifth of the time axis and two fifths of the
    feature axis (MLPerf Tiny's DS-CNN); an axis shorter than 8 keeps stride 1.
    """
    kernel = (max(1, min(height, round(height / 5))), max(1, min(width, round(width / 2.5))))
    stride = (2 if height >= 8 else 1, 2 if width >= 8 else 1)
    return kernel, stride


class DSCNN2DSpace(MobileNetSpace):
    """DS-CNN search space for spectrograms of shape (T, F, C), MLPerf-Tiny KWS style.

    A `MobileNetSpace` whose stem is a Conv2D with the kernel and stride of
    `stem_geometry`, followed by depthwise-separable blocks (expansion 1, no
    residuals by default) and global average pooling. Hyperparameters and
    arguments are `MobileNetSpace`'s; `stem_strides` is unused (the stride
    follows the input).

    Example:
        >>> space = DSCNN2DSpace().configure((49, 10, 1), 12, "classification")
        >>> model = space.build(kt.HyperParameters())
    """

    space_name = "dscnn2d"

    def __init__(
        self,
        input_shape: tuple[int, ...] | None = None,
        num_outputs: int | None = None,
        task: str = "classification",
        name: str | None = None,
        **ranges: Any,
    ) -> None:
        defaults = {
            "stem_filters": (16, 32, 64),
            "stem_strides": (2,),
            "num_stages": (1, 2, 3, 4),
            "blocks": (1,),
            "filters": (16, 32, 64),
            "kernel_sizes": (3,),
            "expansions": (1,),
            "strides": (1,),
            "skip": (False,),
        }
        super().__init__(input_shape, num_outputs, task, name, **{**defaults, **ranges})

    def _rank_hint(self) -> str:
        return "spectrograms (T, F, C)"

    def _stem(self, hp: kt.HyperParameters, k: ModuleType, inputs: Any) -> tuple[Any, int, int, int]:
        assert self.input_shape is not None  # build_with() refuses an unconfigured space
        h, w, _ = self.input_shape
        kernel, stride = stem_geometry(h, w)
        filters = self._width(hp, hp.Choice("stem_filters", list(self._ranges["stem_filters"])))
        conv = k.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name="stem_conv")
        x = conv_bn_relu(k, inputs, conv, "stem")
        return x, same_out(h, stride[0]), same_out(w, stride[1]), filters
