"""Elastic layers: a convolution, batch norm and Dense head that run at any width (and kernel size) up to their own.

Each holds the largest choice of its elastic dimensions, Once-for-All style:
a narrower layer uses the first channels of the shared weights, a smaller
kernel the centre of the largest, a narrower batch norm the first entries of
gamma, beta and the moving statistics. `sliced` gives the weights a layer of
the space's own model takes (in the order of its `get_weights()`), so the
supernets and `tfnas.oneshot.extract` agree on what a sub-network is.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


class ElasticConv(keras.layers.Layer):
    """A "same"-padded N-D conv (or depthwise conv) without bias, run at any kernel size and width up to its own.

    Example:
        ```python
        dw = ElasticConv((5, 5), 32, 32, depthwise=True)
        y = dw(x, kernel_size=3, stride=(2, 2))  # the centre 3x3 taps of the first x.shape[-1] channels
        ```

    Args:
        kernel_size: The largest kernel size: an int (1-D) or one size per spatial axis.
        in_channels: The widest input.
        filters: The widest output (ignored when `depthwise`).
        depthwise: Whether the conv is depthwise (kernel (*k, in, 1)).
    """

    def __init__(
        self, kernel_size: int | tuple[int, ...], in_channels: int, filters: int, depthwise: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.depthwise = depthwise
        sizes = (kernel_size,) if isinstance(kernel_size, int) else tuple(kernel_size)
        shape = (*sizes, in_channels, 1 if depthwise else filters)
        self.kernel = self.add_weight(shape=shape, initializer="glorot_uniform", name="kernel")
        self.built = True

    def sliced(self, kernel_size: int | tuple[int, ...], in_channels: int, filters: int | None = None) -> Any:
        """The centre `kernel_size` taps (per axis; an int for every axis), first `in_channels` inputs and first
        `filters` outputs of the kernel."""
        largest = tuple(self.kernel.shape[:-2])
        sizes = (kernel_size,) * len(largest) if isinstance(kernel_size, int) else tuple(kernel_size)
        taps = tuple(slice((n - k) // 2, (n - k) // 2 + k) for n, k in zip(largest, sizes, strict=True))
        kernel = self.kernel[taps + (slice(None, in_channels),)]
        return kernel if self.depthwise else kernel[..., :filters]

    def call(self, x: Any, kernel_size: int | tuple[int, ...], stride: int | tuple[int, ...],
             filters: int | None = None) -> Any:
        kernel = self.sliced(kernel_size, x.shape[-1], filters)
        if self.depthwise:
            return ops.depthwise_conv(x, kernel, strides=stride, padding="same")
        return ops.conv(x, kernel, strides=stride, padding="same")


# The DS-CNN 1-D supernet's name for it (kernel (k, in, out)).
ElasticConv1D = ElasticConv


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

    With `length` set it is a head after Flatten over `length` positions (steps,
    or pixels of a 2-D map): its kernel is (length, channels, units), and a
    width keeps the first channels of every position, in Flatten's order.
    """

    def __init__(self, channels: int, units: int, length: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.length = length
        shape = (channels, units) if length is None else (length, channels, units)
        self.kernel = self.add_weight(shape=shape, initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(units,), initializer="zeros", name="bias")
        self.built = True

    def sliced(self, channels: int) -> list[Any]:
        """kernel and bias for `channels` input channels (per position), as a Keras Dense holds them."""
        if self.length is None:
            return [self.kernel[:channels], self.bias]
        return [ops.reshape(self.kernel[:, :channels], (self.length * channels, -1)), self.bias]

    def call(self, x: Any, channels: int) -> Any:
        kernel, bias = self.sliced(channels)
        return ops.add(ops.matmul(x, kernel), bias)
