"""The MobileNet family's sub-networks in one graph at their own sizes: widths, kernels and depth read from the masks.

`tfnas.oneshot.masked2d` runs every sub-network as the largest with masks:
one graph, but every sub-network costs the largest's arithmetic, and at
96x96x3 that made the compiled sandwich step no faster than the eager one
(the step is compute-bound there). This module runs the same masks
(`subnet_masks_2d`) in one graph with shapes known only at run time:

- a width is the sum of its channel mask: each conv takes the first
  channels of its kernel (`kernel[..., :width]`) and each batch norm the
  first entries of its statistics, as the eager `ElasticConv` /
  `ElasticBatchNorm` do;
- a depthwise kernel is the centre taps of the largest, as many as the tap
  mask holds;
- an inactive block is skipped (a `tf.switch_case` branch: its input passes
  through, so the head reads the output of the last active block, whatever
  its stage), and the expansion's weight set is another branch of it;
- a residual Add is a 0/1 factor on the shortcut.

So each sub-network costs what it costs eagerly, without eager Python's
per-op overhead or a graph per sub-network. The frame is fixed as for the
masked call (`compilable_2d`): every block position has one stride, so the
spatial shape after each stage is known.

When the compiled step first runs, TensorFlow logs one "Type inference
failed ... TFT_OPTIONAL" warning: the branches keep their intermediates for
the backward pass as optionals of several dtypes (tensorflow/tensorflow#57052).
The results are unaffected: the tests compare them with the eager supernet's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import tensorflow as tf

from tfnas.oneshot.elastic import ElasticBatchNorm
from tfnas.oneshot.mobilenet import MobileNetSubnet
from tfnas.oneshot.mobilenet import StageBlock
from tfnas.oneshot.mobilenet_supernet import ElasticBlock
from tfnas.oneshot.mobilenet_supernet import MobileNetSupernet
from tfnas.oneshot.sandwich import largest
from tfnas.spaces.blocks import same_out

__all__ = ["sliced_call_2d", "sliced_norm", "tensor_dropout"]


def sliced_call_2d(
    supernet: MobileNetSupernet, x: Any, masks: Mapping[str, Any], training: bool = False, seed: Any = None,
    moving: bool = True,
) -> Any:
    """The supernet's output for the sub-network `masks` select (`subnet_masks_2d`), computed at its own sizes.

    Arguments as `tfnas.oneshot.masked2d.masked_call_2d`'s. Runs inside a
    `tf.function` (the compiled step) or eagerly, on TensorFlow.
    """
    net = supernet.resolve(largest(supernet.space))
    width = _count(masks["stem_channels"])
    stride = [1, *net.stem_stride, 1]
    x = tf.nn.conv2d(x, supernet.stem_conv.kernel[..., :width], strides=stride, padding="SAME")
    x = tf.nn.relu(sliced_norm(supernet.stem_bn, x, width, training, moving))
    shape, exits = tuple(x.shape[1:3]), []
    for i, block in enumerate(net.blocks):
        x = _block(supernet.stages[block.stage - 1][block.index - 1], x, block, masks, i, training, moving)
        shape = tuple(same_out(n, max(block.stride)) for n in shape)
        if i + 1 == len(net.blocks) or net.blocks[i + 1].stage != block.stage:
            exits.append(shape)
    return supernet.head_activation(_head(supernet, net, x, exits, masks, training, seed))


def sliced_norm(layer: ElasticBatchNorm, x: Any, channels: Any, training: bool, moving: bool = True) -> Any:
    """`layer` on `x`'s `channels` channels (a tensor), as `ElasticBatchNorm` computes it; in training the moving
    statistics of those channels move (if `moving`)."""
    gamma, beta = layer.gamma[:channels], layer.beta[:channels]
    if training:
        mean, variance = tf.nn.moments(x, axes=list(range(len(x.shape) - 1)))
        for stat, batch in ((layer.moving_mean, mean), (layer.moving_variance, variance)) if moving else ():
            updated = stat[:channels] * layer.momentum + batch * (1.0 - layer.momentum)
            stat.assign(tf.concat([updated, stat[channels:]], axis=0))
    else:
        mean, variance = layer.moving_mean[:channels], layer.moving_variance[:channels]
    return tf.nn.batch_normalization(x, mean, variance, beta, gamma, layer.epsilon)


def _block(
    layer: ElasticBlock, x: Any, block: StageBlock, masks: Mapping[str, Any], i: int, training: bool, moving: bool,
) -> Any:
    """Block position `i`: skipped (its input passes through), or run with the weight set its expansion picks.

    One `tf.switch_case` a block, over [skip,] then one branch per weight set:
    only the branch taken runs, forward and backward. The first block is
    always active (`resolve` refuses fewer).
    """
    kinds = sorted(layer.kinds)  # [False, True]: depthwise-separable, inverted
    branches = [_branch(layer, x, block, masks, i, inverted, training, moving) for inverted in kinds]
    index = masks["block_inverted"][i] if len(kinds) > 1 else 0.0
    if i > 0:
        branches.insert(0, lambda: tf.identity(x))
        index = masks["block_active"][i] * (1.0 + index)
    return tf.switch_case(tf.cast(tf.round(index), tf.int32), branches) if len(branches) > 1 else branches[0]()


def _branch(
    layer: ElasticBlock, x: Any, block: StageBlock, masks: Mapping[str, Any], i: int, inverted: bool, training: bool,
    moving: bool,
) -> Any:
    """The block run with one weight set, at the sub-network's widths and kernel (a function of no arguments)."""
    layers = layer.kinds[inverted]
    stride = [1, max(block.stride), max(block.stride), 1]  # as the space: TensorFlow's depthwise conv needs equal strides

    def run() -> Any:
        out, hidden, kernel = (_count(masks[key][i]) for key in ("block_channels", "block_hidden", "block_taps"))
        h, width = x, tf.shape(x)[-1]
        if inverted:
            h = tf.nn.conv2d(h, layers["expand"].kernel[:, :, :width, :hidden], strides=1, padding="SAME")
            h, width = tf.nn.relu(sliced_norm(layers["expand_bn"], h, hidden, training, moving)), hidden
        start = (layers["dw"].kernel.shape[0] - kernel) // 2
        taps = tf.slice(layers["dw"].kernel, [start, start, 0, 0], tf.stack([kernel, kernel, width, 1]))
        h = tf.nn.depthwise_conv2d(h, taps, strides=stride, padding="SAME")
        h = tf.nn.relu(sliced_norm(layers["dw_bn"], h, width, training, moving))
        h = tf.nn.conv2d(h, layers["project"].kernel[:, :, :width, :out], strides=1, padding="SAME")
        h = sliced_norm(layers["project_bn"], h, out, training, moving)
        h = h if inverted else tf.nn.relu(h)
        if block.stride != (1, 1):
            return h
        # A residual Add only where the widths agree (`block_add`); elsewhere the shortcut is cut or padded to the
        # output's width and multiplied by 0, which costs less than another branch.
        have = tf.shape(x)[-1]
        shortcut = tf.pad(x[..., :out], [[0, 0], [0, 0], [0, 0], [0, tf.maximum(out - have, 0)]])
        return h + masks["block_add"][i] * shortcut

    return run


