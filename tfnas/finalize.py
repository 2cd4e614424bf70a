"""Final training of a search's front, and test figures for its candidates.

A trial's model is trained on the training split only, for the search's
epochs, once: good enough to rank candidates, not what a user should ship.
`finalize` retrains the most accurate front members from scratch with the
search's recipe on all the data the search had (training + validation), for
more epochs and several seeds, and records the mean and spread of the test
metric per candidate. `evaluate` adds test metrics to every trial's model.

Everything is kept in the run directory (`final/trial_<id>/seed_<s>/` and
`final.yaml`, `evaluation.yaml`), so `SearchResult.load` shows it and a
killed final training resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import time
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

import keras
import yaml

from tfnas import atomic
from tfnas.candidate import Candidate
from tfnas.candidate import plain
from tfnas.candidate import ranked
from tfnas.data import check_inputs
from tfnas.errors import TfnasInputError
from tfnas.task import Task
from tfnas.training import Training

FINAL_DIR = "final"
FINAL_FILENAME = "final.yaml"
EVALUATION_FILENAME = "evaluation.yaml"
SEARCH_FILENAME = "search.json"  # written by tfnas.search: the recipe, epochs and batch size of the trials
RECORD_FILENAME = "record.json"


@dataclasses.dataclass
class FinalCandidate:
    """A front candidate retrained from scratch on training + validation data, once per seed.

    Attributes:
        trial_id: the search trial it retrains.
        hyperparameters: the trial's hyperparameter values.
        metrics: the trial's metrics, plus `test_<metric>` (mean over seeds)
            and `test_<metric>_std` when test data was given.
        seeds: the seeds, in order; `model()` is the first seed's model
            (never the seed that scored best on test, which would be a pick on test).
        test_scores: the test metric per seed (empty without test data).
        model_paths: the trained model per seed.
        epochs: epochs each seed trained.
        seconds: training wall time, all seeds.
    """

    trial_id: str
    hyperparameters: dict[str, Any]
    metrics: dict[str, float]
    seeds: list[int]
    test_scores: list[float]
    model_paths: list[str]
    epochs: int
    seconds: float

    def model(self) -> keras.Model:
        """The first seed's trained Keras 3 model (what `deploy_candidate` and `export` ship)."""
        return keras.models.load_model(self.model_paths[0])

    def export_source(self) -> tuple[Any, str, None]:
        """What `tfnas.export` converts: the first seed's model."""
        return self.model(), f"final model of candidate {self.trial_id} (seed {self.seeds[0]})", None


def finalize(
    result: Any,
    x: Any,
    y: Any,
    *,
    top: int = 3,
    epochs: int | None = None,
    seeds: int | Sequence[int] = 3,
    x_test: Any = None,
    y_test: Any = None,
    training: Training | dict | None = None,
    batch_size: int | None = None,
    print_fn: Callable[[str], None] | None = print,
) -> list[FinalCandidate]:
    """Retrains the `top` most accurate front candidates from scratch, `seeds` times each.

    Args:
        result: a `SearchResult`.
        x: all the data the search had: its training and validation
            samples (for `tfnas.search(x, y)` with a validation split, the same `x, y`).
        y: the labels of `x`.
        top: how many front candidates, most accurate on validation first.
        epochs: epochs per training; defaults to the recipe's `final_epochs`,
            else 3x the search's epochs.
        seeds: a number of seeds (0, 1, ...) or the seeds themselves.
        x_test: data none of the training saw; adds `test_*` metrics.
        y_test: the labels of `x_test`.
        training: the recipe; defaults to the search's.
        batch_size: defaults to the search's.
        print_fn: where a line per training goes; None prints nothing.

    Returns:
        One `FinalCandidate` per candidate, in rank order; also written to `final.yaml`.
    """
    settings = search_settings(result.project_dir)
    recipe = Training.from_any(training if training is not None else settings.get("training"))
    recipe = dataclasses.replace(recipe, patience=None)  # no validation data is left to stop on
    epochs = _epochs(epochs, recipe, settings)
    seed_list = _seeds(seeds)
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise TfnasInputError(f"top must be a positive integer. Received: top={top!r}")
    x, y = check_inputs(x, y, "x", "y")  # an image folder's FileImages stay on disk
    if (x_test is None) != (y_test is None):
        raise TfnasInputError("Pass both x_test and y_test (or neither).")
    test = check_inputs(x_test, y_test, "x_test", "y_test") if x_test is not None else None
    if not result.pareto:
        raise TfnasInputError("The search has no completed candidate to finalize: run more trials.")
    task = Task.resolve(None, y)
    batch = batch_size or settings.get("batch_size") or 32
    final = []
    for candidate in ranked(result.pareto, result.quality, result.direction)[:top]:
        runs = [
            _train_seed(result.project_dir, candidate, seed, x, y, test, recipe, epochs, batch, task, print_fn)
            for seed in seed_list
        ]
        final.append(_final_candidate(candidate, seed_list, runs, epochs, task))
    text = yaml.safe_dump(plain([dataclasses.asdict(f) for f in final]), sort_keys=False)
    atomic.write_text(os.path.join(result.project_dir, FINAL_FILENAME), text)
    return final


