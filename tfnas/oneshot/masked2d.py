"""The compiled sandwich step of the MobileNet family: in a fixed frame, every sub-network is the largest with masks.

`tfnas.oneshot.masked` does this for the DS-CNN 1-D supernet; this module
does it for `MobileNetSupernet` (`MobileNetSpace`, `DSCNN2DSpace`). With one
stem stride, one stage stride and one head, the map at every block position
has one shape whatever the sub-network (only a stage's first block strides,
and a sub-network's stages are the first ones), so what tells sub-networks
apart can be tensors:

- a width (stem, stage, expanded) is a 0/1 mask over the widest layer's
  channels, applied after each batch norm (and to the statistics it moves);
- a depthwise kernel is a 0/1 mask over the taps of the largest (its centre,
  exact while "same" padding is not clipped: `compilable_2d` checks);
- the expansion picks a block's weight set: both sets run when the space has
  both (1 and above 1), and a 0/1 gate keeps one;
- a block beyond a stage's depth passes its input through; the stages beyond
  `num_stages` still run, but the head reads the last active stage's output
  (a one-hot `exit`), so a strided stage can be dropped too;
- a residual Add is a 0/1 factor on the shortcut.

Masking costs every sub-network the largest's arithmetic: at 96x96x3 the
masked step was no faster than the eager one. So `CompiledSandwich2D` runs
the same masks through `tfnas.oneshot.sliced2d` by default (each
sub-network at its own sizes, shapes known at run time, in one graph) and
keeps the masked call as `sliced=False`.

One difference from the eager step needs care: a weight set no sub-network
of the step uses (a block's depthwise-separable set when every sub-network
picks an expansion above 1; a flatten head of another map shape) gets no
gradient eagerly, so the optimizer leaves it and its slots alone, but here it
gets a zero gradient (masked, or from the branch not taken), which Adam's momentum and weight decay would still
move. `CompiledSandwich2D` puts such sets (and their optimizer slots) back
after the update, so both steps make the same update.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfnas.oneshot.masked import CompiledSandwich
from tfnas.oneshot.masked import Masks
from tfnas.oneshot.masked import channel_mask
from tfnas.oneshot.masked import masked_norm
from tfnas.oneshot.masked import tap_mask
from tfnas.oneshot.masked import widen
from tfnas.oneshot.mobilenet import MobileNetSubnet
from tfnas.oneshot.mobilenet import StageBlock
from tfnas.oneshot.mobilenet_supernet import ElasticBlock
from tfnas.oneshot.mobilenet_supernet import MobileNetSupernet
from tfnas.oneshot.sandwich import largest
from tfnas.oneshot.sliced2d import sliced_call_2d
from tfnas.oneshot.sliced2d import tensor_dropout
from tfnas.spaces.blocks import same_out

__all__ = ["CompiledSandwich2D", "compilable_2d", "masked_call_2d", "optional_groups", "subnet_masks_2d"]


def compilable_2d(supernet: Any) -> bool:
    """Whether every sub-network of a `MobileNetSupernet` can run as the masked largest.

    That needs a fixed frame (one stem stride where the space has the hp, one
    stage stride) and one head; kernel sizes that differ from the largest by
    even numbers of taps; and no strided depthwise conv whose "same" padding
    is clipped at zero for the smallest kernel (the centre of the largest
    would then see other pixels). False for any other supernet.
    """
    if not isinstance(supernet, MobileNetSupernet):
        return False
    r = supernet.space.ranges
    if len(r["strides"]) != 1 or len(r["head"]) != 1 or ("stem_strides" in supernet.active.values
                                                          and len(r["stem_strides"]) != 1):
        return False
    kernels = r["kernel_sizes"]
    if any((max(kernels) - k) % 2 for k in kernels):
        return False
    net = supernet.resolve(largest(supernet.space))
    shape = tuple(same_out(n, s) for n, s in zip(supernet.space.input_shape[:2], net.stem_stride, strict=True))
    for block in net.blocks:
        stride = max(block.stride)  # (the space's depthwise conv strides both axes alike)
        if stride != 1 and any((same_out(n, stride) - 1) * stride + min(kernels) - n < 0 for n in shape):
            return False
        shape = tuple(same_out(n, stride) for n in shape)
    return True


def optional_groups(supernet: MobileNetSupernet) -> list[tuple[tuple, list[Any]]]:
    """The weight sets the largest sub-network does not use, each with its trainable variables (a fixed order).

    A block's depthwise-separable set when the largest expansion is above 1
    (the largest uses the inverted one), and the flatten heads of map shapes
    other than the largest's. A sub-network's masks say which it uses (`used`).
    """
    net = supernet.resolve(largest(supernet.space))
    groups: list[tuple[tuple, list[Any]]] = []
    for block in net.blocks:
        for inverted, layers in _block_layer(supernet, block).kinds.items():
            if inverted != (block.expansion > 1):
                found = [v for layer in layers.values() if layer is not None for v in layer.trainable_variables]
                groups.append((("kind", block.stage, block.index, inverted), found))
    for shape, head in zip(supernet.flat_shapes, supernet.heads_flat, strict=True):
        if shape != net.shape:
            groups.append((("head", shape), list(head.trainable_variables)))
    return groups


def subnet_masks_2d(supernet: MobileNetSupernet, values: Mapping[str, Any] | MobileNetSubnet) -> Masks:
    """The masks that make the largest sub-network compute `values`'s (float32 arrays, fixed shapes).

    Keys: `stem_channels` (stem width,), `block_active`, `block_inverted`,
    `block_add` (B,), `block_taps` (B, K), `block_channels` (B, widest),
    `block_hidden` (B, widest expanded), `exit` (S,: one-hot on the last
    stage), `used` (G,: 1 for each of `optional_groups` the sub-network uses)
    and `dropout` (); B is the largest's number of blocks, K its kernel, S its stages.
    """
    net, big = supernet.resolve(values), supernet.resolve(largest(supernet.space))
    r = supernet.space.ranges
    size, width, depth = max(r["kernel_sizes"]), max(r["filters"]), len(big.blocks)
    hidden = max(b.in_channels * b.expansion for b in big.blocks)
    position = {(b.stage, b.index): i for i, b in enumerate(big.blocks)}
    masks = {
        "stem_channels": channel_mask(max(r["stem_filters"]), net.stem_filters),
        "block_active": np.zeros(depth, np.float32), "block_inverted": np.zeros(depth, np.float32),
        "block_add": np.zeros(depth, np.float32), "block_taps": np.zeros((depth, size), np.float32),
        "block_channels": np.zeros((depth, width), np.float32), "block_hidden": np.zeros((depth, hidden), np.float32),
        "exit": channel_mask(max(r["num_stages"]), 0), "dropout": np.float32(net.values["dropout"]),
    }
    masks["exit"][net.blocks[-1].stage - 1] = 1.0
    for block in net.blocks:
        i = position[(block.stage, block.index)]
        masks["block_active"][i], masks["block_inverted"][i] = 1.0, float(block.expansion > 1)
        masks["block_add"][i] = float(block.add)
        masks["block_taps"][i] = tap_mask(size, block.kernel)
        masks["block_channels"][i] = channel_mask(width, block.filters)
        masks["block_hidden"][i] = channel_mask(hidden, block.in_channels * block.expansion)
    uses = {("kind", b.stage, b.index, b.expansion > 1) for b in net.blocks} | {("head", net.shape)}
    masks["used"] = np.array([float(key in uses) for key, _ in optional_groups(supernet)], np.float32)
    return masks


def masked_call_2d(
    supernet: MobileNetSupernet, x: Any, masks: Mapping[str, Any], training: bool = False, seed: Any = None,
    moving: bool = True,
) -> Any:
    """The supernet's output for the sub-network `masks` select (see `subnet_masks_2d`): `supernet(x, values=...)`'s.

    Args:
        supernet: A supernet for which `compilable_2d` holds.
        x: A batch of inputs.
        masks: The sub-network's masks, as arrays or tensors.
        training: Training mode: batch statistics, moving statistics of the
            active channels updated, dropout at the mask's rate.
        seed: A `keras.random.SeedGenerator` for dropout. Defaults to the supernet's.
        moving: Whether training mode moves the moving statistics. Defaults to True.
    """
    net = supernet.resolve(largest(supernet.space))
    x = ops.conv(x, supernet.stem_conv.kernel, strides=net.stem_stride, padding="same")
    channels = masks["stem_channels"]
    x = ops.relu(masked_norm(supernet.stem_bn, x, channels, training, moving=moving)) * channels
    exits = []
    for i, block in enumerate(net.blocks):
        out, active = masks["block_channels"][i], masks["block_active"][i]
        h = _run_block(_block_layer(supernet, block), x, channels, block, masks, i, training, moving)
        if block.stride == (1, 1):
            h = h + masks["block_add"][i] * widen(x, out.shape[-1])
        if i == 0 or block.stride != (1, 1):  # always active, or active with its whole stage (else never read)
            x, channels = h, out
        else:
            x, channels = active * h + (1.0 - active) * x, active * out + (1.0 - active) * channels
        if i + 1 == len(net.blocks) or net.blocks[i + 1].stage != block.stage:
            exits.append(x)
    return supernet.head_activation(_head(supernet, net, exits, masks, training, seed))


def _head(supernet: MobileNetSupernet, net: MobileNetSubnet, exits: list[Any], masks: Mapping[str, Any],
          training: bool, seed: Any) -> Any:
    """The logits of the head on the output of the last active stage (`masks["exit"]`), dropout before it."""
    stages = supernet.space.ranges["num_stages"]

    def dropout(features: Any) -> Any:
        return tensor_dropout(features, masks["dropout"], training, seed or supernet.dropout_seed)

    if net.head == "gap":
        features = sum(masks["exit"][s] * ops.mean(x, axis=(1, 2)) for s, x in enumerate(exits) if s + 1 in stages)
        head = supernet.head(net)
        return ops.add(ops.matmul(dropout(features), head.kernel), head.bias)
    logits = []
    for s, x in enumerate(exits):
        if s + 1 in stages:
            head = supernet.heads_flat[supernet.flat_shapes.index((x.shape[1], x.shape[2]))]
            kernel = ops.reshape(head.kernel, (-1, head.kernel.shape[-1]))
            flat = ops.reshape(x, (-1, x.shape[1] * x.shape[2] * x.shape[3]))
            logits.append(masks["exit"][s] * ops.add(ops.matmul(dropout(flat), kernel), head.bias))
    return sum(logits)


def _run_block(
    layer: ElasticBlock, x: Any, channels: Any, block: StageBlock, masks: Mapping[str, Any], i: int, training: bool,
    moving: bool,
) -> Any:
    """Block `i` at its widest, masked; with both weight sets, each runs and `block_inverted` keeps one."""
    taps = masks["block_taps"][i]
    taps = ops.reshape(taps[:, None] * taps[None, :], (taps.shape[0], taps.shape[0], 1, 1))
    out, active, pick = masks["block_channels"][i], masks["block_active"][i], masks["block_inverted"][i]
    stride = (max(block.stride),) * 2  # as the space: TensorFlow's depthwise conv needs equal strides
    results = []
    for inverted, layers in layer.kinds.items():
        gate = 1.0 if len(layer.kinds) == 1 else (pick if inverted else 1.0 - pick)
        h, hidden = x, channels
        if inverted:
            hidden = masks["block_hidden"][i][: layers["expand"].kernel.shape[-1]]
            h = ops.conv(h, layers["expand"].kernel, strides=1, padding="same")
            h = ops.relu(masked_norm(layers["expand_bn"], h, hidden, training, active * gate, moving)) * hidden
        h = ops.depthwise_conv(h, layers["dw"].kernel * taps, strides=stride, padding="same")
        h = ops.relu(masked_norm(layers["dw_bn"], h, hidden, training, active * gate, moving)) * hidden
        h = ops.conv(h, layers["project"].kernel, strides=1, padding="same")
        h = masked_norm(layers["project_bn"], h, out, training, active * gate, moving)
        h = (h if inverted else ops.relu(h)) * out
        results.append(h if len(layer.kinds) == 1 else gate * h)
    return sum(results)


def _block_layer(supernet: MobileNetSupernet, block: StageBlock) -> ElasticBlock:
    """The shared layers of a block position."""
    return supernet.stages[block.stage - 1][block.index - 1]


class CompiledSandwich2D(CompiledSandwich):
    """`sandwich_step` of a `MobileNetSupernet` as one TensorFlow graph (see `tfnas.oneshot.masked.CompiledSandwich`).

    Example:
        ```python
        step = CompiledSandwich2D(supernet, optimizer, students=3)
        logs = step(x_batch, y_batch, [smallest(space), random_subnet(space, rng), random_subnet(space, rng)])
        ```

    Args:
        supernet: A `MobileNetSupernet` for which `compilable_2d` holds.
        optimizer: A Keras 3 optimizer built on the supernet's trainable variables.
        students: How many sub-networks besides the largest each step trains (fixed: it is part of the graph).
        label_smoothing: Label smoothing of the largest's cross-entropy. Defaults to 0.
        distill: Whether students learn from the largest's outputs (True) or from the labels. Defaults to True.
        sliced: Whether each sub-network runs at its own sizes (`tfnas.oneshot.sliced2d`: shapes known at run
            time, inactive blocks skipped) or as the masked largest (`masked_call_2d`). Defaults to True: at
            96x96x3 the masked step did the largest's arithmetic for every sub-network and was no faster than eager.
    """

    def __init__(
        self, supernet: MobileNetSupernet, optimizer: keras.optimizers.Optimizer, students: int,
        label_smoothing: float = 0.0, distill: bool = True, *, sliced: bool = True,
    ) -> None:
        self.sliced = sliced
        self._groups = [variables for _, variables in optional_groups(supernet)]
        self._slots = {id(v): _slots(optimizer, v) for variables in self._groups for v in variables}
        super().__init__(supernet, optimizer, students, label_smoothing, distill)

    def _masks(self, values: Mapping[str, Any] | Any) -> Masks:
        return subnet_masks_2d(self.supernet, values)

    def _call(self, x: Any, masks: Mapping[str, Any]) -> Any:
        return (sliced_call_2d if self.sliced else masked_call_2d)(self.supernet, x, masks, training=True)

    def _apply(self, grads: Sequence[Any], variables: Sequence[Any], masks: Mapping[str, Any]) -> None:
        """The update, then every weight set no sub-network used (and its optimizer slots) put back, as eagerly."""
        used = ops.max(masks["used"], axis=0) > 0.5  # (G,); G may be 0
        kept = [[(v, tf.identity(v.value)) for w in group for v in (w, *self._slots[id(w)])] for group in self._groups]
        self.optimizer.apply(list(grads), list(variables))
        for g, pairs in enumerate(kept):
            for variable, before in pairs:
                variable.assign(ops.where(used[g], variable, before))


def _slots(optimizer: keras.optimizers.Optimizer, variable: Any) -> list[Any]:
    """The optimizer's variables for `variable` (momenta, ...): named `{variable.path with _ for /}_{slot}` by Keras."""
    prefix = variable.path.replace("/", "_") + "_"
    return [v for v in optimizer.variables if v.name.startswith(prefix) and tuple(v.shape) == tuple(variable.shape)]
