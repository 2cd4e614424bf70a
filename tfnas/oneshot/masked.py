"""A compiled sandwich step: in a fixed frame, every sub-network is the largest with channel, tap and depth masks.

`Supernet.call` slices the shared weights for the sub-network it runs, so
each sub-network is another graph and a training step runs eagerly, op by
op, from Python. Once the frame is fixed (one stem stride, one pooling, one
block stride, one head: `tfnas.oneshot.frame`), every sub-network has the
largest's shapes, and what tells them apart can be tensors instead:

- a width is a 0/1 mask over the widest layer's channels, applied after each
  ReLU (and to the batch-norm statistics it updates);
- a block's kernel size is a 0/1 mask over the taps of the largest kernel:
  with "same" padding, a kernel whose outer taps are zero computes exactly
  what its centre does, as long as the padding is not clipped at zero
  (checked by `compilable`); the stem runs each kernel size and keeps one;
- depth is a 0/1 gate per block that passes its input through unchanged;
- a residual Add is a 0/1 factor on the shortcut.

So one `tf.function` trains any sub-networks, and `CompiledSandwich` runs a
whole sandwich step (the largest, then the students, then one optimizer
update) as one graph, traced once. It computes what `sandwich_step` does
within float tolerance (a test checks the updated weights); masked channels
cost compute (every sub-network runs at the largest's width), but graph
execution is still several times faster than eager slicing on a CPU.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfnas.oneshot.dscnn1d_supernet import Supernet
from tfnas.oneshot.elastic import ElasticBatchNorm
from tfnas.oneshot.family import input_shape_of
from tfnas.oneshot.family import num_outputs_of
from tfnas.oneshot.sandwich import largest
from tfnas.oneshot.sandwich import loss
from tfnas.oneshot.sandwich import targets
from tfnas.oneshot.subnet import Subnet
from tfnas.spaces.blocks import clamp_stride
from tfnas.spaces.blocks import same_out
from tfnas.task import Task

Masks = dict[str, np.ndarray]


def compilable(supernet: Any) -> bool:
    """Whether every sub-network of `supernet` can run as the masked largest (a fixed frame, unclipped padding).

    Only a DS-CNN 1-D `Supernet` can here (False for any other supernet:
    `tfnas.oneshot.compiled.compilable` covers the MobileNet family too). That
    needs one stem stride, one pooling, one block stride and one head;
    blocks a shallower sub-network drops must keep the length (stride 1);
    kernel sizes must differ from the largest by even numbers of taps, and
    no strided block's "same" padding may be clipped at zero for the
    smallest kernel (then the centre of the largest would see other samples;
    the stem, whose input is narrow, runs each kernel size as its own conv).
    """
    if not isinstance(supernet, Supernet):
        return False
    r = supernet.space.ranges
    if any(len(r[name]) != 1 for name in ("stem_strides", "pooling", "strides", "head")):
        return False
    kernels = r["kernel_sizes"]
    if any((max(kernels) - k) % 2 for k in kernels):
        return False
    length = input_shape_of(supernet.space)[0]
    length = same_out(length, clamp_stride(r["stem_strides"][0], length))  # (the stem runs each kernel size apart)
    if r["pooling"][0] != "none" and length >= 2:
        length = same_out(length, 2)
    for i in range(1, max(r["num_blocks"]) + 1):
        stride = clamp_stride(r["strides"][0], length)
        if (i > min(r["num_blocks"]) and stride != 1) or not _unclipped(length, stride, min(kernels)):
            return False
        length = same_out(length, stride)
    return True


def _unclipped(length: int, stride: int, kernel: int) -> bool:
    """Whether "same" padding of a `kernel`-tap conv at `stride` over `length` steps is at least zero."""
    return stride == 1 or (same_out(length, stride) - 1) * stride + kernel - length >= 0


def subnet_masks(supernet: Supernet, values: Mapping[str, Any] | Subnet) -> Masks:
    """The masks that make the largest sub-network compute `values`'s (float32 arrays, fixed shapes).

    Keys: `stem_kernel` (one-hot over the kernel sizes), `stem_channels` (stem width,), `block_active`
    (B,), `block_taps` (B, K), `block_channels` (B, widest), `block_add` (B,)
    and `dropout` (): K is the largest kernel and B the most blocks.
    """
    net = supernet.resolve(values)
    r = supernet.space.ranges
    size, depth, width = max(r["kernel_sizes"]), max(r["num_blocks"]), max(r["filters"])
    masks = {
        "stem_kernel": np.array([float(k == net.stem_kernel) for k in r["kernel_sizes"]], np.float32),
        "stem_channels": channel_mask(max(r["stem_filters"]), net.stem_filters),
        "block_active": np.zeros(depth, np.float32),
        "block_taps": np.zeros((depth, size), np.float32),
        "block_channels": np.zeros((depth, width), np.float32),
        "block_add": np.zeros(depth, np.float32),
        "dropout": np.float32(net.values["dropout"]),
    }
    for i, block in enumerate(net.blocks):
        masks["block_active"][i] = 1.0
        masks["block_taps"][i] = tap_mask(size, block.kernel)
        masks["block_channels"][i] = channel_mask(width, block.filters)
        masks["block_add"][i] = float(block.add)
    return masks


def tap_mask(size: int, kernel: int) -> np.ndarray:
    """1 on the centre `kernel` of `size` taps, 0 elsewhere."""
    start = (size - kernel) // 2
    out = np.zeros(size, np.float32)
    out[start : start + kernel] = 1.0
    return out


def channel_mask(size: int, count: int) -> np.ndarray:
    """1 on the first `count` of `size` channels, 0 elsewhere."""
    out = np.zeros(size, np.float32)
    out[:count] = 1.0
    return out


def masked_call(
    supernet: Supernet, x: Any, masks: Mapping[str, Any], training: bool = False, seed: Any = None, moving: bool = True,
) -> Any:
    """The supernet's output for the sub-network `masks` select (see `subnet_masks`): `supernet(x, values=...)`'s.

    Args:
        supernet: A supernet for which `compilable` holds.
        x: A batch of inputs.
        masks: The sub-network's masks, as arrays or tensors.
        training: Training mode: batch statistics, moving statistics of the
            active channels updated, dropout at the mask's rate.
        seed: A `keras.random.SeedGenerator` for dropout. Defaults to the supernet's.
        moving: Whether training mode moves the moving statistics. Defaults to True.
    """
    net = supernet.resolve(largest(supernet.space))
    kernels, inputs = supernet.space.ranges["kernel_sizes"], x.shape[-1]
    x = sum(masks["stem_kernel"][j] * ops.conv(x, supernet.stem_conv.sliced(k, inputs, supernet.stem_conv.kernel.shape[-1]),
                                                strides=net.stem_stride, padding="same")
            for j, k in enumerate(kernels))
    channels = masks["stem_channels"]
    x = ops.relu(masked_norm(supernet.stem_bn, x, channels, training, moving=moving)) * channels
    if net.pooling != "none":
        pool = ops.max_pool if net.pooling == "max" else ops.average_pool
        x = pool(x, 2, strides=2, padding="same")
    for i, (block, (dw, dw_bn, pw, pw_bn)) in enumerate(zip(net.blocks, supernet.blocks, strict=False)):
        active = masks["block_active"][i]  # 1 for the first block: `resolve` refuses num_blocks < 1
        taps = ops.reshape(masks["block_taps"][i], (-1, 1, 1))
        h = ops.depthwise_conv(x, dw.kernel * taps, strides=block.stride, padding="same")
        h = ops.relu(masked_norm(dw_bn, h, channels, training, active, moving)) * channels
        out = masks["block_channels"][i]
        h = ops.conv(h, pw.kernel, strides=1, padding="same")
        h = ops.relu(masked_norm(pw_bn, h, out, training, active, moving)) * out
        h = h + masks["block_add"][i] * widen(x, out.shape[-1])
        if i == 0:  # the first block can change the width (stem -> blocks); it is always active
            x, channels = h, out
        else:
            x, channels = active * h + (1.0 - active) * x, active * out + (1.0 - active) * channels
    x = ops.mean(x, axis=1) if net.head == "gap" else ops.reshape(x, (-1, net.length * x.shape[-1]))
    if training:
        keep = ops.cast(keras.random.uniform(ops.shape(x), seed=seed or supernet.dropout_seed) >= masks["dropout"], x.dtype)
        x = x * keep / (1.0 - masks["dropout"])
    head = supernet.head(net)
    kernel = head.kernel if head.length is None else ops.reshape(head.kernel, (-1, head.kernel.shape[-1]))
    return supernet.head_activation(ops.add(ops.matmul(x, kernel), head.bias))


def widen(x: Any, channels: int) -> Any:
    """`x` cut or zero-padded to `channels` channels (a shortcut from the stem, whose widest layer may differ)."""
    have = x.shape[-1]
    if have == channels:
        return x
    if have > channels:
        return x[..., :channels]
    return ops.pad(x, [[0, 0]] * (len(x.shape) - 1) + [[0, channels - have]])


def masked_norm(
    layer: ElasticBatchNorm, x: Any, mask: Any, training: bool, active: Any = 1.0, moving: bool = True
) -> Any:
    """`layer` over the widest channels; in training, only the moving statistics of `mask`'s channels move (if `active`)."""
    if training:
        mean, variance = ops.moments(x, axes=list(range(len(x.shape) - 1)))
        moves = mask * active
        for stat, batch in ((layer.moving_mean, mean), (layer.moving_variance, variance)) if moving else ():
            updated = stat * layer.momentum + batch * (1.0 - layer.momentum)
            stat.assign(moves * updated + (1.0 - moves) * stat)
    else:
        mean, variance = layer.moving_mean, layer.moving_variance
    return ops.batch_normalization(x, mean, variance, axis=-1, offset=layer.beta, scale=layer.gamma,
                                   epsilon=layer.epsilon)


