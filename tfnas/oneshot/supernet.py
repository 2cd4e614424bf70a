"""`Supernet`: one Keras 3 model whose weights every sub-network of a `DSCNN1DSpace` shares.

As in Once-for-All, the supernet holds the largest choice of every elastic
dimension: all `max(num_blocks)` blocks (a shallower sub-network uses the
first ones), the widest stem and blocks (a narrower layer uses the first
channels of the shared weights), the largest kernels (a smaller kernel is
the centre of the largest). Every BatchNormalization spans the widest layer,
and a narrower one uses the first entries of gamma, beta and the moving
statistics. Strides, pooling and residual Adds hold no weights: they are
switches. A sub-network is a dict of the space's own hp values (see
`tfnas.oneshot.subnet`); `tfnas.oneshot.extract` turns one into a standalone
model built by the space itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
from keras import ops

from tfnas.errors import TfnasInputError
from tfnas.oneshot.subnet import Subnet
from tfnas.oneshot.subnet import head_lengths
from tfnas.oneshot.subnet import resolve
from tfnas.spaces import DSCNN1DSpace
from tfnas.task import Task


class ElasticConv1D(keras.layers.Layer):
    """A "same"-padded Conv1D (or DepthwiseConv1D) without bias, run at any kernel size and width up to its own.

    Args:
        kernel_size: The largest kernel size.
        in_channels: The widest input.
        filters: The widest output (ignored when `depthwise`).
        depthwise: Whether the conv is depthwise (kernel (k, in, 1)).
    """

    def __init__(self, kernel_size: int, in_channels: int, filters: int, depthwise: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.depthwise = depthwise
        shape = (kernel_size, in_channels, 1 if depthwise else filters)
        self.kernel = self.add_weight(shape=shape, initializer="glorot_uniform", name="kernel")
        self.built = True

    def sliced(self, kernel_size: int, in_channels: int, filters: int | None = None) -> Any:
        """The centre `kernel_size` taps, first `in_channels` inputs and first `filters` outputs of the kernel."""
        start = (self.kernel.shape[0] - kernel_size) // 2
        kernel = self.kernel[start : start + kernel_size, :in_channels, :]
        return kernel if self.depthwise else kernel[:, :, :filters]

    def call(self, x: Any, kernel_size: int, stride: int, filters: int | None = None) -> Any:
        kernel = self.sliced(kernel_size, x.shape[-1], filters)
        if self.depthwise:
            return ops.depthwise_conv(x, kernel, strides=stride, padding="same")
        return ops.conv(x, kernel, strides=stride, padding="same")


class ElasticBatchNorm(keras.layers.Layer):
    """BatchNormalization over the widest layer; a narrower input uses the first entries of every statistic.

    In training mode it normalizes with the batch statistics and updates only
    the moving statistics of the active channels (momentum 0.9, as the
    spaces' `conv_bn_relu`).
    """

    def __init__(self, channels: int, momentum: float = 0.9, epsilon: float = 1e-3, **kwargs: Any):
        super().__init__(**kwargs)
        self.momentum, self.epsilon = momentum, epsilon
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(shape=(channels,), initializer="zeros", name="moving_mean", trainable=False)
        self.moving_variance = self.add_weight(
            shape=(channels,), initializer="ones", name="moving_variance", trainable=False
        )
        self.built = True

    def sliced(self, channels: int) -> list[Any]:
        """gamma, beta, moving mean and moving variance of the first `channels` channels (Keras's order)."""
        return [w[:channels] for w in (self.gamma, self.beta, self.moving_mean, self.moving_variance)]

    def call(self, x: Any, training: bool = False) -> Any:
        c = x.shape[-1]
        gamma, beta, mean, variance = self.sliced(c)
        if training:
            mean, variance = ops.moments(x, axes=list(range(len(x.shape) - 1)))
            for stat, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
                updated = stat[:c] * self.momentum + batch * (1.0 - self.momentum)
                stat.assign(ops.concatenate([updated, stat[c:]]))
        return ops.batch_normalization(x, mean, variance, axis=-1, offset=beta, scale=gamma, epsilon=self.epsilon)


class ElasticDense(keras.layers.Layer):
    """The Dense head over the widest features; a narrower input uses the first rows of the kernel.

    With `length` set it is a head after Flatten over `length` steps: its
    kernel is (length, channels, units), and a width keeps the first channels
    of every step, in Flatten's order.
    """

    def __init__(self, channels: int, units: int, length: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.length = length
        shape = (channels, units) if length is None else (length, channels, units)
        self.kernel = self.add_weight(shape=shape, initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(units,), initializer="zeros", name="bias")
        self.built = True

    def sliced(self, channels: int) -> list[Any]:
        """kernel and bias for `channels` input channels (per step), as a Keras Dense holds them."""
        if self.length is None:
            return [self.kernel[:channels], self.bias]
        return [ops.reshape(self.kernel[:, :channels], (self.length * channels, -1)), self.bias]

    def call(self, x: Any, channels: int) -> Any:
        kernel, bias = self.sliced(channels)
        return ops.add(ops.matmul(x, kernel), bias)


class Supernet(keras.Model):
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
        super().__init__(name=name or f"{space.name}_supernet")
        self._space = space
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
        self._activation = keras.activations.get(Task(space.task).head_activation)
        self._dropout_seed = keras.random.SeedGenerator(0)
        self._active = resolve(space, {})
        self.built = True

    @property
    def space(self) -> DSCNN1DSpace:
        """The space whose sub-networks this supernet holds."""
        return self._space

    @property
    def active(self) -> Subnet:
        """The sub-network a call without `values` runs."""
        return self._active

    def resolve(self, values: Mapping[str, Any] | Subnet) -> Subnet:
        """The `Subnet` that hp values select (checked against the space; see `tfnas.oneshot.subnet.resolve`)."""
        return values if isinstance(values, Subnet) else resolve(self._space, values)

    def activate(self, values: Mapping[str, Any] | Subnet) -> Subnet:
        """Makes the sub-network of `values` the one later calls run; returns it resolved."""
        self._active = self.resolve(values)
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
        rate = net.values["dropout"]
        if training and rate > 0:
            x = keras.random.dropout(x, rate, seed=self._dropout_seed)
        return self._activation(self._head(net)(x, channels=net.blocks[-1].filters))

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
        out["head"] = self._head(net).sliced(channels)
        return {name: [ops.convert_to_numpy(w) for w in weights] for name, weights in out.items()}

    def _head(self, net: Subnet) -> ElasticDense:
        if net.head == "gap":
            return self.head_gap
        return self.heads_flat[self.flat_lengths.index(net.length)]
