"""`BaseSupernet`: what every supernet shares, whichever family's sub-networks it holds.

A family's supernet (`tfnas.oneshot.dscnn1d_supernet.Supernet`,
`tfnas.oneshot.mobilenet_supernet.MobileNetSupernet`) subclasses it; the
table from family to supernet is `tfnas.oneshot.supernet.SUPERNETS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from typing import Generic
from typing import TypeVar
from typing import cast

import keras
import numpy as np

from tfnas.oneshot.elastic import ElasticBatchNorm
from tfnas.oneshot.elastic import ElasticDense
from tfnas.oneshot.family import BaseSubnet
from tfnas.oneshot.subnet import resolve
from tfnas.spaces import EdgeSpace
from tfnas.task import Task

__all__ = ["BaseSupernet"]

# The sub-network type of a supernet's family (`tfnas.oneshot.dscnn1d.Subnet`, ...).
SubnetT = TypeVar("SubnetT", bound=BaseSubnet)


class BaseSupernet(keras.Model, Generic[SubnetT]):
    """What every supernet shares: its space, the active sub-network, resolving hp values, the head's activation.

    A subclass (`BaseSupernet[ItsSubnet]`) builds its elastic layers in
    `__init__` (after calling this one's), and implements
    `call(x, training, values)`, `subnet_weights`, `batch_norms` and `head`.

    Args:
        space: A configured space of the subclass's family.
        name: Model name. Defaults to "<space name>_supernet".
    """

    def __init__(self, space: EdgeSpace, name: str | None = None) -> None:
        super().__init__(name=name or f"{space.name}_supernet")
        self._space = space
        self.head_activation = keras.activations.get(Task(space.task).head_activation)
        self.dropout_seed = keras.random.SeedGenerator(0)
        self._active = self.resolve({})

    @property
    def space(self) -> Any:
        """The space whose sub-networks this supernet holds."""
        return self._space

    @property
    def active(self) -> SubnetT:
        """The sub-network a call without `values` runs."""
        return self._active

    def resolve(self, values: Mapping[str, Any] | SubnetT) -> SubnetT:
        """The sub-network that hp values select (checked against the space; see `tfnas.oneshot.subnet.resolve`)."""
        if isinstance(values, BaseSubnet):
            return values
        # The space's family resolves it, so it is the family's sub-network type.
        return cast(SubnetT, resolve(self._space, values))

    def activate(self, values: Mapping[str, Any] | SubnetT) -> SubnetT:
        """Makes the sub-network of `values` the one later calls run; returns it resolved."""
        self._active = self.resolve(values)
        return self._active

    def subnet_weights(self, values: Mapping[str, Any] | SubnetT) -> dict[str, list[np.ndarray]]:
        """The shared weights of a sub-network, sliced, by the layer names the space's `build` gives.

        Each entry is in the order of that layer's `get_weights()`, so
        `model.get_layer(name).set_weights(weights)` copies it in.
        """
        raise NotImplementedError

    def batch_norms(self) -> list[ElasticBatchNorm]:
        """Every batch norm of the supernet (what validation re-estimates and then puts back)."""
        raise NotImplementedError

    def head(self, net: SubnetT) -> ElasticDense:
        """The classifier layer a sub-network ends with (one per input length or shape of a flattening head)."""
        raise NotImplementedError

    def _output(self, x: Any, net: BaseSubnet, head: ElasticDense, channels: int, training: bool) -> Any:
        """Dropout (in training, at the sub-network's rate), the head over `channels` features, its activation."""
        rate = net.values["dropout"]
        if training and rate > 0:
            x = keras.random.dropout(x, rate, seed=self.dropout_seed)
        return self.head_activation(head(x, channels=channels))
