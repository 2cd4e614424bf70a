"""Deploying search candidates: compress (optionally), export int8, verify on both runtimes, record.

A float Pareto front says little about what ships: int8 quantization (and
pruning) cost some candidates more accuracy than others. `deploy_candidate`
is the one path from a trained candidate to a measured `.tflite` file;
`deploy_front` runs it on the top of a front and ranks the files again on
what TFLite Micro measured, and the config pipeline (`tfnas search CONFIG`,
`tfnas demo`) runs it on the candidate the config picks. The records are
written to `deployed.yaml` in the run directory, so a result loaded later
(`tfnas report`) still shows them.

This module takes candidates through a small protocol (`trial_id`,
`metrics`, `model()`), so it needs neither `SearchResult` nor `Candidate`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import Any
from typing import Protocol

import numpy as np
import yaml

from tfnas.candidate import ranked
from tfnas.compress import CompressionResult
from tfnas.compress import compress
from tfnas.data import in_memory
from tfnas.errors import TfnasInputError
from tfnas.export import ExportReport
from tfnas.export import export
from tfnas.pareto import non_dominated_fronts
from tfnas.task import CALIBRATION_SAMPLES
from tfnas.verify import VerifyReport
from tfnas.verify import verify

DEPLOYED_FILENAME = "deployed.yaml"
VERIFY_BYTES = 256 * 2**20  # an image folder's test split is verified on the first images that fit (float32)


class Deployable(Protocol):
    """What deployment needs of a search candidate."""

    trial_id: str
    metrics: dict[str, float]

    def model(self) -> Any: ...


class Front(Protocol):
    """What `deploy_front` needs of a search result (read-only, so a list of any `Deployable` type fits)."""

    @property
    def pareto(self) -> Sequence[Deployable]: ...

    @property
    def quality(self) -> str: ...

    @property
    def direction(self) -> str: ...

    @property
    def project_dir(self) -> str: ...


@dataclasses.dataclass
class DeployedCandidate:
    """One search candidate as an int8 file, measured on the runtimes (test data).

    Attributes:
        trial_id: the search trial.
        macs: the candidate's MACs (cost model).
        float_value: the float model's metric: after compression, the
            fine-tuned float model (the int8 file's own float twin).
        compressed_value: the metric after compression (fake-quantized after QAT), or None.
        litert_value: the int8 file's metric on LiteRT (reference kernels).
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
    float_value: float | None
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
    def measured(
        cls, candidate: Deployable, compressed: CompressionResult | None, exported: ExportReport, report: VerifyReport
    ) -> DeployedCandidate:
        """The record of a candidate's file from its compression (or None), export and verification reports."""
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


@dataclasses.dataclass
class Deployment:
    """Everything one `deploy_candidate` produced: the record and the three stage reports."""

    record: DeployedCandidate | None
    compressed: CompressionResult | None
    exported: ExportReport
    verified: VerifyReport | None


def deploy_candidate(
    candidate: Deployable,
    path: str,
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    compress_kwargs: dict[str, Any] | None = None,
    export_kwargs: dict[str, Any] | None = None,
    verify_file: bool = True,
    latency_runs: int = 20,
    device: Any = None,
) -> Deployment:
    """Compresses (when `compress_kwargs` is given), exports and verifies one candidate.

    The float figure the file is compared with is the model the file was
    made from: after compression, the fine-tuned float model
    (`CompressionResult.keras_model`), not the search's un-fine-tuned one.

    Args:
        candidate: a search candidate (`trial_id`, `metrics`, `model()`).
        path: the `.tflite` file to write.
        x: training inputs: int8 calibration, and fine-tuning when compressing.
        y: training labels.
        x_test: inputs the file is measured on (never seen by the search).
        y_test: their labels.
        compress_kwargs: arguments of `tfnas.compress` (e.g. `{"prune": 0.5,
            "qat": True, "epochs": 5}`); None exports the trained model as it is.
        export_kwargs: arguments of `tfnas.export` (`quantization`, `c_array`, `target`).
        verify_file: run the file on LiteRT and TFLite Micro.
        latency_runs: `invoke()` calls timed on LiteRT.
        device: a device profile (or its path): `verify` also times the file as it was calibrated.

    Returns:
        A `Deployment`; without `verify_file`, its record's runtime figures are missing.
    """
    model = candidate.model()
    compressed = None
    if compress_kwargs is not None:
        # compression fine-tunes on arrays (an image folder's files are read into memory for it) and decides when
        # fine-tuning has recovered, and which step a `max_drop` keeps, on a split it holds out of `x`: never on the
        # test split, which only measures the file
        compressed = compress(model, *in_memory(x, y), **compress_kwargs)
    source = compressed if compressed is not None else model
    labels = list(getattr(x, "class_names", ()) or []) or None  # an image folder's class names
    exported = export(source, path, representative_data=np.asarray(x[:CALIBRATION_SAMPLES]),
                      **{"labels": labels, **(export_kwargs or {})})
    if not verify_file:
        return Deployment(None, compressed, exported, None)
    baseline = compressed.keras_model if compressed is not None and compressed.keras_model is not None else model
    report = verify(path, *in_memory(x_test, y_test, VERIFY_BYTES), model=baseline, latency_runs=latency_runs, device=device)
    return Deployment(DeployedCandidate.measured(candidate, compressed, exported, report), compressed, exported, report)


def deploy_front(
    result: Front,
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    top: int = 3,
    directory: str | None = None,
    compress_kwargs: dict[str, Any] | None = None,
) -> list[DeployedCandidate]:
    """Deploys the `top` most accurate Pareto candidates and marks the front of what TFLite Micro measured.

    Args:
        result: a `SearchResult`.
        x: training inputs: calibration data, and fine-tuning data when compressing.
        y: training labels.
        x_test: inputs the files are measured on.
        y_test: their labels.
        top: how many Pareto candidates, most accurate first.
        directory: where the `.tflite` files go; defaults to `<run>/deploy`.
        compress_kwargs: arguments of `tfnas.compress`; None exports the trained models as they are.

    Returns:
        One `DeployedCandidate` per candidate, cheapest first, `on_front` set;
        also written to `deployed.yaml` in the run directory.
    """
    if not result.pareto:
        raise TfnasInputError("The search has no completed candidate to deploy: run more trials.")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise TfnasInputError(f"top must be a positive integer. Received: top={top!r}")
    directory = directory or os.path.join(result.project_dir, "deploy")
    chosen = ranked(result.pareto, result.quality, result.direction)[:top]
    deployed: list[DeployedCandidate] = []
    for candidate in sorted(chosen, key=lambda c: c.metrics.get("macs", 0.0)):
        path = os.path.join(directory, f"trial_{candidate.trial_id}.tflite")
        record = deploy_candidate(candidate, path, x, y, x_test, y_test, compress_kwargs=compress_kwargs).record
        assert record is not None  # verify_file=True: every file is measured
        deployed.append(record)
    mark_front(deployed, maximize=result.direction == "max")
    write_deployed(result.project_dir, deployed)
    return deployed


def mark_front(deployed: list[DeployedCandidate], maximize: bool) -> None:
    """Sets `on_front` on the candidates not dominated in (TFLite Micro metric, MACs); ones TFLM could not run never are."""
    runnable = [(d, d.micro_value) for d in deployed if d.micro_value is not None]
    if not runnable:
        return
    sign = -1.0 if maximize else 1.0
    points = np.array([[sign * value, d.macs] for d, value in runnable])
    for i in non_dominated_fronts(points)[0]:
        runnable[i][0].on_front = True


def write_deployed(project_dir: str, deployed: list[DeployedCandidate]) -> str:
    """Writes the records to `deployed.yaml` in the run directory (read back by `read_deployed`)."""
    path = os.path.join(project_dir, DEPLOYED_FILENAME)
    with open(path, "w") as f:
        yaml.safe_dump([dataclasses.asdict(d) for d in deployed], f, sort_keys=False)
    return path


def read_deployed(project_dir: str) -> list[DeployedCandidate]:
    """The records `write_deployed` left in a run directory (none when it never deployed)."""
    path = os.path.join(project_dir, DEPLOYED_FILENAME)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [DeployedCandidate(**row) for row in yaml.safe_load(f) or []]
