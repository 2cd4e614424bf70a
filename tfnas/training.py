"""`Training`: the one training recipe that trials, final training and compression fine-tuning share.

Why one object: a trial's score only ranks candidates fairly when every
candidate trains the same way, and the model a user deploys should be trained
the way its trial was scored. The recipe adds what a constant-rate
`model.fit` lacks: a learning-rate schedule (cosine decay with a linear
warm-up by default, or reduce-on-plateau), early stopping, label smoothing,
decoupled weight decay (AdamW), and augmentation (random shift, Gaussian
noise) done by Keras preprocessing layers in the input pipeline, so none of
it is in the exported model.

The peak learning rate is the one the model was compiled with (a space's
`learning_rate` hp); the model's own compile (loss, metrics, optimizer) is
put back after training, so a saved model loads with plain Keras.

What a trial reports is its **last** epoch's validation metric, the one of
the weights that are saved: with a schedule that decays to zero the last
epoch is the converged one, and the maximum over a noisy validation curve
would be an optimistic pick.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfnas import _compat
from tfnas.arguments import check_arguments
from tfnas.errors import TfnasInputError
from tfnas.image_files import FileImages

SCHEDULES = ("cosine", "plateau", "constant")
BATCHNORM_CHUNK = 64  # samples per training-mode call when batch norm is re-estimated


@dataclasses.dataclass(frozen=True)
class Training:
    """How every model of a search is trained (plain data: `to_dict` dumps to YAML).

    Args:
        schedule: "cosine" (decay to 0 over the run after `warmup_epochs` of
            linear warm-up), "plateau" (divide by 5 after `patience or 3`
            epochs without progress on the validation loss) or "constant".
        warmup_epochs: epochs of linear warm-up before the cosine decay.
        patience: stop when the validation objective has not improved for
            this many epochs (the weights of the last epoch are kept); None
            trains every epoch. Epochs trained are reported as `epochs`.
        label_smoothing: classification targets become `1 - s` for the true
            class and `s / K` spread over all K classes (0.1 by default: +0.2
            to +1.1 points of median test accuracy for five digits models).
        weight_decay: AdamW's decoupled weight decay; 0 keeps Adam.
        batch_size: the training batch size; None takes the search's.
        shift: random shift of images and signals during training, as a
            fraction of each spatial axis (0.1 = up to 10%); 0 = none.
        noise: standard deviation of Gaussian noise added to the inputs
            during training; 0 = none.
        final_epochs: epochs of the final training of the front
            (`SearchResult.finalize`); None = 3x the search's epochs.

    Example:
        >>> recipe = Training(schedule="cosine", label_smoothing=0.1, weight_decay=1e-4)
        >>> tfnas.search(x, y, training=recipe)
    """

    schedule: str = "cosine"
    warmup_epochs: int = 2
    patience: int | None = None
    label_smoothing: float = 0.1
    weight_decay: float = 1e-4
    batch_size: int | None = None
    shift: float = 0.0
    noise: float = 0.0
    final_epochs: int | None = None

    def __post_init__(self) -> None:
        _check(self)

    @classmethod
    def from_any(cls, value: Training | Mapping[str, Any] | None) -> Training:
        """A recipe from a `Training`, a dict of its fields (a config's `training:` section) or None (defaults)."""
        if value is None:
            return cls()
        if isinstance(value, Training):
            return value
        if isinstance(value, Mapping):
            check_arguments(cls, value, "training", "the training recipe")
            return cls(**value)
        raise TfnasInputError(
            f"training={value!r} must be a tfnas.Training or a dict of its fields, e.g. "
            "{'schedule': 'cosine', 'label_smoothing': 0.1}."
        )

    def to_dict(self) -> dict[str, Any]:
        """The recipe as plain data."""
        return dataclasses.asdict(self)

    def fit(
        self,
        model: keras.Model,
        x: Any,
        y: Any = None,
        *,
        epochs: int,
        batch_size: int | None = None,
        validation_data: Any = None,
        callbacks: list | None = None,
        initial_epoch: int = 0,
        monitor: str | None = None,
        fit_fn: Callable[..., Any] | None = None,
        verbose: int = 0,
    ) -> keras.callbacks.History:
        """Trains `model` with this recipe; its own compile is put back afterwards.

        Args:
            model: a compiled Keras 3 model; its optimizer's learning rate is the peak rate.
            x: an array, or a batched `tf.data.Dataset` of `(x, y)` (then `y` is None).
            y: the labels of an array `x`.
            epochs: the epoch to train up to (`model.fit`'s meaning, with `initial_epoch`).
            batch_size: for arrays, when the recipe has none.
            validation_data: `(x_val, y_val)` or a dataset; needed by `patience` and "plateau".
            callbacks: more Keras callbacks.
            initial_epoch: the epoch training goes on from (Hyperband promotions).
            monitor: the validation metric early stopping watches; defaults
                to `val_loss`.
            fit_fn: called as `fit_fn(model, dataset, **fit_kwargs)` instead
                of `model.fit` (keras-tuner's `HyperModel.fit`).
            verbose: passed to `fit`.

        Returns:
            The `History` of the run.
        """
        batch = self.batch_size or batch_size or 32
        dataset = self.dataset(x, y, batch)
        per_epoch = _steps(dataset)  # once: a dataset of unknown length is counted by iterating it
        steps = per_epoch * max(1, epochs - initial_epoch)
        # The objects themselves, not `get_compile_config()`: a user's unregistered loss or metric cannot be read back.
        optimizer, loss, metrics = model.optimizer, model.loss, _compat.compile_metrics(model)
        peak = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        model.compile(optimizer=self.optimizer(peak, steps, per_epoch), loss=self.loss(model), metrics=metrics)
        if isinstance(validation_data, (tuple, list)) and isinstance(validation_data[0], FileImages):
            validation_data = validation_data[0].dataset(validation_data[1], batch)
        elif isinstance(validation_data, (tuple, list)):
            # batched here: Keras's own array adapter maps in parallel, which TensorFlow's op determinism
            # (`tfnas.search(seed=...)`) logs an error line about on every fit
            validation_data = tf.data.Dataset.from_tensor_slices(tuple(validation_data)).batch(max(batch, 256))
        callbacks = [*(callbacks or []), *self.callbacks(monitor)]
        fit = fit_fn or (lambda m, *args, **kwargs: m.fit(*args, **kwargs))
        try:
            return fit(
                model, dataset, epochs=epochs, initial_epoch=initial_epoch, validation_data=validation_data,
                callbacks=callbacks, verbose=verbose, shuffle=False,  # the dataset shuffles itself
            )
        finally:
            model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
            if not optimizer.built:  # a saved model then loads without Keras warning about optimizer variables
                optimizer.build(model.trainable_variables)

    def dataset(self, x: Any, y: Any, batch_size: int) -> tf.data.Dataset:
        """The training input pipeline: shuffled batches, augmented when `shift` or `noise` is set."""
        if isinstance(x, tf.data.Dataset):
            dataset = x
        elif isinstance(x, FileImages):  # an image folder: read from disk batch by batch
            dataset = x.dataset(y, batch_size, shuffle=True)
        else:
            dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), reshuffle_each_iteration=True)
            dataset = dataset.batch(batch_size)
        augment = self.augmenter(tuple(dataset.element_spec[0].shape[1:]))
        if augment is not None:
            dataset = dataset.map(lambda xb, yb: (augment(xb, training=True), yb))
        return dataset.prefetch(2)

    def augmenter(self, sample_shape: tuple[int, ...]) -> keras.Sequential | None:
        """Keras preprocessing layers for `shift` and `noise` on samples of this shape, or None."""
        layers = []
        if self.shift and len(sample_shape) in (2, 3):
            if len(sample_shape) == 2:  # a signal (T, C) shifts along T as a (T, 1, C) image
                layers.append(keras.layers.Reshape((sample_shape[0], 1, sample_shape[1])))
            width = self.shift if len(sample_shape) == 3 else 0.0
            layers.append(keras.layers.RandomTranslation(self.shift, width, fill_mode="constant"))
            if len(sample_shape) == 2:
                layers.append(keras.layers.Reshape(sample_shape))
        if self.noise:
            layers.append(keras.layers.GaussianNoise(self.noise))
        return keras.Sequential(layers, name="augment") if layers else None

    def optimizer(self, peak: float, total_steps: int, steps_per_epoch: int, keras_module: ModuleType = keras) -> Any:
        """Adam (AdamW with `weight_decay`) on this recipe's schedule, peaking at `peak`.

        `keras_module` is `keras` or `tf_keras` (compression fine-tunes TF-MOT's tf_keras models).
        """
        rate = self.learning_rate(peak, total_steps, steps_per_epoch, keras_module)
        if self.weight_decay:
            return keras_module.optimizers.AdamW(rate, weight_decay=self.weight_decay)
        return keras_module.optimizers.Adam(rate)

    def learning_rate(self, peak: float, total_steps: int, steps_per_epoch: int, keras_module: ModuleType = keras) -> Any:
        """The learning rate by step: cosine decay to 0 after a linear warm-up, or `peak` (the plateau callback lowers it)."""
        if self.schedule != "cosine":
            return peak
        warmup = min(self.warmup_epochs * steps_per_epoch, total_steps // 2)
        return keras_module.optimizers.schedules.CosineDecay(
            0.0 if warmup else peak, max(1, total_steps - warmup), warmup_target=peak if warmup else None,
            warmup_steps=warmup,
        )

    def fine_tuning(self) -> Training:
        """The recipe compression fine-tunes with: no warm-up (the weights are trained), no smoothing, no early stop.

        The stages' own losses (distillation) and pruning schedules stay
        theirs; the learning-rate schedule, weight decay, batch size and
        augmentation are this recipe's.
        """
        return dataclasses.replace(self, warmup_epochs=0, patience=None, label_smoothing=0.0)

    def loss(self, model: keras.Model) -> Any:
        """The model's loss, label-smoothed for integer class labels when `label_smoothing` is set."""
        loss = model.loss
        if not self.label_smoothing or loss not in ("sparse_categorical_crossentropy",):
            return loss
        smoothing = self.label_smoothing

        def smoothed_crossentropy(y_true: Any, y_pred: Any) -> Any:
            classes = keras.ops.shape(y_pred)[-1]
            one_hot = keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32"), classes)
            return keras.losses.categorical_crossentropy(one_hot, y_pred, label_smoothing=smoothing)

        return smoothed_crossentropy

    def callbacks(self, monitor: str | None = None) -> list[keras.callbacks.Callback]:
        """Early stopping and reduce-on-plateau, as the recipe asks."""
        callbacks: list[keras.callbacks.Callback] = []
        if self.patience is not None:
            mode = "min" if (monitor or "val_loss").endswith(("loss", "error", "mae", "mse")) else "max"
            callbacks.append(keras.callbacks.EarlyStopping(monitor or "val_loss", patience=self.patience, mode=mode))
        if self.schedule == "plateau":
            callbacks.append(keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.2, patience=self.patience or 3))
        return callbacks


