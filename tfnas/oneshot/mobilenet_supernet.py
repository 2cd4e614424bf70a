"""`MobileNetSupernet`: the weight-sharing supernet of a `MobileNetSpace` or `DSCNN2DSpace`.

It holds `max(num_stages)` stages of `max(blocks)` blocks (a shallower
sub-network uses the first stages, and the first blocks of each), each block
at its widest: the widest input, the largest expansion (the expand conv's
`in_channels * expansion` outputs are the first of its widest), the largest
depthwise kernel (a smaller one is the centre) and the widest projection.
Expansion 1 (the space's depthwise-separable block: no expand conv, a ReLU
after the projection) and expansions above 1 (inverted residuals, linear
projection) have a weight set each (`ElasticBlock`). Strides and
residual Adds hold no weights: they are switches (`tfnas.oneshot.mobilenet`
resolves them exactly as the space does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
from keras import ops

from tfnas.errors import TfnasInputError
from tfnas.oneshot.base_supernet import BaseSupernet
from tfnas.oneshot.elastic import ElasticBatchNorm
from tfnas.oneshot.elastic import ElasticConv
from tfnas.oneshot.elastic import ElasticDense
from tfnas.oneshot.family import input_shape_of
from tfnas.oneshot.mobilenet import MobileNetSubnet
from tfnas.oneshot.mobilenet import StageBlock
from tfnas.oneshot.mobilenet import head_shapes
from tfnas.oneshot.mobilenet import stem
from tfnas.spaces import MobileNetSpace


class ElasticBlock(keras.layers.Layer):
    """One block's shared layers at their widest: a depthwise-separable set and an inverted-residual set.

    Expansion 1 (depthwise on the block's input, ReLU after the projection)
    and expansions above 1 (expand, depthwise on the expanded features,
    linear projection) are different blocks: their depthwise and projection
    layers see different inputs, so each kind has its own weights (shared
    by every width, kernel and expansion of that kind). With one set for
    both, the digits supernet's random sub-networks did not train (loss at
    chance after 15 epochs; inherited accuracy ~10%).

    Args:
        in_channels: The widest input.
        filters: The widest output.
        kernel: The largest depthwise kernel size.
        expansions: The space's expansion choices.
        name: The block's prefix in the space's model ("s1b2").
    """

    def __init__(self, in_channels: int, filters: int, kernel: int, expansions: tuple[int, ...], name: str) -> None:
        super().__init__(name=name)
        self.kinds: dict[bool, dict[str, Any]] = {}
        for inverted, hidden in ((False, in_channels), (True, in_channels * max(expansions))):
            if (1 in expansions) if not inverted else max(expansions) > 1:
                prefix = f"{name}_{'inverted' if inverted else 'separable'}"
                self.kinds[inverted] = {
                    "expand": ElasticConv((1, 1), in_channels, hidden, name=f"{prefix}_expand") if inverted else None,
                    "expand_bn": ElasticBatchNorm(hidden, name=f"{prefix}_expand_bn") if inverted else None,
                    "dw": ElasticConv((kernel, kernel), hidden, hidden, depthwise=True, name=f"{prefix}_dw"),
                    "dw_bn": ElasticBatchNorm(hidden, name=f"{prefix}_dw_bn"),
                    "project": ElasticConv((1, 1), hidden, filters, name=f"{prefix}_project"),
                    "project_bn": ElasticBatchNorm(filters, name=f"{prefix}_project_bn"),
                }
        self.built = True

    def run(self, x: Any, block: StageBlock, training: bool = False) -> Any:
        """The block's output for input `x` (`block.in_channels` wide), as the space's `_block` computes it."""
        layers = self.kinds[block.expansion > 1]
        shortcut = x
        if block.expansion > 1:
            x = layers["expand"](x, kernel_size=1, stride=1, filters=block.in_channels * block.expansion)
            x = ops.relu(layers["expand_bn"](x, training=training))
        # As the space: TensorFlow's depthwise conv needs equal strides, and a clamped axis is 1 pixel wide.
        stride = (max(block.stride),) * 2
        x = ops.relu(layers["dw_bn"](layers["dw"](x, kernel_size=block.kernel, stride=stride), training=training))
        x = layers["project_bn"](layers["project"](x, kernel_size=1, stride=1, filters=block.filters), training=training)
        if block.expansion == 1:
            x = ops.relu(x)
        return ops.add(shortcut, x) if block.add else x

    def sliced(self, block: StageBlock) -> dict[str, list[Any]]:
        """The block's weights, sliced, by the layer names the space's `_block` gives."""
        layers = self.kinds[block.expansion > 1]
        name, hidden = block.name, block.in_channels * block.expansion
        out = {}
        if block.expansion > 1:
            out[f"{name}_expand"] = [layers["expand"].sliced(1, block.in_channels, hidden)]
            out[f"{name}_expand_bn"] = layers["expand_bn"].sliced(hidden)
        out[f"{name}_dw"] = [layers["dw"].sliced(block.kernel, hidden)]
        out[f"{name}_dw_bn"] = layers["dw_bn"].sliced(hidden)
        out[f"{name}_project"] = [layers["project"].sliced(1, hidden, block.filters)]
        out[f"{name}_project_bn"] = layers["project_bn"].sliced(block.filters)
        return out

    def batch_norms(self) -> list[ElasticBatchNorm]:
        return [layers[key] for layers in self.kinds.values() for key in ("expand_bn", "dw_bn", "project_bn")
                if layers[key] is not None]


class MobileNetSupernet(BaseSupernet[MobileNetSubnet]):
    """The weight-sharing supernet of a configured `MobileNetSpace` or `DSCNN2DSpace` (Once-for-All style).

    Example:
        ```python
        space = MobileNetSpace(expansions=(1, 4)).configure((8, 8, 1), 10, "classification")
        supernet = MobileNetSupernet(space)  # or tfnas.oneshot.supernet_for(space)
        y = supernet(x, values={"num_stages": 2, "stage1_expansion": 4, "stage2_kernel": 3})
        ```

    Args:
        space: A configured `MobileNetSpace` (or `DSCNN2DSpace`).
        name: Model name. Defaults to "<space name>_supernet".

    Raises:
        TfnasInputError: `space` is not a configured `MobileNetSpace`.
    """

    def __init__(self, space: MobileNetSpace, name: str | None = None) -> None:
        if not isinstance(space, MobileNetSpace) or not space.configured:
            raise TfnasInputError(
                "MobileNetSupernet takes a configured MobileNetSpace or DSCNN2DSpace "
                f"(space.configure(input_shape, num_outputs, task)); received: {space!r}."
            )
        super().__init__(space, name)
        assert space.input_shape is not None and space.num_outputs is not None  # configured: checked above
        r = space.ranges
        stem_kernel = stem(space, min(r["stem_strides"]))[0]  # (the stem's kernel is fixed)
        stem_width, width = max(r["stem_filters"]), max(r["filters"])
        self.stem_conv = ElasticConv(stem_kernel, space.input_shape[2], stem_width, name="stem_conv")
        self.stem_bn = ElasticBatchNorm(stem_width, name="stem_bn")
        self.stages = [
            [
                ElasticBlock(stem_width if (i, b) == (1, 1) else width, width, max(r["kernel_sizes"]),
                             tuple(r["expansions"]), f"s{i}b{b}")
                for b in range(1, max(r["blocks"]) + 1)
            ]
            for i in range(1, max(r["num_stages"]) + 1)
        ]
        self.head_gap = ElasticDense(width, space.num_outputs, name="head") if "gap" in r["head"] else None
        self.flat_shapes = head_shapes(space) if "flatten" in r["head"] else ()
        self.heads_flat = [ElasticDense(width, space.num_outputs, h * w, name=f"head_{h}x{w}")
                           for h, w in self.flat_shapes]
        self.built = True

    @property
    def active(self) -> MobileNetSubnet:
        """The sub-network a call without `values` runs."""
        return self._active

    def call(self, x: Any, training: bool = False, values: Mapping[str, Any] | MobileNetSubnet | None = None) -> Any:
        net = self._active if values is None else self.resolve(values)
        x = self.stem_conv(x, kernel_size=net.stem_kernel, stride=net.stem_stride, filters=net.stem_filters)
        x = ops.relu(self.stem_bn(x, training=training))
        for block in net.blocks:
            x = self._block(block).run(x, block, training=training)
        channels = net.blocks[-1].filters
        if net.head == "gap":
            x = ops.mean(x, axis=(1, 2))
        else:
            x = ops.reshape(x, (-1, net.shape[0] * net.shape[1] * channels))
        return self._output(x, net, self.head(net), channels, training)

    def subnet_weights(self, values: Mapping[str, Any] | MobileNetSubnet) -> dict[str, list[np.ndarray]]:
        """The shared weights of a sub-network, sliced, by the layer names `MobileNetSpace.build` gives.

        Each entry is in the order of that layer's `get_weights()`, so
        `model.get_layer(name).set_weights(weights)` copies it in.
        """
        net = self.resolve(values)
        out = {
            "stem_conv": [self.stem_conv.sliced(net.stem_kernel, input_shape_of(self._space)[2], net.stem_filters)],
            "stem_bn": self.stem_bn.sliced(net.stem_filters),
        }
        for block in net.blocks:
            out.update(self._block(block).sliced(block))
        out["head"] = self.head(net).sliced(net.blocks[-1].filters)
        return {name: [ops.convert_to_numpy(w) for w in weights] for name, weights in out.items()}

    def batch_norms(self) -> list[ElasticBatchNorm]:
        return [self.stem_bn, *(norm for stage in self.stages for block in stage for norm in block.batch_norms())]

    def _block(self, block: StageBlock) -> ElasticBlock:
        return self.stages[block.stage - 1][block.index - 1]

    def head(self, net: MobileNetSubnet) -> ElasticDense:
        if net.head == "gap":
            assert self.head_gap is not None  # a sub-network has a "gap" head only where the space has one
            return self.head_gap
        return self.heads_flat[self.flat_shapes.index(net.shape)]
