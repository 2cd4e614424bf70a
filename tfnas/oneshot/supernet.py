"""Supernets: one Keras 3 model whose weights every sub-network of a space shares; `Supernet` for `DSCNN1DSpace`.

As in Once-for-All, a supernet holds the largest choice of every elastic
dimension (`tfnas.oneshot.elastic`): all of the deepest sub-network's blocks
(a shallower sub-network uses the first ones), the widest layers (a narrower
layer uses the first channels of the shared weights), the largest kernels (a
smaller kernel is the centre of the largest). Every BatchNormalization spans
the widest layer, and a narrower one uses the first entries of gamma, beta
and the moving statistics. Strides, pooling and residual Adds hold no
weights: they are switches. A sub-network is a dict of the space's own hp
values (see `tfnas.oneshot.subnet`); `tfnas.oneshot.extract` turns one into a
standalone model built by the space itself.

`BaseSupernet` is what every supernet shares (the space, the active
sub-network, the head); `Supernet` is the DS-CNN 1-D one, and
`tfnas.oneshot.mobilenet_supernet.MobileNetSupernet` the MobileNet family's.
`supernet_for(space)` builds the one a space's family uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
from keras import ops

from tfnas.errors import TfnasInputError
from tfnas.oneshot.elastic import ElasticBatchNorm
from tfnas.oneshot.elastic import ElasticConv1D
from tfnas.oneshot.elastic import ElasticDense
from tfnas.oneshot.family import BaseSubnet
from tfnas.oneshot.family import family_of
from tfnas.oneshot.subnet import Subnet
from tfnas.oneshot.subnet import head_lengths
from tfnas.oneshot.subnet import resolve
from tfnas.spaces import DSCNN1DSpace
from tfnas.spaces import EdgeSpace
from tfnas.task import Task

__all__ = ["BaseSupernet", "ElasticBatchNorm", "ElasticConv1D", "ElasticDense", "Supernet", "supernet_for"]


def supernet_for(space: EdgeSpace, name: str | None = None) -> BaseSupernet:
    """The supernet of a configured space: a `Supernet` for `DSCNN1DSpace`, a `MobileNetSupernet` for
    `MobileNetSpace` and `DSCNN2DSpace`.

    Example:
        ```python
        supernet = supernet_for(MobileNetSpace().configure((8, 8, 1), 10, "classification"))
        ```

    Raises:
        TfnasInputError: No supernet covers the space, or it is not configured.
    """
    return family_of(space).supernet(space, name=name)


class BaseSupernet(keras.Model):
    """What every supernet shares: its space, the active sub-network, resolving hp values, the head's activation.

    A subclass builds its elastic layers in `__init__` (after calling this
    one's), and implements `call(x, training, values)`, `subnet_weights`,
    `batch_norms` and `head`.

    Args:
        space: A configured space of the subclass's family.
        name: Model name. Defaults to "<space name>_supernet".
    """

    def __init__(self, space: EdgeSpace, name: str | None = None) -> None:
        super().__init__(name=name or f"{space.name}_supernet")
        self._space = space
        self.head_activation = keras.activations.get(Task(space.task).head_activation)
        self.dropout_seed = keras.random.SeedGenerator(0)
        self._active = resolve(space, {})

    @property
    def space(self) -> Any:
        """The space whose sub-networks this supernet holds."""
        return self._space

    @property
    def active(self) -> Any:
        """The sub-network a call without `values` runs."""
        return self._active

    def resolve(self, values: Mapping[str, Any] | BaseSubnet) -> Any:
        """The sub-network that hp values select (checked against the space; see `tfnas.oneshot.subnet.resolve`)."""
        return values if isinstance(values, BaseSubnet) else resolve(self._space, values)

    def activate(self, values: Mapping[str, Any] | BaseSubnet) -> Any:
        """Makes the sub-network of `values` the one later calls run; returns it resolved."""
        self._active = self.resolve(values)
        return self._active

    def subnet_weights(self, values: Mapping[str, Any] | BaseSubnet) -> dict[str, list[np.ndarray]]:
        """The shared weights of a sub-network, sliced, by the layer names the space's `build` gives.

        Each entry is in the order of that layer's `get_weights()`, so
        `model.get_layer(name).set_weights(weights)` copies it in.
        """
        raise NotImplementedError

    def batch_norms(self) -> list[ElasticBatchNorm]:
        """Every batch norm of the supernet (what validation re-estimates and then puts back)."""
        raise NotImplementedError

    def head(self, net: BaseSubnet) -> ElasticDense:
        """The classifier layer a sub-network ends with (one per input length or shape of a flattening head)."""
        raise NotImplementedError

    def _output(self, x: Any, net: BaseSubnet, head: ElasticDense, channels: int, training: bool) -> Any:
        """Dropout (in training, at the sub-network's rate), the head over `channels` features, its activation."""
        rate = net.values["dropout"]
        if training and rate > 0:
            x = keras.random.dropout(x, rate, seed=self.dropout_seed)
        return self.head_activation(head(x, channels=channels))


class Supernet(BaseSupernet):
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
        r = space.ranges
        kernel, stem, width = max(r["kernel_sizes"]), max(r["stem_filters"]), max(r["filters"])
        self.stem_conv = ElasticConv1D(kernel, space.input_shape[1], stem, name="stem_conv")
        self.stem_bn = ElasticBatchNorm(stem, name="stem_bn")
        self.blocks = []
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
        for block, (dw, dw_bn, pw, pw_bn) in zip(net.blocks, self.blocks):
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
            "stem_conv": [self.stem_conv.sliced(net.stem_kernel, self._space.input_shape[1], net.stem_filters)],
            "stem_bn": self.stem_bn.sliced(net.stem_filters),
        }
        channels = net.stem_filters
        for i, (block, (dw, dw_bn, pw, pw_bn)) in enumerate(zip(net.blocks, self.blocks), start=1):
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
            return self.head_gap
        return self.heads_flat[self.flat_lengths.index(net.length)]
