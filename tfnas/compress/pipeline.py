"""`tfnas.compress()`: Keras 3 model in, compressed model (and a stage-by-stage report) out.

`compress(model, x, y, stages=[Prune(0.5), QAT()])` runs the stages it is
given; its stage keywords (`prune=0.5, qat=True`) are sugar for the same
list, built in one place (`plan.stages_from_kwargs`, in `plan.ORDER`: low-rank
factorisation -> channel pruning -> pruning -> clustering -> distillation
alone -> quantization-aware training). Every stage checks its arguments in
its constructor and against the model in `check`, and the shared options
(`options.CompressOptions`) are checked too, before the `Runner` fine-tunes
and measures each stage on held-out data. With a `Distill` stage (or
`distill=True`, the original as teacher) every stage fine-tunes on the
teacher's softened outputs. Without `epochs=` each stage fine-tunes until it
recovers (`recovery`); with `max_drop=` the strongest of several strengths
within the floor is returned (`floor`).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfnas import _compat
from tfnas.compress import distill as distill_lib
from tfnas.compress import floor
from tfnas.compress.architecture_stages import PruneChannels
from tfnas.compress.bridge import to_keras3
from tfnas.compress.measure import kernel_sparsity
from tfnas.compress.options import CompressOptions
from tfnas.compress.options import default_learning_rate
from tfnas.compress.plan import KEYWORDS
from tfnas.compress.plan import ORDER
from tfnas.compress.plan import keyword_form
from tfnas.compress.plan import resolve_stages
from tfnas.compress.plan import run_list
from tfnas.compress.recovery import RAMP_EPOCHS
from tfnas.compress.result import CompressionResult
from tfnas.compress.runner import FineTuning
from tfnas.compress.runner import Runner
from tfnas.compress.stage import Stage
from tfnas.compress.stage import StageContext
from tfnas.compress.stages import Distill
from tfnas.compress.stages import Prune
from tfnas.cost.device import load_device
from tfnas.data import prepare
from tfnas.errors import TfnasInputError
from tfnas.task import Task
from tfnas.training import Training

# Fine-tuning samples the data-driven choices of channel pruning (Taylor ranking, sensitivity) look at.
CHANNEL_SAMPLES = 512


def compress(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    stages: Sequence[Stage] | None = None,
    validation_data: Any = None,
    prune: float | Sequence[float] | Mapping[str, float] | None = None,
    structure: str | None = None,
    cluster: int | None = None,
    qat: bool = False,
    distill_from: Any = None,
    lowrank: int | float | None = None,
    epochs: int | None = None,
    batch_size: int = 32,
    learning_rate: float | None = None,
    keep: Sequence[str] | None = None,
    temperature: float = 4.0,
    distill_alpha: float = 0.1,
    space: Any = None,
    hp: Any = None,
    seed: int | None = 0,
    verbose: int = 0,
    training: Training | Mapping[str, Any] | None = None,
    channels: float | Sequence[float] | Mapping[str, float] | None = None,
    channel_criterion: str = "taylor",
    channel_steps: int = 2,
    target: Mapping[str, int] | None = None,
    channel_allocation: str = "uniform",
    device: Any = None,
    validation_split: float | None = 0.2,
    tolerance: float = 0.0,
    patience: int = 3,
    distill: bool = False,
    max_drop: float | None = None,
) -> CompressionResult:
    """Compresses a trained Keras 3 model with TF-MOT and reports each stage.

    The stages are objects (`Prune`, `PruneChannels`, `Cluster`, `LowRank`,
    `Distill`, `QAT`, or your own `Stage`); the stage keywords below build
    the same list and are refused together with `stages=`.

    Example:

    ```python
    from tfnas.compress import QAT, Prune

    result = tfnas.compress(model, x_train, y_train, stages=[Prune(0.5), QAT()],
                            validation_data=(x_val, y_val))
    # the same run: tfnas.compress(model, x_train, y_train, prune=0.5, qat=True, ...)
    result.summary()  # each stage fine-tuned until it recovered: its epochs and why it stopped
    tfnas.export(result, "model.tflite", c_array=True)

    # the strongest pruning that loses at most one accuracy point on the validation data
    floor = tfnas.compress(model, x_train, y_train, prune=[0.5, 0.7, 0.8], qat=True, max_drop=0.01)
    ```

    Args:
        model: A trained Keras 3 model of standard layers.
        x: Training inputs (numpy array) for fine-tuning.
        y: Training labels (class ids) or targets.
        stages: The stages to run, in the order of `plan.ORDER` (built-in
            stages at most once each; a custom `Stage` runs where it stands).
            None: the stages the keywords below ask for.
        validation_data: `(x_val, y_val)` every stage is measured on. Defaults
            to a seeded 20% split of `x` held out from fine-tuning.
        prune: Target sparsity in (0, 1) for every prunable layer but `keep`,
            or `{layer_name: sparsity}`, or (with `max_drop`) an increasing list
            of sparsities to try. PolynomialDecay from 0 over the first 70% of
            the fine-tuning steps; the wrappers are stripped after.
        structure: `"2:4"` for m:n structured pruning (sparsity m/n).
        cluster: Number of weight clusters per layer (weight sharing), e.g. 16.
        qat: Quantization-aware training; prune- or cluster-preserving after
            those stages so their zeros and shared values survive into int8.
        distill_from: A trained teacher Keras model: every stage fine-tunes on
            its softened outputs plus the labels.
        lowrank: Truncated-SVD rank (int) or share of full rank (float in
            (0, 1)) for large Dense layers.
        epochs: Fine-tuning epochs per stage. None (the default): each stage
            fine-tunes until its validation metric is back within `tolerance`
            of the original's, or has not improved for `patience` epochs, up
            to a cap that grows with the cut (`recovery.Recovery.cap`); its
            `StageReport` says how many epochs it ran and why it stopped.
        batch_size: Fine-tuning batch size.
        learning_rate: Adam learning rate for fine-tuning. Defaults to the
            peak rate the model was trained at (a schedule's starting rate),
            at most 3e-3: recovering from a cut needs about that rate.
        keep: Layer names that pruning and clustering leave alone. Defaults to
            the first and last weighted layers.
        temperature: Distillation temperature.
        distill_alpha: Weight of the label loss in distillation.
        space: The `EdgeSpace` that built `model` (with `hp`): the bridge to
            tf_keras then uses the space's own builder.
        hp: The model's `kt.HyperParameters` in `space`.
        seed: Seeds the validation split and the fine-tuning.
        verbose: 1 prints a line per stage and the summary; 2 also Keras's progress.
        channels: Share of filters to remove in (0, 1) (or `{layer: share}`)
            by channel pruning: whole filters go, and the result is a smaller
            Keras 3 model of ordinary layers (fewer MACs, bytes and arena on
            TFLite Micro, where pruned zeros change nothing). `keep` applies.
            With `max_drop`, an increasing list of shares to try.
        channel_criterion: How filters are ranked: "l1" or "l2" norm, "bn"
            (|gamma|), or "taylor" (the default: the first-order Taylor estimate
            of the loss change on 512 fine-tuning samples, Molchanov et al.
            2019; it lost less than "l1" in bench_compress's medians).
        channel_steps: Channel pruning steps, each fine-tuned `epochs`.
        target: Cost limits channel pruning must meet, e.g.
            `{"max_macs": 8000}` (any `tfnas.Constraints` key): the shares are
            found by the cost model, as `channel_allocation` says. Without
            `keep=`, the first layer is pruned too when the target cannot be
            met otherwise (a note says so).
        channel_allocation: How `target` is shared out: "uniform" (one share
            for every prunable layer) or "sensitivity" (each layer group pruned
            alone first, its accuracy drop measured on 512 fine-tuning samples;
            the groups that hurt least give up most).
        device: A `tfnas.latency.DeviceProfile` or the path of its JSON file,
            for a latency target (`target={"max_latency_ms": 4}`): channel
            pruning prices each pruned model's `latency_ms` on it. Given to
            every `PruneChannels` stage that has none.
        training: The search's `tfnas.Training` recipe (or a dict of its
            fields): each stage fine-tunes on its schedule (cosine decay
            from `learning_rate` to 0 by default, no warm-up), with its weight
            decay, augmentation and batch size (when set; else `batch_size`).
        validation_split: Share of `x` held out when `validation_data` is None.
        tolerance: With `epochs=None`: how far below the original's
            validation metric a stage counts as recovered (accuracy: absolute;
            mae: relative). 0: back to the original.
        patience: With `epochs=None`: epochs without improvement before a stage stops.
        distill: Fine-tune every stage on the original model's softened
            outputs as well as the labels (classification only; `distill_from`'s teacher wins).
            Off by default: on the benchmark (half the MACs + QAT, 3 seeds) it moved the int8
            file's test accuracy by -0.44, +0.10 and +0.10 points (digits, keyword DS-CNN, MNIST-1D).
        max_drop: Accuracy floor in [0, 1) (0.01: one accuracy point; mae:
            relative). With a list of strengths (`prune=[...]`, `channels=[...]`)
            or a `target` (tried in 3 steps from the model's cost), the
            strongest step within the floor is returned, every tried step in
            `CompressionResult.tried`; the original model with a note when even the mildest breaks it.

    Returns:
        A `CompressionResult`.

    Raises:
        TfnasInputError: bad model, data or arguments, before any training.
    """
    arguments = dict(locals())
    if not _compat.is_keras3_model(model):
        raise TfnasInputError(
            f"compress expects a trained Keras 3 model (keras.Model). You passed an object of type: {type(model).__name__}."
        )
    options = CompressOptions.from_arguments(arguments)
    options.device = load_device(device, purpose="tfnas.compress")  # read once, priced by every channel-pruning step
    rungs = floor.rungs(stages, {name: arguments[name] for name in KEYWORDS}, max_drop, model, options.device)
    if rungs is None:
        rungs = [floor.Rung(None, resolve_stages(stages, {name: arguments[name] for name in KEYWORDS}))]
    for rung in rungs:
        if not rung.stages:
            raise TfnasInputError(
                "Nothing to do: pass stages=[...] (e.g. [Prune(0.5), QAT()]), or prune=, structure=, cluster=, qat=True, "
                "distill_from=, lowrank=, channels= or target=."
            )
        for stage in rung.stages:
            if isinstance(stage, PruneChannels) and stage.device is None:
                stage.device = options.device
        _checked(model, x, y, rung.stages, options)  # every step's stages, before any fine-tuning
    if options.max_drop is None:
        return _run(model, x, y, rungs[0].stages, options)
    return _floor(model, x, y, rungs, options, floor.maker(stages, {name: arguments[name] for name in KEYWORDS}))


def _floor(model: Any, x: Any, y: Any, rungs: list[floor.Rung], options: CompressOptions,
           make: Callable[[Any], floor.Rung] | None) -> CompressionResult:
    """The strongest step within `max_drop`, or the original model with a note (`floor.choose`)."""
    assert options.max_drop is not None
    task = _checked(model, x, y, [], options).spec.task

    def priced(strength: Any) -> floor.Rung:  # a step between two tried ones, priced on the same device
        assert make is not None
        rung = make(strength)
        for stage in rung.stages:
            if isinstance(stage, PruneChannels) and stage.device is None:
                stage.device = options.device
        return rung

    return floor.choose(model, rungs, lambda stages: _run(model, x, y, stages, options), options.max_drop, task,
                        priced if make is not None else None)


def _checked(model: Any, x: Any, y: Any, stages: list[Stage], options: CompressOptions) -> Any:
    """The prepared data, after checking it and every stage against the model (before any training)."""
    batch_size = options.recipe().batch_size or options.batch_size
    data = _checked_data(model, x, y, validation_data=options.validation_data, epochs=options.epochs, batch_size=batch_size,
                         seed=options.seed, validation_split=options.validation_split)
    for stage in stages:
        stage.check(model, data.spec.task)
    return data


def _run(model: Any, x: Any, y: Any, stages: list[Stage], options: CompressOptions) -> CompressionResult:
    """Fine-tunes and measures each (checked) stage."""
    recipe = options.recipe()
    batch_size = recipe.batch_size or options.batch_size
    data = _checked(model, x, y, [], options)
    (x_fit, y_fit), (x_val, y_val) = data.fit_args, data.fit_kwargs["validation_data"]
    task = data.spec.task
    teacher = next((stage for stage in stages if isinstance(stage, Distill)), None)
    if teacher is None and options.distill and task.is_classification:
        teacher = Distill(model)  # the original as teacher: fine-tuning pulls the compressed model back to its outputs
    from_softmax = distill_lib.ends_in_softmax(model)
    loss_fn = _plain_loss(_compat.tf_keras(), task, from_softmax) if teacher is None else teacher.loss(model)

    if options.seed is not None:
        _compat.tf_keras().utils.set_random_seed(options.seed)
    lr = options.learning_rate or default_learning_rate(model)
    targets = y_fit
    if teacher is not None:
        targets = distill_lib.pack(y_fit, distill_lib.soft_targets(teacher.teacher, x_fit, teacher.temperature))
    verbose = max(options.verbose - 1, 0)
    fine_tuning = FineTuning(x_fit, targets, loss_fn, lr, options.epochs, batch_size, verbose=verbose, training=recipe,
                             tolerance=options.tolerance, patience=options.patience)
    steps = int(np.ceil(len(x_fit) / batch_size)) * (options.epochs or RAMP_EPOCHS)
    context = StageContext(x_val, y_val, task, fit_steps=steps, architecture=model, space=options.space, hp=options.hp,
                           samples=(x_fit[:CHANNEL_SAMPLES], y_fit[:CHANNEL_SAMPLES]))
    working, reports = Runner(fine_tuning, options.verbose).run(model, run_list(stages), context)
    keywords = keyword_form(stages)
    if len(reports) == 1 and keywords["target"] is None:  # with a target the model may simply meet it already (a note says so)
        raise TfnasInputError(f"Nothing was compressed: {' '.join(context.notes)}")

    settings = {**_stage_settings(keywords), **options.settings(recipe, batch_size, lr)}
    keras_model = to_keras3(working, context.architecture)
    result = CompressionResult(
        model=working if keywords["qat"] else keras_model, keras_model=keras_model, stages=reports,
        skipped_layers=context.skipped, sparsity=kernel_sparsity(working, context.changed.get(Prune.name, [])),
        calibration_data=np.asarray(x_fit[: task.calibration_samples], np.float32), task=task.kind, settings=settings,
        notes=context.notes,
    )
    if options.verbose:
        result.summary()
    return result


def _stage_settings(keywords: dict[str, Any]) -> dict[str, Any]:
    """What `CompressionResult.settings` records of the stages: their keyword form, the teacher as a flag."""
    dropped = ("keep", "distill_from", "distill_alpha")
    settings = {name: value for name, value in keywords.items() if name not in dropped}
    settings["channels"] = dict(settings["channels"]) if isinstance(settings["channels"], Mapping) else settings["channels"]
    settings["target"] = dict(settings["target"] or {}) or None
    return {**settings, "distill": keywords["distill_from"] is not None}


def _checked_data(model: Any, x: Any, y: Any, *, validation_data: Any, epochs: Any, batch_size: Any, seed: int | None,
                  validation_split: float | None = 0.2) -> Any:
    """The fine-tuning and validation splits, after checking the settings and the data against the model."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if name == "epochs" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise TfnasInputError(f"{name} must be a positive integer. Received: {name}={value!r}")
    if not isinstance(x, np.ndarray) and not hasattr(x, "__array__"):
        raise TfnasInputError(
            f"compress takes numpy arrays for x and y; you passed {type(x).__name__}. "
            "Convert a dataset with np.concatenate over its batches."
        )
    data = prepare(x, y, validation_data=validation_data, validation_split=validation_split or 0.0, batch_size=batch_size,
                   seed=seed)
    if tuple(model.input_shape[1:]) != data.spec.input_shape:
        raise TfnasInputError(
            f"The model takes inputs of shape {tuple(model.input_shape[1:])} but x has samples of shape {data.spec.input_shape}."
        )
    if data.spec.task.is_classification and data.spec.num_outputs > model.output_shape[-1]:
        raise TfnasInputError(
            f"The labels go up to {data.spec.num_outputs - 1} but the model has {model.output_shape[-1]} outputs: "
            "compress the model with the labels it was trained on."
        )
    return data


def _plain_loss(tfk: Any, task: Task, from_softmax: bool) -> Any:
    if not task.is_classification:
        return tfk.losses.MeanSquaredError()
    return tfk.losses.SparseCategoricalCrossentropy(from_logits=not from_softmax)


# `tfnas.compress` is this function (the package's name is taken by it, see `tfnas._FUNCTIONS`), so the stages
# are set on it too: `tfnas.compress.Prune` is `tfnas.compress.stages.Prune`, as `from tfnas.compress import Prune` is.
for _stage in ORDER:
    setattr(compress, _stage.__name__, _stage)
compress.Stage = Stage  # type: ignore[attr-defined]
