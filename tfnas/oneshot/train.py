"""Training a supernet with the sandwich rule, the search's recipe, per-epoch progress and resume after a kill.

One step trains the largest, the smallest and `num_random` random
sub-networks (`tfnas.oneshot.sandwich`), with one optimizer on the recipe's
schedule (`Training.optimizer`: warm-up, cosine decay, AdamW). The data
order and the sub-networks drawn depend only on `seed` and the epoch, so a
run resumed from its last checkpoint (written atomically at the end of every
epoch under `directory`) trains what the uninterrupted run would have
(but for the recipe's augmentation noise and dropout, which Keras draws).
`SupernetHistory` records what a search needs to count the supernet against
its budget: steps, sub-networks trained per step, seconds. The checkpoint
(`tfnas.oneshot.checkpoint`) carries a fingerprint of the run's settings:
resuming a directory with other settings is refused rather than silently
mixing runs; `epochs` may grow (the schedule is then rebuilt for the new length).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tfnas._voice import say
from tfnas.errors import TfnasInputError
from tfnas.memory import release_freed_memory
from tfnas.oneshot.base_supernet import BaseSupernet
from tfnas.oneshot.checkpoint import Checkpoint
from tfnas.oneshot.checkpoint import fingerprint
from tfnas.oneshot.compiled import compilable
from tfnas.oneshot.compiled import compiled_sandwich
from tfnas.oneshot.inputs import as_inputs
from tfnas.oneshot.inputs import epoch_batches
from tfnas.oneshot.inputs import predict
from tfnas.oneshot.masked import CompiledSandwich
from tfnas.oneshot.sandwich import GraphApply
from tfnas.oneshot.sandwich import SampleFn
from tfnas.oneshot.sandwich import largest
from tfnas.oneshot.sandwich import random_subnet
from tfnas.oneshot.sandwich import sandwich_step
from tfnas.oneshot.sandwich import smallest
from tfnas.task import Task
from tfnas.training import Training
from tfnas.training import estimate_batchnorm

ProgressFn = Callable[[int, dict[str, float]], None]


@dataclasses.dataclass(frozen=True)
class SupernetHistory:
    """What training a supernet did (plain data: `to_dict` dumps to YAML).

    Attributes:
        epochs: Epochs finished, resumed ones included.
        steps: Optimizer steps taken over all epochs.
        subnets_per_step: Sub-networks trained per step (largest + smallest + random).
        samples: Training samples per epoch.
        batch_size: The batch size.
        seconds: Wall time of training and validation, over every call.
        logs: Per epoch: the losses of the largest, smallest and random
            sub-networks, the smallest's loss on the labels, the learning
            rate, the epoch's seconds and, with validation data, the
            validation metric of the largest and the smallest.
        resumed_from: The epoch the last call started at (0 = from scratch).
    """

    epochs: int
    steps: int
    subnets_per_step: int
    samples: int
    batch_size: int
    seconds: float
    logs: tuple[dict[str, float], ...]
    resumed_from: int = 0

    @property
    def subnet_epochs(self) -> int:
        """Sub-network training epochs spent: about the cost of this many single-model epochs (an upper bound)."""
        return self.epochs * self.subnets_per_step

    @property
    def history(self) -> dict[str, list[float]]:
        """The logs by key, one value per epoch (Keras `History.history`'s shape)."""
        keys = dict.fromkeys(key for log in self.logs for key in log)
        return {key: [log.get(key, math.nan) for log in self.logs] for key in keys}

    def to_dict(self) -> dict[str, Any]:
        """The history as plain data."""
        out = dataclasses.asdict(self)
        out["logs"] = [dict(log) for log in self.logs]
        return out


def train_supernet(
    supernet: BaseSupernet,
    x: Any,
    y: Any,
    *,
    epochs: int,
    training: Training | dict | None = None,
    learning_rate: float | None = None,
    batch_size: int = 32,
    validation_data: tuple[Any, Any] | None = None,
    num_random: int = 2,
    distill: bool = True,
    seed: int = 0,
    directory: str | None = None,
    overwrite: bool = False,
    sample_fn: SampleFn | None = None,
    progress: ProgressFn | None = None,
    calibration_samples: int = 256,
    compiled: bool | None = None,
    verbose: int = 0,
) -> SupernetHistory:
    """Trains `supernet` in place with the sandwich rule and in-place distillation.

    Example:
        ```python
        supernet = Supernet(DSCNN1DSpace().configure((40, 1), 10, "classification"))
        history = train_supernet(supernet, x, y, epochs=30, validation_data=(x_val, y_val), directory="run/supernet")
        model = extract(supernet, values, x_calibration=x[:256])
        ```

    Args:
        supernet: The supernet (`Supernet`, or any `supernet_for(space)`); trained in place.
        x: Training inputs, shaped `(n, *space.input_shape)`: an array, or an image folder's
            `tfnas.image_files.FileImages`, read batch by batch (`tfnas.oneshot.inputs`).
        y: Integer class labels (or regression targets), `n` of them.
        epochs: The epoch to train up to (a resumed run trains only the missing ones).
        training: The search's recipe (schedule, warm-up, label smoothing of
            the largest's loss, weight decay, batch size, augmentation).
            Defaults to `Training()`. `patience` and the "plateau" schedule's
            reductions are not applied (a supernet has no single
            validation loss): "plateau" trains at the constant peak rate.
        learning_rate: The peak learning rate. Defaults to the largest of the
            space's `learning_rate` choices (`supernet_learning_rate`).
        batch_size: Used when the recipe has none. Defaults to 32.
        validation_data: `(x_val, y_val)` (`x_val` an array or `FileImages`): the largest and smallest are
            scored on it after every epoch, batch norm recalibrated on
            `calibration_samples` training samples as `extract` does.
        num_random: Random sub-networks per step besides the largest and smallest. Defaults to 2.
        distill: Whether the smaller sub-networks learn from the largest's
            outputs (True) or from the labels. Defaults to True.
        seed: Seeds the data order and the sub-networks drawn (per epoch). Defaults to 0.
        directory: Where a checkpoint is written after every epoch; a
            later call with the same directory goes on from it. Defaults to None (none).
        overwrite: Start from scratch even if `directory` holds a checkpoint. Defaults to False.
        sample_fn: `sample_fn(rng) -> values` draws a random sub-network
            (e.g. only those under a MAC limit); defaults to
            `tfnas.oneshot.sandwich.random_subnet` over the space's choices.
        progress: Called as `progress(epoch, logs)` after each epoch (0-based, as Keras callbacks).
        calibration_samples: Training samples batch norm is re-estimated on for validation. Defaults to 256.
        compiled: Run each step as one graph (`tfnas.oneshot.masked.CompiledSandwich`:
            every sub-network as the largest with masks;
            `tfnas.oneshot.masked2d.CompiledSandwich2D`: every sub-network at
            its own sizes, `tfnas.oneshot.sliced2d`; same updates within float
            tolerance, several times faster). Defaults to None: whenever the supernet's
            frame is fixed (`tfnas.oneshot.compiled.compilable`: a DS-CNN 1-D
            or MobileNet-family supernet); True where it is not is refused.
            Other supernets train eagerly, one sliced sub-network at a time.
        verbose: 1 prints one line per epoch. Defaults to 0.

    Returns:
        The `SupernetHistory`, resumed epochs included.

    Raises:
        TfnasInputError: Bad arguments or data, a `sample_fn` drawing a value
            the space does not have, or a `directory` holding another run's checkpoint.
    """
    recipe = Training.from_any(training)
    batch = recipe.batch_size or batch_size
    x, y, validation_data = _check(supernet, x, y, epochs, num_random, batch, validation_data)
    sample = sample_fn or (lambda rng: random_subnet(supernet.space, rng))
    _check_sampler(supernet, sample, seed)
    if compiled and not compilable(supernet):
        raise TfnasInputError(
            "compiled=True needs a DS-CNN 1-D or MobileNet-family supernet whose frame is fixed (one stem stride, "
            "block or stage stride, head and, 1-D, pooling: tfnas.oneshot.frame.narrow); pass compiled=None or False."
        )
    steps_per_epoch = math.ceil(len(x) / batch)
    peak = learning_rate if learning_rate is not None else supernet_learning_rate(supernet.space)
    optimizer = recipe.optimizer(float(peak), epochs * steps_per_epoch, steps_per_epoch)
    optimizer.build(supernet.trainable_variables)
    key = fingerprint(supernet, recipe, peak, batch, len(x), num_random, distill, seed)
    checkpoint = Checkpoint(directory, key) if directory else None
    state = checkpoint.restore(supernet, optimizer) if checkpoint and not overwrite else None
    logs, seconds = (list(state["logs"]), state["seconds"]) if state else ([], 0.0)
    start = len(logs)
    ends = (largest(supernet.space), smallest(supernet.space))
    if compiled is None:
        compiled = compilable(supernet)
    update = (compiled_sandwich(supernet, optimizer, 1 + num_random, recipe.label_smoothing, distill) if compiled
              else GraphApply(optimizer))
    for epoch in range(start, epochs):
        began = time.perf_counter()
        log = _train_epoch(supernet, update, x, y, epoch, seed, batch, ends, sample, num_random, distill, recipe)
        if validation_data is not None:
            log.update(_validate(supernet, ends, x[:calibration_samples], *validation_data))
        log["seconds"] = time.perf_counter() - began
        logs.append(log)
        seconds += log["seconds"]
        if checkpoint:
            history = _history(logs, steps_per_epoch, num_random, len(x), batch, seconds, start)
            checkpoint.save(supernet, optimizer, history.to_dict())
        if verbose:
            say(f"supernet epoch {epoch + 1}/{epochs}: " + ", ".join(f"{k}={v:.4g}" for k, v in log.items()))
        if progress is not None:
            progress(epoch, dict(log))
    del update  # the compiled step's graph and buffers, handed back to the OS (0.36 GB after a 96 px epoch)
    release_freed_memory()
    return _history(logs, steps_per_epoch, num_random, len(x), batch, seconds, start)


def supernet_learning_rate(space: Any) -> float:
    """The default peak learning rate of a supernet: the largest of the space's `learning_rate` choices.

    Every sub-network shares the weights and gets a fraction of the updates;
    at the spaces' default 1e-3 the supernet ranked MNIST-1D sub-networks
    at Kendall tau 0.40 (median of seeds 0-2), at 3e-3 0.49, at 1e-2 0.52
    (inherited accuracy median 0.52 -> 0.80; benchmarks/bench_oneshot.py).
    """
    return float(max(space.ranges["learning_rate"]))


def _train_epoch(
    supernet: BaseSupernet, update: GraphApply | CompiledSandwich, x: Any, y: np.ndarray, epoch: int, seed: int,
    batch: int, ends: tuple, sample: SampleFn, num_random: int, distill: bool, recipe: Training,
) -> dict[str, float]:
    """One epoch of sandwich steps; data order and draws depend only on `seed` and `epoch` (resumable)."""
    order = np.random.default_rng([seed, epoch]).permutation(len(x))
    rng = np.random.default_rng([seed, epoch, 1])
    augment = recipe.augmenter(tuple(x.shape[1:]))
    steps = []
    for xb, yb in epoch_batches(x, y, order, batch):
        xb = xb if augment is None else augment(xb, training=True)
        students = [ends[1], *(sample(rng) for _ in range(num_random))]
        if isinstance(update, CompiledSandwich):
            steps.append(update(xb, yb, students))
        else:
            steps.append(sandwich_step(supernet, update, xb, yb, students,
                                       label_smoothing=recipe.label_smoothing, distill=distill))
    log = {key: float(np.mean([step[key] for step in steps])) for key in steps[0]}
    log["learning_rate"] = float(np.asarray(update.optimizer.learning_rate))
    return log


def _history(
    logs: list, steps_per_epoch: int, num_random: int, samples: int, batch: int, seconds: float, start: int
) -> SupernetHistory:
    """The history of the epochs in `logs` (`start` of them were resumed from the checkpoint)."""
    return SupernetHistory(
        epochs=len(logs), steps=len(logs) * steps_per_epoch, subnets_per_step=2 + num_random, samples=samples,
        batch_size=batch, seconds=seconds, logs=tuple(logs), resumed_from=start,
    )


def _validate(supernet: BaseSupernet, ends: tuple, x_calibration: Any, x_val: Any, y_val: Any) -> dict[str, float]:
    """The validation metric of the largest and smallest, batch norm re-estimated on `x_calibration` (then put back)."""
    task = Task(supernet.space.task)
    norms = supernet.batch_norms()
    saved = [np.asarray(v) for v in supernet.non_trainable_variables]
    out = {}
    try:
        for name, values in zip(("largest", "smallest"), ends, strict=True):
            estimate_batchnorm(lambda chunk: supernet(chunk, training=True, values=values), norms, x_calibration)  # noqa: B023 (used at once)
            outputs = predict(lambda batch: supernet(batch, values=values), x_val)  # noqa: B023 (used at once)
            out[f"val_{task.metric}_{name}"] = task.score(outputs, np.asarray(y_val))
    finally:
        for variable, value in zip(supernet.non_trainable_variables, saved, strict=True):
            variable.assign(value)
    return out


def _check(
    supernet: BaseSupernet, x: Any, y: Any, epochs: Any, num_random: Any, batch: Any, validation_data: Any
) -> tuple[Any, np.ndarray, tuple[Any, np.ndarray] | None]:
    """The training and validation inputs (float32 arrays, or `FileImages` unread), after every argument is checked."""
    if not isinstance(supernet, BaseSupernet):
        raise TfnasInputError(
            f"train_supernet takes a supernet (tfnas.oneshot.Supernet or tfnas.oneshot.supernet_for(space)); "
            f"received: {supernet!r}."
        )
    for name, value, low in (("epochs", epochs, 1), ("num_random", num_random, 0), ("batch_size", batch, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise TfnasInputError(f"{name} must be an integer >= {low}; received: {name}={value!r}.")
    x, y = as_inputs(x), np.asarray(y)
    shape = tuple(supernet.space.input_shape)
    if x.shape[1:] != shape or len(x) != len(y) or not len(x):
        raise TfnasInputError(
            f"x must be (n, {', '.join(map(str, shape))}) with n > 0 and y n labels; "
            f"received: x {x.shape}, y {y.shape}."
        )
    if Task(supernet.space.task).is_classification and (y.dtype.kind not in "biu" or y.min() < 0
                                                         or y.max() >= supernet.space.num_outputs):
        raise TfnasInputError(f"y must be integer class ids in [0, {supernet.space.num_outputs}); received: {y[:5]}...")
    if validation_data is None:
        return x, y, None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise TfnasInputError(f"validation_data must be (x_val, y_val); received: {type(validation_data).__name__}.")
    x_val, y_val = as_inputs(validation_data[0]), np.asarray(validation_data[1])
    if x_val.shape[1:] != shape or len(x_val) != len(y_val) or not len(x_val):
        raise TfnasInputError(f"validation_data: x_val must be (n, {shape}) and y_val n labels; received: "
                              f"{x_val.shape}, {y_val.shape}.")
    return x, y, (x_val, y_val)


def _check_sampler(supernet: BaseSupernet, sample: SampleFn, seed: int) -> None:
    """Draws once from `sample` (on a throwaway generator) and resolves the draw, so a bad sampler fails now."""
    try:
        values = sample(np.random.default_rng([seed, 2**31]))
        supernet.resolve(dict(values))
    except TfnasInputError as error:
        raise TfnasInputError(f"sample_fn drew a sub-network the space does not have: {error}") from error
    except (TypeError, ValueError) as error:
        raise TfnasInputError(f"sample_fn(rng) must return a dict of hp values; it failed with: {error!r}.") from error
