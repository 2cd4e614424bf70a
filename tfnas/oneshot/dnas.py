"""Differentiable architecture search over a supernet (DARTS / FBNet style), with the expected MACs as the penalty.

Every architecture hp of the supernet's space (widths, kernel sizes, depth,
skips) gets a vector of logits, one per choice. A step of the search
alternates, as in DARTS (Liu et al., 2019):

- a weight step on a training batch, for one sub-network drawn from the
  current choice probabilities (as ProxylessNAS trains its paths);
- an architecture step on a validation batch: Gumbel-softmax weights of
  every choice (FBNet, Wu et al., 2019) mix the masks of
  `tfnas.oneshot.masked` (a width's mask is the weighted sum of the choices'
  masks, as in FBNetV2), the loss is the validation cross-entropy plus
  `penalty` x expected MACs / `macs_scale`, and only the logits move.

The expected MACs are exact: the MACs of a sub-network of a fixed frame are
a sum of products of independent choices (stem, then per block a depthwise
and a pointwise term, then the head), so their expectation is the same sum
over the choices' expectations (`expected_macs`; a test checks the one-hot
case against `tfnas.cost.profile`). The derived architecture takes each hp's
most probable choice; `sweep` runs one search per penalty from the same
supernet weights, which gives one architecture per point of the accuracy/MACs
trade-off, and the final probabilities to draw more from.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfnas.errors import TfnasInputError
from tfnas.oneshot.dscnn1d_supernet import Supernet
from tfnas.oneshot.family import input_shape_of
from tfnas.oneshot.family import num_outputs_of
from tfnas.oneshot.masked import channel_mask
from tfnas.oneshot.masked import compilable
from tfnas.oneshot.masked import masked_call
from tfnas.oneshot.masked import subnet_masks
from tfnas.oneshot.masked import subnet_step
from tfnas.oneshot.masked import tap_mask
from tfnas.oneshot.sandwich import TRAINING_HPS
from tfnas.oneshot.sandwich import largest
from tfnas.oneshot.sandwich import loss
from tfnas.oneshot.sandwich import targets
from tfnas.oneshot.subnet import choices
from tfnas.spaces.blocks import same_out
from tfnas.task import Task


@dataclasses.dataclass(frozen=True)
class DnasResult:
    """One differentiable search (plain data).

    Attributes:
        penalty: The weight of log(expected MACs) in the architecture loss.
        values: The derived sub-network: each hp's most probable choice.
        probabilities: Per architecture hp, the final probability of each choice (the space's order).
        expected_macs: The expected MACs under the final probabilities.
        logs: Per epoch: training and validation loss, expected MACs, temperature, seconds.
        seconds: Wall time.
    """

    penalty: float
    values: dict[str, Any]
    probabilities: dict[str, list[float]]
    expected_macs: float
    logs: tuple[dict[str, float], ...]
    seconds: float

    def sample(self, space_choices: Mapping[str, Sequence[Any]], rng: np.random.Generator) -> dict[str, Any]:
        """A sub-network drawn from the final probabilities (hps the search did not hold keep the derived value)."""
        values = dict(self.values)
        for name, listed in self.probabilities.items():
            p = np.asarray(listed, float)
            values[name] = space_choices[name][int(rng.choice(len(p), p=p / p.sum()))]
        return values

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["logs"] = [dict(log) for log in self.logs]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DnasResult:
        return cls(float(data["penalty"]), dict(data["values"]), {k: list(v) for k, v in data["probabilities"].items()},
                   float(data["expected_macs"]), tuple(dict(log) for log in data["logs"]), float(data["seconds"]))


def arch_choices(supernet: Supernet) -> dict[str, tuple]:
    """The architecture hps the search holds logits for: those with more than one choice (training hps excluded)."""
    return {name: tuple(options) for name, options in choices(supernet.space).items()
            if name not in TRAINING_HPS and len(options) > 1}


def soft_masks(supernet: Supernet, weights: Mapping[str, Any]) -> dict[str, Any]:
    """The masks of `subnet_masks`, each the `weights`-weighted sum of its choices' masks (tensors, differentiable).

    Args:
        supernet: A supernet for which `compilable` holds.
        weights: Per architecture hp (`arch_choices`), a weight per choice
            (probabilities or Gumbel-softmax samples); a missing hp takes its
            first choice (the space's default; the frame's fixed hps have only one).
    """
    options = choices(supernet.space)
    r = supernet.space.ranges
    depth = max(r["num_blocks"])

    def mix(name: str, mask_of: Any) -> Any:
        stacked = np.stack([mask_of(value) for value in options[name]]).astype("float32")
        return ops.matmul(ops.expand_dims(_weights(weights, options, name), 0), stacked)[0]

    size, width, stem = max(r["kernel_sizes"]), max(r["filters"]), max(r["stem_filters"])
    out = {
        "stem_kernel": _weights(weights, options, "stem_kernel"),
        "stem_channels": mix("stem_filters", lambda c: channel_mask(stem, c)),
        "dropout": ops.zeros(()),
    }
    n_weights = _weights(weights, options, "num_blocks")
    n_options = np.asarray(options["num_blocks"])
    active, taps, widths, adds = [], [], [], []
    for i in range(1, depth + 1):
        active.append(ops.sum(n_weights * (n_options >= i).astype("float32")))
        taps.append(mix(f"block{i}_kernel", lambda k: tap_mask(size, k)))
        widths.append(mix(f"block{i}_filters", lambda c: channel_mask(width, c)))
        adds.append(_add_probability(supernet, weights, i))
    out.update(block_active=ops.stack(active), block_taps=ops.stack(taps), block_channels=ops.stack(widths),
               block_add=ops.stack(adds))
    return out


def _add_probability(supernet: Supernet, weights: Mapping[str, Any], i: int) -> Any:
    """How much of block `i`'s (1-based) residual Add is on: P(skip) x P(its input and output widths are equal).

    One-hot weights give exactly the sub-network's Add (`resolve`: skip, stride 1, equal widths).
    """
    options = choices(supernet.space)
    if supernet.resolve(largest(supernet.space)).blocks[i - 1].stride != 1:
        return ops.zeros(())
    inputs, outputs = ("stem_filters" if i == 1 else f"block{i - 1}_filters"), f"block{i}_filters"
    same = np.array([[float(a == b) for b in options[outputs]] for a in options[inputs]], np.float32)
    equal = ops.sum(_weights(weights, options, inputs)[:, None] * same * _weights(weights, options, outputs)[None, :])
    skip = _weights(weights, options, f"block{i}_skip")
    on = np.array([float(bool(value)) for value in options[f"block{i}_skip"]], np.float32)
    return equal * ops.sum(skip * on)


def _weights(weights: Mapping[str, Any], options: Mapping[str, tuple], name: str) -> Any:
    """`weights[name]`, or one-hot on the first choice for an hp the search does not hold."""
    if name in weights:
        return weights[name]
    return ops.convert_to_tensor((np.arange(len(options[name])) == 0).astype(np.float32))


def expected_macs(supernet: Supernet, probabilities: Mapping[str, Any]) -> Any:
    """The expected MACs of a sub-network drawn from `probabilities` (per hp, a probability per choice).

    Exact: in a fixed frame a sub-network's MACs are stem + sum over active
    blocks of (depthwise + pointwise) + head, each term a product of
    independent choices; with one-hot probabilities it is the cost model's
    count (`tfnas.cost.profile(model).macs`). Hps missing from `probabilities` take their first choice.
    """
    options = choices(supernet.space)
    net = supernet.resolve(largest(supernet.space))

    def mean(name: str) -> Any:
        values = np.asarray([float(v) for v in options[name]], np.float32)
        return ops.sum(probabilities[name] * values) if name in probabilities else ops.convert_to_tensor(values[0])

    stem_length = same_out(input_shape_of(supernet.space)[0], net.stem_stride)
    macs = stem_length * mean("stem_kernel") * input_shape_of(supernet.space)[1] * mean("stem_filters")
    lengths, length = [], same_out(stem_length, 2) if net.pooling != "none" else stem_length
    for block in net.blocks:
        length = same_out(length, block.stride)
        lengths.append(length)
    n_options = np.asarray(options["num_blocks"])
    n_probs = _weights(probabilities, options, "num_blocks")
    channels, head = mean("stem_filters"), 0.0
    for i, out_length in enumerate(lengths, start=1):
        active = ops.sum(n_probs * (n_options >= i).astype("float32"))
        filters = mean(f"block{i}_filters")
        macs = macs + active * out_length * channels * (mean(f"block{i}_kernel") + filters)
        head = head + ops.sum(n_probs * (n_options == i).astype("float32")) * filters
        channels = filters
    head_inputs = head if net.head == "gap" else head * net.length
    return macs + head_inputs * num_outputs_of(supernet.space)


def differentiable_search(
    supernet: Supernet,
    x: Any,
    y: Any,
    x_val: Any,
    y_val: Any,
    *,
    penalty: float,
    macs_scale: float,
    epochs: int,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    arch_learning_rate: float = 3e-3,
    temperature: tuple[float, float] = (2.0, 0.5),
    seed: int = 0,
) -> DnasResult:
    """Searches the supernet's architecture by gradient, alternating weight and architecture steps.

    Example:
        ```python
        result = differentiable_search(supernet, x, y, x_val, y_val, penalty=0.3, macs_scale=50_000, epochs=5)
        model = extract(supernet, result.values, x[:256])
        ```

    Args:
        supernet: A trained (warmed-up) supernet whose frame is fixed (`compilable`); its weights keep training.
        x: Training inputs (weight steps).
        y: Training labels.
        x_val: Validation inputs (architecture steps).
        y_val: Validation labels.
        penalty: Weight of log(expected MACs / `macs_scale`) in the architecture loss
            (on MNIST-1D, 0.1 derived about 26k MACs and 0.3 about 2k).
        macs_scale: The MACs the log is taken relative to (e.g. the search's `max_macs`).
        epochs: Passes over the training data.
        batch_size: Both steps' batch size. Defaults to 32.
        learning_rate: The weights' Adam learning rate. Defaults to 1e-3.
        arch_learning_rate: The logits' Adam learning rate. Defaults to 3e-3.
        temperature: Gumbel-softmax temperature at the first and the last step (geometric in between).
        seed: Seeds the data order, the sub-networks drawn and the Gumbel noise.

    Returns:
        The `DnasResult`.

    Raises:
        TfnasInputError: The supernet's frame is not fixed, or a bad penalty, scale or epochs.
    """
    if not compilable(supernet):
        raise TfnasInputError("differentiable search needs a supernet whose frame is fixed (tfnas.oneshot.frame.narrow).")
    for name, value in (("penalty", penalty), ("macs_scale", macs_scale)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (name == "macs_scale" and value == 0):
            raise TfnasInputError(f"{name} must be a {'positive' if name == 'macs_scale' else 'non-negative'} number; "
                                  f"received: {name}={value!r}.")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise TfnasInputError(f"epochs must be an integer >= 1; received: epochs={epochs!r}.")
    start = time.perf_counter()
    space_choices = arch_choices(supernet)
    logits = {name: keras.Variable(np.zeros(len(o), np.float32), name=f"alpha_{name}") for name, o in space_choices.items()}
    weight_step, arch_step = _steps(supernet, logits, learning_rate, arch_learning_rate, penalty, macs_scale, seed)

    x, y = np.asarray(x, np.float32), np.asarray(y)
    x_val, y_val = np.asarray(x_val, np.float32), np.asarray(y_val)
    steps = epochs * -(-len(x) // batch_size)
    logs, step = [], 0
    for epoch in range(epochs):
        began = time.perf_counter()
        rng = np.random.default_rng([seed, epoch])
        order, val_order = rng.permutation(len(x)), rng.permutation(len(x_val))
        train_losses, val_losses = [], []
        for j, i in enumerate(range(0, len(x), batch_size)):
            current = {name: _softmax(np.asarray(alpha)) for name, alpha in logits.items()}
            drawn = {name: space_choices[name][int(rng.choice(len(p), p=p))] for name, p in current.items()}
            index = order[i : i + batch_size]
            train_losses.append(float(weight_step(x[index], y[index], subnet_masks(supernet, drawn))))
            val_index = val_order[np.arange(j * batch_size, (j + 1) * batch_size) % len(x_val)]  # always full: one trace
            tau = temperature[0] * (temperature[1] / temperature[0]) ** (step / max(steps - 1, 1))
            cross_entropy, cost = arch_step(x_val[val_index], y_val[val_index], np.float32(tau))
            val_losses.append(float(cross_entropy))
            step += 1
        logs.append({"loss": float(np.mean(train_losses)), "val_loss": float(np.mean(val_losses)),
                     "expected_macs": float(cost), "temperature": float(tau), "seconds": time.perf_counter() - began})
    probabilities = {name: _softmax(np.asarray(alpha)).tolist() for name, alpha in logits.items()}
    derived = {name: space_choices[name][int(np.argmax(p))] for name, p in probabilities.items()}
    values = supernet.resolve(derived).values
    final = float(expected_macs(supernet, {k: ops.convert_to_tensor(np.asarray(p, np.float32))
                                           for k, p in probabilities.items()}))
    return DnasResult(float(penalty), dict(values), probabilities, final, tuple(logs), time.perf_counter() - start)


def _steps(
    supernet: Supernet, logits: Mapping[str, Any], learning_rate: float, arch_learning_rate: float, penalty: float,
    macs_scale: float, seed: int,
) -> tuple[Any, Any]:
    """The two compiled steps of a search: a weight step for given masks, and an architecture step on the logits."""
    weight_optimizer = keras.optimizers.Adam(learning_rate)
    weight_optimizer.build(supernet.trainable_variables)
    arch_optimizer = keras.optimizers.Adam(arch_learning_rate)
    arch_optimizer.build(list(logits.values()))
    task = Task(supernet.space.task)
    classes = num_outputs_of(supernet.space)
    seed_generator = keras.random.SeedGenerator(seed)

    @tf.function(autograph=False)
    def arch_step(xb: Any, yb: Any, tau: Any) -> tuple[Any, Any]:
        variables = list(logits.values())
        with tf.GradientTape() as tape:
            weights = {}
            for name, alpha in logits.items():  # Gumbel-softmax: softmax((logits + Gumbel noise) / temperature)
                uniform = keras.random.uniform(alpha.shape, 1e-6, 1.0 - 1e-6, seed=seed_generator)
                weights[name] = ops.softmax((alpha - ops.log(-ops.log(uniform))) / tau)
            output = masked_call(supernet, xb, soft_masks(supernet, weights), training=True, moving=False)
            cross_entropy = loss(task, targets(task, yb, classes), output, 0.0)
            cost = expected_macs(supernet, {name: ops.softmax(alpha) for name, alpha in logits.items()})
            value = cross_entropy + penalty * ops.log(cost / macs_scale)
        pairs = [(g, v) for g, v in zip(tape.gradient(value, variables), variables, strict=True) if g is not None]
        arch_optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
        return cross_entropy, cost

    return subnet_step(supernet, weight_optimizer), arch_step


def sweep(
    supernet: Supernet, x: Any, y: Any, x_val: Any, y_val: Any, *, penalties: Sequence[float],
    done: Sequence[DnasResult] = (), on_result: Any = None, **kwargs: Any,
) -> list[DnasResult]:
    """One `differentiable_search` per penalty, each from the supernet's weights as they are now (restored after).

    Args:
        supernet: The warmed-up supernet; its weights are left as they were.
        penalties: The penalty weights, one search each (a front of trade-offs).
        done: Results of an interrupted sweep: their penalties are not searched again.
        on_result: Called with each new `DnasResult` (e.g. to save progress).
        **kwargs: `differentiable_search`'s other arguments (`macs_scale`, `epochs`, ...).
    """
    saved = [np.asarray(v) for v in supernet.variables]
    results = list(done)
    searched = {r.penalty for r in results}
    try:
        for i, penalty in enumerate(penalties):
            if float(penalty) in searched:
                continue
            result = differentiable_search(supernet, x, y, x_val, y_val, penalty=float(penalty),
                                           **{**kwargs, "seed": kwargs.get("seed", 0) * 1000 + i})
            results.append(result)
            if on_result is not None:
                on_result(result)
            for variable, value in zip(supernet.variables, saved, strict=True):
                variable.assign(value)
    finally:
        for variable, value in zip(supernet.variables, saved, strict=True):
            variable.assign(value)
    return results


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max())
    return e / e.sum()
