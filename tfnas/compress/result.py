"""`CompressionResult` and `StageReport`: what `tfnas.compress` hands to export, as plain data plus models."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np


@dataclasses.dataclass
class StageReport:
    """One compression stage, measured on the held-out data.

    Attributes:
        stage: "float" (the input model), "lowrank", "channels", "prune", "cluster", "distill" or "qat".
        metric: "accuracy" (classification) or "mae" (regression).
        value: the metric after the stage (for "qat", of the fake-quantized model).
        value_before_tuning: for a stage that changes the architecture
            (channel pruning, low rank), the metric right after the change,
            before fine-tuning: what the cut alone costs. None for the others.
        params: weights of the model (BatchNorm statistics included).
        nonzero_params: weights that are not exactly zero.
        gzip_bytes: gzip-compressed float32 weights: what pruning and clustering save in storage.
        compression_rate: (W - W') / W on non-zero weights, against the float model.
        params_rate: (W - W') / W on all weights: what removing filters saves.
        performance_loss: (P - P') / P against the float model (for "mae", (P' - P) / P: positive is worse).
        macs: multiply-accumulates of the architecture after the stage (cost model).
        tflite_bytes: the cost model's full-int8 file size of that architecture.
        peak_ram_bytes: the cost model's activation arena of that architecture.
        macs_rate: (M - M') / M on MACs, against the float model: only
            architecture stages (channel pruning, low rank) change it.
        seconds: fine-tuning wall time of the stage.
        epochs: fine-tuning epochs the stage ran.
        stop_reason: why its fine-tuning stopped: "epochs" (the `epochs=` asked
            for), or with `epochs=None` "recovered" (back within `tolerance` of
            the float model), "plateau" (no gain for `patience` epochs) or "cap".
            Empty for the float model.
    """

    stage: str
    metric: str
    value: float
    params: int
    nonzero_params: int
    gzip_bytes: int
    compression_rate: float = 0.0
    performance_loss: float = 0.0
    seconds: float = 0.0
    epochs: int = 0
    macs: int = 0
    tflite_bytes: int = 0
    peak_ram_bytes: int = 0
    macs_rate: float = 0.0
    params_rate: float = 0.0
    value_before_tuning: float | None = None
    stop_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """YAML-dumpable dict."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class FloorStep:
    """One step tried under `max_drop` (`tfnas.compress(..., prune=[0.5, 0.7], max_drop=0.01)`).

    Attributes:
        strength: The step's strength: a share (`prune=`, `channels=`), a
            target's limits, or None for the one compression asked for.
        value: Its validation metric after the last stage.
        drop: How much worse than the original (accuracy: absolute; mae: relative).
        within: True when `drop <= max_drop`.
        macs: MACs of its architecture (cost model).
        tflite_bytes: The cost model's full-int8 file size.
        nonzero_params: Weights that are not exactly zero.
        seconds: Wall time of the step.
        stages: Its stage reports, the float model first.
    """

    strength: Any
    value: float
    drop: float
    within: bool
    macs: int
    tflite_bytes: int
    nonzero_params: int
    seconds: float
    stages: list[StageReport] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """YAML-dumpable dict."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class CompressionResult:
    """The compressed model and how each stage changed it.

    Attributes:
        model: the model to convert (`tfnas.export` takes the result itself): the
            Keras 3 copy, or after QAT the tf_keras QAT model, whose learned int8
            ranges the converter uses. (1-D convs and pooling are built as 2-D layers on
            (1, T, C) tensors there, so the QAT model converts to the graph the cost model predicts.)
        keras_model: a Keras 3 model of the compressed architecture with the
            compressed weights, for the user (None where it cannot be rebuilt).
        stages: one `StageReport` per stage, the float model first.
        skipped_layers: stage -> {layer name: why the stage left it alone}.
        sparsity: layer name -> share of zeros in its kernel, for the pruned layers
            (after the last stage: after QAT this shows the zeros survived).
        calibration_data: float32 inputs kept for the int8 converter.
        task: "classification" or "regression".
        settings: the arguments `compress` ran with.
        notes: what the user should know (e.g. zeros lost by a stage).
        tried: with `max_drop`, every step tried, mildest first (empty without).
    """

    model: Any
    keras_model: Any
    stages: list[StageReport]
    skipped_layers: dict[str, dict[str, str]]
    sparsity: dict[str, float]
    calibration_data: np.ndarray
    task: str
    settings: dict[str, Any]
    notes: list[str] = dataclasses.field(default_factory=list)
    tried: list[FloorStep] = dataclasses.field(default_factory=list)

    @property
    def final(self) -> StageReport:
        """The report of the last stage."""
        return self.stages[-1]

    @property
    def quantization_aware(self) -> bool:
        """True when `model` went through quantization-aware training."""
        return bool(self.settings.get("qat"))

    def export_source(self) -> tuple[Any, str, np.ndarray]:
        """What `tfnas.export` converts: `model` (the QAT model after QAT), described, with its calibration data."""
        kind = "qat" if self.quantization_aware else "+".join(s.stage for s in self.stages[1:])
        return self.model, f"compression result ({kind})", self.calibration_data

    def summary(self, print_fn: Callable[[str], None] = print) -> None:
        """Prints one line per stage, then the layers each stage skipped and the notes."""
        metric = self.stages[0].metric
        print_fn(
            f"{'stage':<13} {'untuned':>9} {metric:>9} {'macs':>9} {'params':>8} {'nonzero':>8} {'int8_B':>8} {'arena_B':>8} "
            f"{'gzip_B':>8} {'compr':>7} {'macs_cut':>8} {'perf_loss':>9} {'sec':>6} {'epochs':>6} stop"
        )
        for s in self.stages:
            untuned = "" if s.value_before_tuning is None else f"{s.value_before_tuning:.4f}"
            print_fn(
                f"{s.stage:<13} {untuned:>9} {s.value:>9.4f} {s.macs:>9,} {s.params:>8,} {s.nonzero_params:>8,} "
                f"{s.tflite_bytes:>8,} {s.peak_ram_bytes:>8,} {s.gzip_bytes:>8,} {s.compression_rate:>7.1%} {s.macs_rate:>8.1%} "
                f"{s.performance_loss:>9.2%} {s.seconds:>6.1f} {s.epochs:>6} {s.stop_reason}"
            )
        for stage, layers in self.skipped_layers.items():
            for name, why in layers.items():
                print_fn(f"  {stage}: {name} not changed: {why}")
        for step in self.tried:
            print_fn(f"  max_drop step {step.strength}: {metric} {step.value:.4f}, drop {step.drop:.4f}, "
                     f"{step.tflite_bytes:,} int8 B, {'within' if step.within else 'beyond'} the floor")
        for note in self.notes:
            print_fn(f"  note: {note}")

    def to_dict(self) -> dict[str, Any]:
        """YAML-dumpable dict of the reports (no models, no data)."""
        return {
            "task": self.task,
            "settings": {
                k: v for k, v in self.settings.items() if isinstance(v, (int, float, str, bool, type(None), list, dict))
            },
            "stages": [s.to_dict() for s in self.stages],
            "skipped_layers": self.skipped_layers,
            "sparsity": self.sparsity,
            "notes": list(self.notes),
            "tried": [step.to_dict() for step in self.tried],
        }
