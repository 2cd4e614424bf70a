"""`MobileNetSupernet`: the weight-sharing supernet of a `MobileNetSpace` or `DSCNN2DSpace`.

It holds `max(num_stages)` stages of `max(blocks)` blocks (a shallower
sub-network uses the first stages, and the first blocks of each), each block
at its widest: the widest input, the largest expansion (the expand conv's
`in_channels * expansion` outputs are the first of its widest), the largest
depthwise kernel (a smaller one is the centre) and the widest projection.
Expansion 1 skips the expand conv and runs the same depthwise and projection
weights on the block's input, with a ReLU after the projection (the space's
depthwise-separable block); above 1 the projection stays linear. Strides and
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
from tfnas.oneshot.elastic import ElasticBatchNorm
from tfnas.oneshot.elastic import ElasticConv
from tfnas.oneshot.elastic import ElasticDense
from tfnas.oneshot.mobilenet import MobileNetSubnet
from tfnas.oneshot.mobilenet import StageBlock
from tfnas.oneshot.mobilenet import head_shapes
from tfnas.oneshot.mobilenet import stem
from tfnas.oneshot.supernet import BaseSupernet
from tfnas.spaces import MobileNetSpace


class ElasticBlock(keras.layers.Layer):
    """One block's shared layers at their widest: expand (when an expansion above 1 exists), depthwise, project.

    Args:
        in_channels: The widest input.
        filters: The widest output.
        kernel: The largest depthwise kernel size.
        expansion: The largest expansion.
        name: The block's prefix in the space's model ("s1b2").
    """

    def __init__(self, in_channels: int, filters: int, kernel: int, expansion: int, name: str) -> None:
        super().__init__(name=name)
        hidden = in_channels * expansion
        self.expand = ElasticConv((1, 1), in_channels, hidden, name=f"{name}_expand") if expansion > 1 else None
        self.expand_bn = ElasticBatchNorm(hidden, name=f"{name}_expand_bn") if expansion > 1 else None
        self.dw = ElasticConv((kernel, kernel), hidden, hidden, depthwise=True, name=f"{name}_dw")
        self.dw_bn = ElasticBatchNorm(hidden, name=f"{name}_dw_bn")
        self.project = ElasticConv((1, 1), hidden, filters, name=f"{name}_project")
        self.project_bn = ElasticBatchNorm(filters, name=f"{name}_project_bn")
        self.built = True

    def run(self, x: Any, block: StageBlock, training: bool = False) -> Any:
        """The block's output for input `x` (`block.in_channels` wide), as the space's `_block` computes it."""
        shortcut = x
        if block.expansion > 1:
            x = self.expand(x, kernel_size=1, stride=1, filters=block.in_channels * block.expansion)
            x = ops.relu(self.expand_bn(x, training=training))
        # As the space: TensorFlow's depthwise conv needs equal strides, and a clamped axis is 1 pixel wide.
        stride = (max(block.stride),) * 2
        x = ops.relu(self.dw_bn(self.dw(x, kernel_size=block.kernel, stride=stride), training=training))
        x = self.project_bn(self.project(x, kernel_size=1, stride=1, filters=block.filters), training=training)
        if block.expansion == 1:
            x = ops.relu(x)
        return ops.add(shortcut, x) if block.add else x

    def sliced(self, block: StageBlock) -> dict[str, list[Any]]:
        """The block's weights, sliced, by the layer names the space's `_block` gives."""
        name, hidden = block.name, block.in_channels * block.expansion
        out = {}
        if block.expansion > 1:
            out[f"{name}_expand"] = [self.expand.sliced(1, block.in_channels, hidden)]
            out[f"{name}_expand_bn"] = self.expand_bn.sliced(hidden)
        out[f"{name}_dw"] = [self.dw.sliced(block.kernel, hidden)]
        out[f"{name}_dw_bn"] = self.dw_bn.sliced(hidden)
        out[f"{name}_project"] = [self.project.sliced(1, hidden, block.filters)]
        out[f"{name}_project_bn"] = self.project_bn.sliced(block.filters)
        return out

    def batch_norms(self) -> list[ElasticBatchNorm]:
        return [norm for norm in (self.expand_bn, self.dw_bn, self.project_bn) if norm is not None]


class MobileNetSupernet(BaseSupernet):
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
        r = space.ranges
        stem_kernel = stem(space, min(r["stem_strides"]))[0]  # (the stem's kernel is fixed)
        stem_width, width = max(r["stem_filters"]), max(r["filters"])
        self.stem_conv = ElasticConv(stem_kernel, space.input_shape[2], stem_width, name="stem_conv")
        self.stem_bn = ElasticBatchNorm(stem_width, name="stem_bn")
        self.stages = [
            [
                ElasticBlock(stem_width if (i, b) == (1, 1) else width, width, max(r["kernel_sizes"]),
                             max(r["expansions"]), f"s{i}b{b}")
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
        return self._output(x, net, self._head(net), channels, training)

    def subnet_weights(self, values: Mapping[str, Any] | MobileNetSubnet) -> dict[str, list[np.ndarray]]:
        """The shared weights of a sub-network, sliced, by the layer names `MobileNetSpace.build` gives.

        Each entry is in the order of that layer's `get_weights()`, so
        `model.get_layer(name).set_weights(weights)` copies it in.
        """
        net = self.resolve(values)
        out = {
            "stem_conv": [self.stem_conv.sliced(net.stem_kernel, self._space.input_shape[2], net.stem_filters)],
            "stem_bn": self.stem_bn.sliced(net.stem_filters),
        }
        for block in net.blocks:
            out.update(self._block(block).sliced(block))
        out["head"] = self._head(net).sliced(net.blocks[-1].filters)
        return {name: [ops.convert_to_numpy(w) for w in weights] for name, weights in out.items()}

    def batch_norms(self) -> list[ElasticBatchNorm]:
        return [self.stem_bn, *(norm for stage in self.stages for block in stage for norm in block.batch_norms())]

    def _block(self, block: StageBlock) -> ElasticBlock:
        return self.stages[block.stage - 1][block.index - 1]

    def _head(self, net: MobileNetSubnet) -> ElasticDense:
        if net.head == "gap":
            return self.head_gap
        return self.heads_flat[self.flat_shapes.index(net.shape)]
