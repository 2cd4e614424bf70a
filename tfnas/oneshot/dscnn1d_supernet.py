"""`Supernet`: the weight-sharing supernet of a `DSCNN1DSpace` (the DS-CNN 1-D family, `tfnas.oneshot.dscnn1d`).

It holds `max(num_blocks)` depthwise-separable blocks at their widest, the
largest kernels, and a head per input length a flattening head can see;
strides, pooling and residual Adds are switches (`tfnas.oneshot.dscnn1d`
resolves them exactly as the space does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from keras import ops

from tfnas.errors import TfnasInputError
from tfnas.oneshot.base_supernet import BaseSupernet
from tfnas.oneshot.dscnn1d import Subnet
from tfnas.oneshot.dscnn1d import head_lengths
from tfnas.oneshot.elastic import ElasticBatchNorm
from tfnas.oneshot.elastic import ElasticConv1D
from tfnas.oneshot.elastic import ElasticDense
from tfnas.oneshot.family import input_shape_of
from tfnas.spaces import DSCNN1DSpace

__all__ = ["Supernet"]


class Supernet(BaseSupernet[Subnet]):
    """The weight-sharing supernet of a configured `DSCNN1DSpace` (Once-for-All style).

    Example:
        ```python
        space = DSCNN1DSpace().configure((40, 1), 10, "classification")
        supernet = Supernet(space)
        y = supernet(x, values={"num_blocks": 2, "block1_filters": 16})
        supernet.activate({"stem_kernel": 3})
        y = supernet(x)
        ```

    Args:
        space: A configured `DSCNN1DSpace`.
        name: Model name. Defaults to "<space name>_supernet".

    Raises:
        TfnasInputError: `space` is not a configured `DSCNN1DSpace`.
    """

    def __init__(self, space: DSCNN1DSpace, name: str | None = None) -> None:
        if not isinstance(space, DSCNN1DSpace) or not space.configured:
            raise TfnasInputError(
                f"Supernet takes a configured DSCNN1DSpace (space.configure(input_shape, num_outputs, task)); "
                f"received: {space!r}."
            )
        super().__init__(space, name)
        assert space.input_shape is not None and space.num_outputs is not None  # configured: checked above
        r = space.ranges
        kernel, stem, width = max(r["kernel_sizes"]), max(r["stem_filters"]), max(r["filters"])
        self.stem_conv = ElasticConv1D(kernel, space.input_shape[1], stem, name="stem_conv")
        self.stem_bn = ElasticBatchNorm(stem, name="stem_bn")
        self.blocks: list[list[Any]] = []  # per block: depthwise conv, its norm, pointwise conv, its norm
        for i in range(1, max(r["num_blocks"]) + 1):
            cin = stem if i == 1 else width
            self.blocks.append(
                [
                    ElasticConv1D(kernel, cin, cin, depthwise=True, name=f"b{i}_dw"),
                    ElasticBatchNorm(cin, name=f"b{i}_dw_bn"),
                    ElasticConv1D(1, cin, width, name=f"b{i}_pw"),
                    ElasticBatchNorm(width, name=f"b{i}_pw_bn"),
                ]
            )
        self.head_gap = ElasticDense(width, space.num_outputs, name="head") if "gap" in r["head"] else None
        self.flat_lengths = head_lengths(space) if "flatten" in r["head"] else ()
        self.heads_flat = [ElasticDense(width, space.num_outputs, n, name=f"head_{n}") for n in self.flat_lengths]
        self.built = True

    @property
    def space(self) -> DSCNN1DSpace:
        """The space whose sub-networks this supernet holds."""
        return self._space

    @property
    def active(self) -> Subnet:
        """The sub-network a call without `values` runs."""
        return self._active

    def call(self, x: Any, training: bool = False, values: Mapping[str, Any] | Subnet | None = None) -> Any:
        net = self._active if values is None else self.resolve(values)
        x = self.stem_conv(x, kernel_size=net.stem_kernel, stride=net.stem_stride, filters=net.stem_filters)
        x = ops.relu(self.stem_bn(x, training=training))
        if net.pooling != "none":
            pool = ops.max_pool if net.pooling == "max" else ops.average_pool
            x = pool(x, 2, strides=2, padding="same")
        for block, (dw, dw_bn, pw, pw_bn) in zip(net.blocks, self.blocks, strict=False):
            shortcut = x
            x = ops.relu(dw_bn(dw(x, kernel_size=block.kernel, stride=block.stride), training=training))
            x = ops.relu(pw_bn(pw(x, kernel_size=1, stride=1, filters=block.filters), training=training))
            if block.add:
                x = ops.add(shortcut, x)
        x = ops.mean(x, axis=1) if net.head == "gap" else ops.reshape(x, (-1, net.length * x.shape[-1]))
        return self._output(x, net, self.head(net), net.blocks[-1].filters, training)

    def subnet_weights(self, values: Mapping[str, Any] | Subnet) -> dict[str, list[np.ndarray]]:
        """The shared weights of a sub-network, sliced, by the layer names `DSCNN1DSpace.build` gives.

        Each entry is in the order of that layer's `get_weights()`, so
        `model.get_layer(name).set_weights(weights)` copies it in.
        """
        net = self.resolve(values)
        out = {
            "stem_conv": [self.stem_conv.sliced(net.stem_kernel, input_shape_of(self._space)[1], net.stem_filters)],
            "stem_bn": self.stem_bn.sliced(net.stem_filters),
        }
        channels = net.stem_filters
        for i, (block, (dw, dw_bn, pw, pw_bn)) in enumerate(zip(net.blocks, self.blocks, strict=False), start=1):
            out[f"b{i}_dw"] = [dw.sliced(block.kernel, channels)]
            out[f"b{i}_dw_bn"] = dw_bn.sliced(channels)
            out[f"b{i}_pw"] = [pw.sliced(1, channels, block.filters)]
            out[f"b{i}_pw_bn"] = pw_bn.sliced(block.filters)
            channels = block.filters
        out["head"] = self.head(net).sliced(channels)
        return {name: [ops.convert_to_numpy(w) for w in weights] for name, weights in out.items()}

    def batch_norms(self) -> list[ElasticBatchNorm]:
        return [self.stem_bn, *(layer for block in self.blocks for layer in (block[1], block[3]))]

    def head(self, net: Subnet) -> ElasticDense:
        if net.head == "gap":
            assert self.head_gap is not None  # a sub-network has a "gap" head only where the space has one
            return self.head_gap
        return self.heads_flat[self.flat_lengths.index(net.length)]