def _head(supernet: MobileNetSupernet, net: MobileNetSubnet, x: Any, exits: list[tuple[int, int]],
          masks: Mapping[str, Any], training: bool, seed: Any) -> Any:
    """The logits on the last active block's output `x`, dropout before the head (a flatten head: the one of the
    last active stage's map shape, `exits[stage]`)."""
    width = tf.shape(x)[-1]

    def dropout(features: Any) -> Any:
        return tensor_dropout(features, masks["dropout"], training, seed or supernet.dropout_seed)

    if net.head == "gap":
        head = supernet.head(net)
        return tf.matmul(dropout(tf.reduce_mean(x, axis=(1, 2))), head.kernel[:width]) + head.bias

    def flat(shape: tuple[int, int]) -> Any:
        if shape not in supernet.flat_shapes:  # a stage count the space does not offer: never taken
            return lambda: tf.zeros((tf.shape(x)[0], supernet.space.num_outputs))
        head = supernet.heads_flat[supernet.flat_shapes.index(shape)]
        length = shape[0] * shape[1]
        return lambda: tf.matmul(dropout(tf.reshape(x, (-1, length * width))),
                                 tf.reshape(head.kernel[:, :width], (length * width, -1))) + head.bias

    stage = tf.argmax(masks["exit"], output_type=tf.int32)
    return tf.switch_case(stage, [flat(shape) for shape in exits])


def tensor_dropout(features: Any, rate: Any, training: bool, seed: Any) -> Any:
    """Dropout at a rate held in a tensor (a sub-network's `masks["dropout"]`), so one graph serves every rate."""
    if not training:
        return features
    draw = keras.random.uniform(tf.shape(features), seed=seed)
    return features * tf.cast(draw >= rate, features.dtype) / (1.0 - rate)


def _count(mask: Any) -> Any:
    """How many ones a 0/1 mask holds, as an int32 tensor."""
    return tf.cast(tf.round(tf.reduce_sum(mask)), tf.int32)
