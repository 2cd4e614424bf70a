"""`tfnas.compress()`: Keras 3 model in, compressed model (and a stage-by-stage report) out.

Stages run in this order, each fine-tuned and measured on held-out data:
low-rank factorisation -> pruning -> clustering -> (distillation alone, when
it is the only stage) -> quantization-aware training. Distillation is not a
stage of its own otherwise: with a teacher, every stage fine-tunes on the
teacher's softened outputs. Every argument is checked before any training.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfnas import _compat
from tfnas.compress import cluster as cluster_lib
from tfnas.compress import distill as distill_lib
from tfnas.compress import lowrank as lowrank_lib
from tfnas.compress import prune as prune_lib
from tfnas.compress import quantize as quantize_lib
from tfnas.compress.bridge import to_keras3
from tfnas.compress.bridge import to_tf_keras
from tfnas.compress.measure import kernel_sparsity
from tfnas.compress.measure import quality
from tfnas.compress.measure import weight_stats
from tfnas.compress.result import CompressionResult
from tfnas.compress.result import StageReport
from tfnas.data import prepare
from tfnas.errors import TfnasInputError

CALIBRATION_SAMPLES = 200


def compress(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    validation_data: Any = None,
    prune: float | Mapping[str, float] | None = None,
    structure: str | None = None,
    cluster: int | None = None,
    qat: bool = False,
    distill_from: Any = None,
    lowrank: int | float | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float | None = None,
    keep: Sequence[str] | None = None,
    temperature: float = 4.0,
    distill_alpha: float = 0.1,
    space: Any = None,
    hp: Any = None,
    seed: int | None = 0,
    verbose: int = 0,
) -> CompressionResult:
    """Compresses a trained Keras 3 model with TF-MOT and reports each stage.

    Example:

    ```python
    result = tfnas.compress(model, x_train, y_train, validation_data=(x_val, y_val),
                            prune=0.5, qat=True, epochs=10)
    result.summary()
    tfnas.export(result, "model.tflite", c_array=True)
    ```

    Args:
        model: A trained Keras 3 model of standard layers.
        x: Training inputs (numpy array) for fine-tuning.
        y: Training labels (class ids) or targets.
        validation_data: `(x_val, y_val)` every stage is measured on. Defaults
            to a seeded 20% split of `x` held out from fine-tuning.
        prune: Target sparsity in (0, 1) for every prunable layer but `keep`,
            or `{layer_name: sparsity}`. PolynomialDecay from 0 over the
            first 70% of the fine-tuning steps; the wrappers are stripped after.
        structure: `"2:4"` for m:n structured pruning (sparsity m/n).
        cluster: Number of weight clusters per layer (weight sharing), e.g. 16.
        qat: Quantization-aware training; prune- or cluster-preserving after
            those stages so their zeros and shared values survive into int8.
        distill_from: A trained teacher Keras model: every stage fine-tunes on
            its softened outputs plus the labels.
        lowrank: Truncated-SVD rank (int) or share of full rank (float in
            (0, 1)) for large Dense layers.
        epochs: Fine-tuning epochs per stage.
        batch_size: Fine-tuning batch size.
        learning_rate: Adam learning rate for fine-tuning. Defaults to the
            model's own, at most 1e-3.
        keep: Layer names that pruning and clustering leave alone. Defaults to
            the first and last weighted layers.
        temperature: Distillation temperature.
        distill_alpha: Weight of the label loss in distillation.
        space: The `EdgeSpace` that built `model` (with `hp`): the bridge to
            tf_keras then uses the space's own builder.
        hp: The model's `kt.HyperParameters` in `space`.
        seed: Seeds the validation split and the fine-tuning.
        verbose: 1 prints a line per stage and the summary; 2 also Keras's progress.

    Returns:
        A `CompressionResult`.

    Raises:
        TfnasInputError: bad model, data or arguments, before any training.
    """
    if not _compat.is_keras3_model(model):
        raise TfnasInputError(f"compress expects a trained Keras 3 model (keras.Model). You passed an object of type: {type(model).__name__}.")
    if prune is None and structure is None and cluster is None and not qat and distill_from is None and lowrank is None:
        raise TfnasInputError("Nothing to do: pass prune=, structure=, cluster=, qat=True, distill_from= or lowrank=.")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise TfnasInputError(f"{name} must be a positive integer. Received: {name}={value!r}")
    if not isinstance(x, np.ndarray) and not hasattr(x, "__array__"):
        raise TfnasInputError(f"compress takes numpy arrays for x and y; you passed {type(x).__name__}. Convert a dataset with np.concatenate over its batches.")
    data = prepare(x, y, validation_data=validation_data, batch_size=batch_size, seed=seed)
    (x_fit, y_fit), (x_val, y_val) = data.fit_args, data.fit_kwargs["validation_data"]
    task = data.spec.task
    if tuple(model.input_shape[1:]) != data.spec.input_shape:
        raise TfnasInputError(f"The model takes inputs of shape {tuple(model.input_shape[1:])} but x has samples of shape {data.spec.input_shape}.")
    if task == "classification" and data.spec.num_outputs > model.output_shape[-1]:
        raise TfnasInputError(
            f"The labels go up to {data.spec.num_outputs - 1} but the model has {model.output_shape[-1]} outputs: "
            "compress the model with the labels it was trained on."
        )
    if distill_from is not None:
        if task != "classification":
            raise TfnasInputError("distill_from works for classification only: the teacher's softened class probabilities are the targets.")
        distill_lib.check_teacher(distill_from, model)
        loss_fn = distill_lib.DistillationLoss(temperature, distill_alpha, from_softmax=distill_lib.ends_in_softmax(model))
    ranks, lowrank_skipped = lowrank_lib.plan_lowrank(model, lowrank) if lowrank is not None else ({}, {})
    prune_lib.check_request(prune, structure)
    if cluster is not None:
        cluster_lib.check_clusters(cluster)

    tfk = _compat.tf_keras()
    if seed is not None:
        tfk.utils.set_random_seed(seed)
    lr = learning_rate or _learning_rate(model)
    if distill_from is not None:
        targets = distill_lib.pack(y_fit, distill_lib.soft_targets(distill_from, x_fit, temperature))
    else:
        targets = y_fit
        loss_fn = _plain_loss(tfk, task, distill_lib.ends_in_softmax(model))

    def measure(stage: str, tf_model: Any, stats_model: Any, seconds: float = 0.0, stage_epochs: int = 0) -> None:
        stats = weight_stats(stats_model)
        value = quality(tf_model, x_val, y_val, task)
        report = StageReport(stage, "accuracy" if task == "classification" else "mae", value, **stats, seconds=seconds, epochs=stage_epochs)
        if stages:
            base = stages[0]
            report.compression_rate = (base.nonzero_params - report.nonzero_params) / max(base.nonzero_params, 1)
            sign = 1.0 if task == "classification" else -1.0
            report.performance_loss = sign * (base.value - report.value) / base.value if base.value else 0.0
        stages.append(report)
        if verbose:
            print(f"[tfnas.compress] {stage}: {report.metric} {value:.4f}, {stats['nonzero_params']:,} non-zero weights, {seconds:.1f}s")

    def fine_tune(tf_model: Any, callbacks: list) -> float:
        tf_model.compile(optimizer=tfk.optimizers.Adam(learning_rate=lr), loss=loss_fn)
        start = time.perf_counter()
        tf_model.fit(x_fit, targets, epochs=epochs, batch_size=batch_size, callbacks=callbacks, verbose=max(verbose - 1, 0))
        return time.perf_counter() - start

    stages: list[StageReport] = []
    skipped: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    measure("float", model, model)

    architecture = model
    if ranks:
        architecture = lowrank_lib.factorize(model, ranks)
        space = hp = None  # the factorised model is no longer the space's architecture
    if lowrank is not None:
        skipped["lowrank"] = lowrank_skipped
    working = to_tf_keras(architecture, x_val[:32], space=space, hp=hp)
    if ranks:
        measure("lowrank", working, architecture, fine_tune(working, []), epochs)

    pruned_layers: list[str] = []
    clustered_layers: list[str] = []
    if prune is not None or structure is not None:
        plan = prune_lib.plan_pruning(working, prune, structure=structure, keep=keep)
        skipped["prune"] = plan.skipped
        if not plan.sparsity:
            raise TfnasInputError(f"No layer can be pruned with these settings: {plan.skipped}.")
        steps = int(np.ceil(len(x_fit) / batch_size)) * epochs
        end_step = max(1, int(0.7 * steps))
        wrapped = prune_lib.apply_pruning(working, plan, end_step=end_step, frequency=max(1, end_step // 10))
        seconds = fine_tune(wrapped, prune_lib.callbacks())
        working = prune_lib.strip(wrapped)
        pruned_layers = sorted(plan.sparsity)
        measure("prune", working, working, seconds, epochs)

    if cluster is not None:
        plan = cluster_lib.plan_clustering(working, cluster, keep=keep, preserve_sparsity=bool(pruned_layers))
        skipped["cluster"] = plan.skipped
        wrapped = cluster_lib.apply_clustering(working, plan)
        seconds = fine_tune(wrapped, [])
        working = cluster_lib.strip(wrapped)
        clustered_layers = list(plan.layers)
        measure("cluster", working, working, seconds, epochs)

    if distill_from is not None and len(stages) == 1 and not qat:
        measure("distill", working, working, fine_tune(working, []), epochs)

    if qat:
        before = kernel_sparsity(working, pruned_layers)
        scheme = quantize_lib.scheme_for(bool(pruned_layers), cluster is not None)
        changed = set(pruned_layers) | set(clustered_layers)
        working, floating = quantize_lib.apply_qat(working, scheme, frozen=changed)
        skipped["qat"] = floating
        seconds = fine_tune(working, [])
        after = kernel_sparsity(working, pruned_layers)
        lost = {name: (before[name], after.get(name, 0.0)) for name in before if after.get(name, 0.0) < before[name] - 1e-6}
        if lost:
            notes.append(f"QAT lowered the sparsity of {sorted(lost)} (before, after: {lost}).")
        measure("qat", working, to_keras3(working, architecture), seconds, epochs)

    keras_model = to_keras3(working, architecture)
    settings = {
        "prune": dict(prune) if isinstance(prune, Mapping) else prune, "structure": structure, "cluster": cluster,
        "qat": qat, "distill": distill_from is not None, "lowrank": lowrank, "epochs": epochs,
        "batch_size": batch_size, "learning_rate": float(lr), "temperature": temperature, "seed": seed,
    }
    result = CompressionResult(
        model=working if qat else keras_model, keras_model=keras_model, stages=stages, skipped_layers=skipped,
        sparsity=kernel_sparsity(working, pruned_layers), calibration_data=np.asarray(x_fit[:CALIBRATION_SAMPLES], np.float32),
        task=task, settings=settings, notes=notes,
    )
    if verbose:
        result.summary()
    return result


def _learning_rate(model: Any) -> float:
    """The model's own Adam learning rate, at most 1e-3 (fine-tuning a trained model)."""
    try:
        return min(float(np.asarray(model.optimizer.learning_rate)), 1e-3)
    except (AttributeError, TypeError, ValueError):
        return 1e-3


def _plain_loss(tfk: Any, task: str, from_softmax: bool) -> Any:
    if task == "regression":
        return tfk.losses.MeanSquaredError()
    return tfk.losses.SparseCategoricalCrossentropy(from_logits=not from_softmax)
