"""`Candidate`: one trial of a search as plain data, read back from its trial folder.

A trial folder holds keras-tuner's `trial.json`, the trained `model.keras`
and, for a failed trial, `failure.txt` (keras-tuner's gRPC drops trial
messages, so a distributed chief's `trial.json` has none).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfnas import atomic
from tfnas.errors import TfnasError
from tfnas.tuner import FAILURE_FILENAME
from tfnas.tuner import MODEL_FILENAME
from tfnas.tuner import MODEL_RECORD_FILENAME


@dataclasses.dataclass
class Candidate:
    """One trial: its hyperparameters, metrics and trained model.

    Attributes:
        trial_id: str, keras-tuner's trial id.
        hyperparameters: dict of hyperparameter values.
        metrics: dict of floats: validation metrics of the last epoch and the
            cost metrics (`macs`, `flops`, `params`, `tflite_bytes`,
            `peak_ram_bytes`), `epochs` trained and `fit_seconds`; once
            `SearchResult.evaluate` ran, `test_<metric>` too.
        status: str, `"COMPLETED"`, `"FAILED"`, `"RUNNING"`, ...
        score: float or None, the reward.
        message: str or None, why the trial failed.
        model_path: str or None, the saved Keras 3 model.
        model_problem: str or None, why the saved model is not this trial's
            (its record, `model.json`, names other values or other bytes):
            `model()` then raises instead of loading it.
    """

    trial_id: str
    hyperparameters: dict[str, Any]
    metrics: dict[str, float]
    status: str
    score: float | None = None
    message: str | None = None
    model_path: str | None = None
    model_problem: str | None = None

    def model(self) -> Any:
        """Loads the trained Keras 3 model (weights of its last epoch, which its metrics describe)."""
        import keras

        if self.model_problem:
            raise TfnasError(f"Trial {self.trial_id}: {self.model_problem}")
        if not self.model_path or not os.path.exists(self.model_path):
            raise FileNotFoundError(f"Trial {self.trial_id} has no saved model (status {self.status}).")
        return keras.models.load_model(self.model_path)

    def export_source(self) -> tuple[Any, str, None]:
        """What `tfnas.export` converts: the trained model."""
        return self.model(), f"search candidate {self.trial_id}", None

    def to_dict(self) -> dict[str, Any]:
        """YAML-dumpable dict."""
        return plain(dataclasses.asdict(self))


def ranked(candidates: Sequence[Any], quality: str, direction: str) -> list[Any]:
    """Candidates (anything with `metrics`) most accurate first, by the search's quality metric and its direction."""
    sign = 1.0 if direction == "max" else -1.0
    return sorted(candidates, key=lambda c: -sign * c.metrics[quality])


def read_trial(path: str) -> Candidate:
    """The candidate a `trial.json` describes, with its model and failure text from the same folder."""
    with open(path) as f:
        state = json.load(f)
    metrics = {}
    for name, history in state.get("metrics", {}).get("metrics", {}).items():
        observations = history.get("observations", [])
        if observations:
            metrics[name] = float(np.mean(observations[-1]["value"]))
    trial_dir = os.path.dirname(path)
    model_path = os.path.join(trial_dir, MODEL_FILENAME)
    values = dict(state.get("hyperparameters", {}).get("values", {}))
    return Candidate(
        trial_id=state["trial_id"],
        hyperparameters=values,
        metrics=metrics,
        status=state.get("status", "UNKNOWN"),
        score=state.get("score"),
        message=state.get("message") or _failure_message(os.path.dirname(path), state.get("status")),
        model_path=model_path if os.path.exists(model_path) else None,
        model_problem=_model_problem(trial_dir, values) if os.path.exists(model_path) else None,
    )


def _model_problem(trial_dir: str, values: dict[str, Any]) -> str | None:
    """Why `model.keras` is not the model `trial.json` describes, by its record `model.json`; None when it is.

    Folders written before records existed have none: their model is trusted.
    """
    record_path = os.path.join(trial_dir, MODEL_RECORD_FILENAME)
    if not os.path.exists(record_path):
        return None
    with open(record_path) as f:
        record = json.load(f)
    if record.get("values_sha256") != atomic.values_sha256(values):
        return "model.keras was trained for other hyperparameter values than trial.json records (another run wrote it)."
    if record.get("model_sha256") != atomic.file_sha256(os.path.join(trial_dir, MODEL_FILENAME)):
        return "model.keras is not the file its record (model.json) describes (another run replaced it)."
    return None


def _failure_message(trial_dir: str, status: str | None) -> str | None:
    """The failure text a worker wrote next to the trial (a distributed chief's trial.json has none)."""
    path = os.path.join(trial_dir, FAILURE_FILENAME)
    if status == "COMPLETED" or not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read()


def plain(value: Any) -> Any:
    """Converts numpy scalars and tuples so `yaml.safe_dump` accepts the result."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