def _steps(dataset: tf.data.Dataset) -> int:
    """Batches per epoch of a finite dataset (counted once when TensorFlow cannot tell)."""
    count = int(dataset.cardinality())
    if count >= 0:
        return max(1, count)
    return max(1, sum(1 for _ in dataset))


def _check(recipe: Training) -> None:
    """Every field's type and range, with the fix; raised when the recipe is made, before any training."""
    problems = []
    if recipe.schedule not in SCHEDULES:
        problems.append(f"schedule={recipe.schedule!r} must be one of {SCHEDULES}")
    for name in ("warmup_epochs", "patience", "batch_size", "final_epochs"):
        value = getattr(recipe, name)
        low = 0 if name == "warmup_epochs" else 1
        if value is None and name != "warmup_epochs":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            problems.append(f"{name}={value!r} must be an integer >= {low}" + ("" if low == 0 else " or None"))
    for name, high in (("label_smoothing", 1.0), ("weight_decay", 1.0), ("shift", 1.0), ("noise", math.inf)):
        value = getattr(recipe, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < high:
            problems.append(f"{name}={value!r} must be a number in [0, {high})")
    if problems:
        raise TfnasInputError(f"Bad training recipe: {'; '.join(problems)}.")


def recalibrate_batchnorm(model: Any, x: Any) -> Any:
    """Sets every BatchNormalization's moving mean and variance to the statistics of `x` through `model`, in place.

    Removing filters (channel pruning) or cutting a sub-network out of a
    supernet shifts the statistics the layers see; with them re-estimated on
    a few hundred training samples, the smaller model's accuracy before any
    fine-tuning is a far better guide to its accuracy after it (adaptive
    batch norm, Li et al., EagleEye, ECCV 2020). See `estimate_batchnorm`.
    """
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    estimate_batchnorm(lambda chunk: model(chunk, training=True), norms, x)
    return model


def estimate_batchnorm(call: Callable[[np.ndarray], Any], norms: list, x: Any, chunk: int = BATCHNORM_CHUNK) -> None:
    """Training-mode `call`s over `x` in chunks that leave each of `norms` with the average of the chunks' statistics.

    Before the k-th chunk each layer's momentum is set to (samples seen) /
    (samples seen + chunk size), so the moving mean ends exactly at the mean
    of `x` and the moving variance at the sample-weighted mean of the chunks'
    variances (as Once-for-All re-estimates them; it leaves out the spread of
    the chunk means, under 2% of the variance for 64-sample chunks of iid
    samples). Chunks keep the activations of one call small: 256 images of
    96 px in one call took ~0.5 GB. The momenta are put back afterwards.
    `x` is an array or `FileImages` (decoded a chunk at a time).
    """
    momenta = [norm.momentum for norm in norms]
    try:
        seen = 0
        for start in range(0, len(x), chunk):
            batch = np.asarray(x[start : start + chunk], np.float32)
            for norm in norms:
                norm.momentum = seen / (seen + len(batch))
            call(batch)
            seen += len(batch)
    finally:
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