def subnet_step(supernet: Supernet, optimizer: keras.optimizers.Optimizer) -> Any:
    """A compiled step that trains one sub-network alone: `step(x, y, masks) -> loss`, one graph for every sub-network.

    The loss is on the labels; `optimizer` (built on the supernet's trainable
    variables) updates the weights the sub-network uses. `tfnas.oneshot.dnas`
    trains its drawn sub-networks with it; a fine-tuning proxy can too.
    """
    task = Task(supernet.space.task)
    classes = num_outputs_of(supernet.space)

    @tf.function(autograph=False)
    def step(x: Any, y: Any, masks: Mapping[str, Any]) -> Any:
        variables = supernet.trainable_variables
        with tf.GradientTape() as tape:
            value = loss(task, targets(task, y, classes), masked_call(supernet, x, masks, training=True), 0.0)
        pairs = [(g, v) for g, v in zip(tape.gradient(value, variables), variables, strict=True) if g is not None]
        optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
        return value

    return step


class CompiledSandwich:
    """`sandwich_step` as one TensorFlow graph: the largest, `students` and one optimizer update, traced once.

    Example:
        ```python
        step = CompiledSandwich(supernet, optimizer, students=3)
        logs = step(x_batch, y_batch, [smallest(space), random_subnet(space, rng), random_subnet(space, rng)])
        ```

    Args:
        supernet: A supernet for which `compilable` holds.
        optimizer: A Keras 3 optimizer built on the supernet's trainable variables.
        students: How many sub-networks besides the largest each step trains (fixed: it is part of the graph).
        label_smoothing: Label smoothing of the largest's cross-entropy. Defaults to 0.
        distill: Whether students learn from the largest's outputs (True) or from the labels. Defaults to True.
    """

    def __init__(
        self, supernet: Supernet, optimizer: keras.optimizers.Optimizer, students: int,
        label_smoothing: float = 0.0, distill: bool = True,
    ) -> None:
        self.supernet, self.optimizer, self.students = supernet, optimizer, students
        self.smoothing, self.distill = label_smoothing, distill
        self._teacher = self._masks(largest(supernet.space))
        self._step = tf.function(self._graph, autograph=False)

    def _masks(self, values: Mapping[str, Any] | Subnet) -> Masks:
        """A sub-network's masks (a subclass for another family overrides it, with `_call`)."""
        return subnet_masks(self.supernet, values)

    def _call(self, x: Any, masks: Mapping[str, Any]) -> Any:
        """The supernet's training-mode output for the sub-network `masks` select."""
        return masked_call(self.supernet, x, masks, training=True)

    def _apply(self, grads: Sequence[Any], variables: Sequence[Any], masks: Mapping[str, Any]) -> None:
        """The optimizer update (`masks`: every sub-network's, stacked; a subclass may use them)."""
        self.optimizer.apply(list(grads), list(variables))

    def __call__(self, x: Any, y: Any, students: Sequence[Mapping[str, Any] | Subnet]) -> dict[str, float]:
        """One update; returns the logs `sandwich_step` does."""
        if len(students) != self.students:
            raise ValueError(f"this step trains {self.students} students; received {len(students)}.")
        masks = [self._teacher, *(self._masks(values) for values in students)]
        stacked = {key: np.stack([m[key] for m in masks]) for key in self._teacher}
        losses, label_loss = self._step(ops.convert_to_tensor(x, "float32"), ops.convert_to_tensor(y), stacked)
        losses = [float(value) for value in losses]
        logs = {"loss_largest": losses[0]}
        if self.students:
            logs["loss_smallest"] = losses[1]
            logs["label_loss_smallest"] = float(label_loss)
        if self.students > 1:
            logs["loss_random"] = float(np.mean(losses[2:]))
        return logs

    def _graph(self, x: Any, y: Any, masks: Mapping[str, Any]) -> tuple[Any, Any]:
        """The step: each sub-network's forward and backward in turn, gradients summed, then one update.

        One sub-network's activations at a time: the next one's forward
        waits for the previous one's gradients (a control dependency), so
        they are freed before it runs. Under one tape for all of them, a
        96x96x3 step held every sub-network's activations at the largest's
        widths at once (peak RSS about 0.5 GB higher). The sum of the
        gradients is the gradient of the summed losses.
        """
        task = Task(self.supernet.space.task)
        target = targets(task, y, num_outputs_of(self.supernet.space))
        variables = self.supernet.trainable_variables
        pick = [{key: value[i] for key, value in masks.items()} for i in range(self.students + 1)]
        losses, outputs, total, soft = [], [], [None] * len(variables), target
        for i, subnet in enumerate(pick):
            with tf.control_dependencies([g for g in total if g is not None]):
                inputs = tf.identity(x)
            with tf.GradientTape() as tape:
                output = self._call(inputs, subnet)
                value = loss(task, target if i == 0 else soft, output, self.smoothing if i == 0 else 0.0)
            grads = tape.gradient(value, variables)
            total = [t if g is None else (g if t is None else t + g) for t, g in zip(total, grads, strict=True)]
            losses.append(value)
            if i == 0 and self.distill:
                soft = ops.stop_gradient(output)
            elif i > 0:
                outputs.append(output)
        pairs = [(g, v) for g, v in zip(total, variables, strict=True) if g is not None]
        self._apply([g for g, _ in pairs], [v for _, v in pairs], masks)
        label_loss = loss(task, target, outputs[0], 0.0) if outputs else ops.zeros(())
        return ops.stack(losses), label_loss