def evaluate(result: Any, x_test: Any, y_test: Any) -> dict[str, dict[str, float]]:
    """Adds `test_<metric>` to the metrics of every completed candidate with a model; kept in `evaluation.yaml`."""
    x_test, y_test = check_inputs(x_test, y_test, "x_test", "y_test")
    task = Task.resolve(None, y_test)
    name = f"test_{task.metric}"
    scores = {}
    for candidate in result.completed:
        if candidate.model_path and os.path.exists(candidate.model_path) and not candidate.model_problem:
            scores[candidate.trial_id] = {name: task.quality(candidate.model(), x_test, y_test)}
            candidate.metrics.update(scores[candidate.trial_id])
    atomic.write_text(os.path.join(result.project_dir, EVALUATION_FILENAME), yaml.safe_dump(scores, sort_keys=True))
    return scores


def read_final(project_dir: str) -> list[FinalCandidate]:
    """The final trainings `finalize` recorded in a run directory (none when it never ran)."""
    return [FinalCandidate(**row) for row in _read(project_dir, FINAL_FILENAME, yaml.safe_load) or []]


def read_evaluation(project_dir: str) -> dict[str, dict[str, float]]:
    """Trial id -> test metrics, as `evaluate` left them."""
    return _read(project_dir, EVALUATION_FILENAME, yaml.safe_load) or {}


def search_settings(project_dir: str) -> dict[str, Any]:
    """What `tfnas.search` recorded about its training (recipe, epochs, batch size, seed); {} for older runs."""
    return _read(project_dir, SEARCH_FILENAME, json.load) or {}


def _read(project_dir: str, filename: str, load: Callable[[Any], Any]) -> Any:
    """`load` of a file of the run directory, or None when the run never wrote it."""
    path = os.path.join(project_dir, filename)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return load(f)


def _train_seed(
    project_dir: str, candidate: Candidate, seed: int, x: Any, y: Any, test: tuple | None, recipe: Training,
    epochs: int, batch_size: int, task: Task, print_fn: Callable[[str], None] | None,
) -> dict[str, Any]:
    """Trains one seed of a candidate from scratch, or reads the record of an earlier run of it (resume)."""
    folder = os.path.join(project_dir, FINAL_DIR, f"trial_{candidate.trial_id}", f"seed_{seed}")
    record_path, model_path = os.path.join(folder, RECORD_FILENAME), os.path.join(folder, "model.keras")
    if os.path.exists(record_path) and os.path.exists(model_path):
        with open(record_path) as f:
            record = json.load(f)
        if record.get("epochs") == epochs and record.get("model_sha256") == atomic.file_sha256(model_path):
            return {**record, "path": model_path}
    os.makedirs(folder, exist_ok=True)
    searched = candidate.model()
    keras.utils.set_random_seed(seed)
    model = keras.models.clone_model(searched)  # the same layers with fresh weights
    model.compile_from_config(searched.get_compile_config())
    start = time.perf_counter()
    recipe.fit(model, x, y, epochs=epochs, batch_size=batch_size)
    seconds = time.perf_counter() - start
    with atomic.replacing(model_path) as temporary:
        model.save(temporary)
    score = task.quality(model, *test) if test is not None else None
    record = {"seed": seed, "epochs": epochs, "seconds": seconds, "test": score, "model_sha256": atomic.file_sha256(model_path)}
    atomic.write_json(record_path, record)
    if print_fn is not None:
        shown = f" | test_{task.metric} {score:.4f}" if score is not None else ""
        print_fn(f"Final training: trial {candidate.trial_id} seed {seed} | {epochs} epochs{shown} | {seconds:.1f}s")
    return {**record, "path": model_path}


def _final_candidate(candidate: Candidate, seeds: list[int], runs: list[dict], epochs: int, task: Task) -> FinalCandidate:
    scores = [float(run["test"]) for run in runs if run.get("test") is not None]
    metrics = dict(candidate.metrics)
    if scores:
        metrics[f"test_{task.metric}"] = statistics.fmean(scores)
        metrics[f"test_{task.metric}_std"] = statistics.pstdev(scores)
    paths = [run["path"] for run in runs]
    seconds = sum(run["seconds"] for run in runs)
    return FinalCandidate(candidate.trial_id, dict(candidate.hyperparameters), metrics, seeds, scores, paths, epochs, seconds)


def _epochs(epochs: int | None, recipe: Training, settings: dict[str, Any]) -> int:
    value = epochs if epochs is not None else recipe.final_epochs or 3 * int(settings.get("epochs") or 10)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TfnasInputError(f"epochs must be a positive integer. Received: epochs={value!r}")
    return value


def _seeds(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, int) and not isinstance(seeds, bool) and seeds >= 1:
        return list(range(seeds))
    if isinstance(seeds, (list, tuple)) and seeds and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        return list(seeds)
    raise TfnasInputError(f"seeds must be a number of seeds (>= 1) or a list of ints. Received: seeds={seeds!r}")
