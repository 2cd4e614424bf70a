"""The compression-aware front: search candidates re-measured as the int8 files a device runs.

A float Pareto front says little about what ships: int8 quantization (and
pruning) cost some candidates more accuracy than others. `deploy_front`
takes the top candidates of a search, optionally compresses each, exports
full-int8 `.tflite` files, runs them on LiteRT and TFLite Micro, and ranks
them again on what TFLite Micro measured.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import numpy as np

from tfnas.errors import TfnasInputError
from tfnas.rewards.pareto import non_dominated_fronts


@dataclasses.dataclass
class DeployedCandidate:
    """One search candidate as an int8 file, measured on the runtimes.

    Attributes:
        trial_id: the search trial.
        macs: the candidate's MACs (cost model).
        float_value: the float model's metric on the test data.
        compressed_value: the metric after compression (fake-quantized after QAT), or None.
        litert_value: the int8 file's metric on LiteRT.
        micro_value: its metric on TFLite Micro (None when it could not run).
        bytes: the `.tflite` size.
        gzip_bytes: its gzip size.
        weight_zeros: share of zero weights in the int8 file.
        arena_total_bytes: TFLite Micro's arena (activations + persistent).
        arena_head_bytes: its activation part.
        predicted_peak_ram_bytes: the cost model's prediction of the activation part.
        path: the `.tflite` file.
        on_front: non-dominated in (TFLite Micro metric, MACs) among the deployed candidates.
    """

    trial_id: str
    macs: float
    float_value: float
    compressed_value: float | None
    litert_value: float
    micro_value: float | None
    bytes: int
    gzip_bytes: int
    weight_zeros: float
    arena_total_bytes: int | None
    arena_head_bytes: int | None
    predicted_peak_ram_bytes: int | None
    path: str
    on_front: bool = False

    @classmethod
    def measured(cls, candidate: Any, compressed: Any, exported: Any, report: Any) -> "DeployedCandidate":
        """The record of a candidate's file: its `CompressionResult` (or None), `ExportResult` and `VerifyReport`."""
        return cls(
            trial_id=candidate.trial_id,
            macs=float(candidate.metrics.get("macs", math.nan)),
            float_value=report.float_value,
            compressed_value=compressed.final.value if compressed is not None else None,
            litert_value=report.litert_value,
            micro_value=report.micro_value,
            bytes=exported.bytes,
            gzip_bytes=exported.gzip_bytes,
            weight_zeros=exported.weight_zeros,
            arena_total_bytes=report.arena_total_bytes,
            arena_head_bytes=report.arena_head_bytes,
            predicted_peak_ram_bytes=report.predicted_peak_ram_bytes,
            path=report.path,
        )


def deploy_front(
    result: Any,
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    top: int = 3,
    directory: str | None = None,
    compress_kwargs: dict[str, Any] | None = None,
) -> list[DeployedCandidate]:
    """Compresses (optionally), exports int8 and verifies the `top` cheapest-first Pareto candidates.

    Args:
        result: A `SearchResult`.
        x: Training inputs: calibration data, and fine-tuning data when compressing.
        y: Training labels.
        x_test: Inputs the files are measured on.
        y_test: Their labels.
        top: How many Pareto candidates, most accurate first.
        directory: Where the `.tflite` files go; defaults to `<run>/deploy`.
        compress_kwargs: Arguments of `tfnas.compress` (e.g. `{"prune": 0.5,
            "qat": True, "epochs": 5}`); None exports the trained models as they are.

    Returns:
        One `DeployedCandidate` per candidate, cheapest first, `on_front` set.
    """
    from tfnas.compress import compress
    from tfnas.export import export
    from tfnas.verify import verify

    if not result.pareto:
        raise TfnasInputError("The search has no completed candidate to deploy: run more trials.")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise TfnasInputError(f"top must be a positive integer. Received: top={top!r}")
    directory = directory or os.path.join(result.project_dir, "deploy")
    sign = 1.0 if result.direction == "max" else -1.0
    chosen = sorted(result.pareto, key=lambda c: -sign * c.metrics[result.quality])[:top]
    deployed = []
    for candidate in sorted(chosen, key=lambda c: c.metrics.get("macs", 0.0)):
        model = candidate.model()
        compressed = compress(model, x, y, **{"validation_data": (x_test, y_test), **compress_kwargs}) if compress_kwargs else None
        path = os.path.join(directory, f"trial_{candidate.trial_id}.tflite")
        exported = export(compressed if compressed is not None else model, path, representative_data=x[:200])
        report = verify(path, x_test, y_test, model=model, latency_runs=20)
        deployed.append(DeployedCandidate.measured(candidate, compressed, exported, report))
    _mark_front(deployed, maximize=report.metric == "accuracy")
    return deployed


def _mark_front(deployed: list[DeployedCandidate], maximize: bool) -> None:
    """Sets `on_front` on the candidates not dominated in (TFLite Micro metric, MACs); ones TFLM could not run never are."""
    runnable = [d for d in deployed if d.micro_value is not None]
    if not runnable:
        return
    sign = -1.0 if maximize else 1.0
    points = np.array([[sign * d.micro_value, d.macs] for d in runnable])
    for i in non_dominated_fronts(points)[0]:
        runnable[i].on_front = True
