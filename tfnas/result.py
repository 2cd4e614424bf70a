"""`SearchResult`: what a search leaves behind, as plain data (its trials are `Candidate`s).

A result is read back from the run directory (keras-tuner's `trial.json`
files, the oracle's `oracle.json` and each trial's `model.keras`), so the
same object comes back after a resume, from another process, or from a
distributed search.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from tfnas import plot as plotting
from tfnas.candidate import Candidate
from tfnas.candidate import plain
from tfnas.candidate import ranked
from tfnas.candidate import read_trial
from tfnas.compress import CompressionResult
from tfnas.compress import compress
from tfnas.deploy import DeployedCandidate
from tfnas.deploy import deploy_front
from tfnas.deploy import read_deployed
from tfnas.errors import TfnasInputError
from tfnas.export import export
from tfnas.finalize import FinalCandidate
from tfnas.finalize import evaluate
from tfnas.finalize import finalize
from tfnas.finalize import read_evaluation
from tfnas.finalize import read_final
from tfnas.finalize import search_settings
from tfnas.pareto import non_dominated_fronts
from tfnas.verify import verify


@dataclasses.dataclass
class SearchResult:
    """All trials of a search, its Pareto front and its best candidate.

    Attributes:
        trials: every trial, in id order.
        pareto: the non-dominated completed candidates (quality vs the cost
            metrics), cheapest first.
        best: the completed candidate with the highest reward.
        quality: str, the quality metric (`val_accuracy` or `val_loss`).
        direction: str, `"max"` or `"min"` for `quality`.
        costs: tuple of cost metrics the front is computed on.
        constraints: dict of the hard limits.
        infeasible_count: int, candidates built, found over a limit and
            never trained.
        screened_count: int, draws the cost screen skipped without building
            them (predicted far over a limit).
        project_dir: str, the run directory.
        search_seconds: float or None, wall time of the `search()` call that returned it.
        deployed: the int8 files deployed from this search (`deploy_front`,
            or a config run's export), measured on LiteRT and TFLite Micro;
            read back from the run directory's `deployed.yaml`.
        rerun: trial id -> why it was trained again (its distributed worker
            went silent for `worker_timeout`; see `tfnas.heartbeat`).
        final: the front candidates retrained by `finalize`, in rank order;
            read back from `final.yaml`.
        oneshot: a one-shot search's figures (`tfnas.oracles.OneShotOracle`):
            supernet epochs and the trials they count as, sub-networks ranked, seconds.
        class_names: the label names, in label id order, when the data had
            them (an image folder's sub-folders); else empty.
    """

    trials: list[Candidate]
    pareto: list[Candidate]
    best: Candidate | None
    quality: str
    direction: str
    costs: tuple[str, ...] = ("macs",)
    constraints: dict[str, int] = dataclasses.field(default_factory=dict)
    infeasible_count: int = 0
    screened_count: int = 0
    project_dir: str = ""
    search_seconds: float | None = None
    deployed: list[DeployedCandidate] = dataclasses.field(default_factory=list)
    rerun: dict[str, str] = dataclasses.field(default_factory=dict)
    final: list[FinalCandidate] = dataclasses.field(default_factory=list)
    oneshot: dict[str, Any] = dataclasses.field(default_factory=dict)
    class_names: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def load(cls, project_dir: str) -> SearchResult:
        """Reads a result from a run directory (`directory/project_name`)."""
        oracle_file = os.path.join(project_dir, "oracle.json")
        if not os.path.exists(oracle_file):
            raise FileNotFoundError(f"No search in {project_dir!r}: oracle.json is missing.")
        with open(oracle_file) as f:
            state = json.load(f)
        extra = state.get("tfnas", {})
        quality, direction = _objective(extra.get("objective") or state.get("objective") or {})
        trials = [read_trial(path) for path in sorted(glob.glob(os.path.join(project_dir, "trial_*", "trial.json")))]
        tested = read_evaluation(project_dir)
        for trial in trials:
            trial.metrics.update(tested.get(trial.trial_id, {}))
        costs = tuple(extra.get("reward", {}).get("costs", ["macs"]))
        completed = [t for t in trials if t.status == "COMPLETED" and quality in t.metrics]
        return cls(
            trials=trials,
            pareto=_front(completed, quality, direction, costs),
            best=_best(completed, costs[0]),
            quality=quality,
            direction=direction,
            costs=costs,
            constraints=extra.get("constraints", {}),
            infeasible_count=extra.get("infeasible_count", 0),
            screened_count=extra.get("screened_count", 0),
            project_dir=project_dir,
            deployed=read_deployed(project_dir),
            rerun=dict(extra.get("rerun", {})),
            final=read_final(project_dir),
            oneshot={k: v for k, v in extra.get("oneshot", {}).items() if k not in ("queue", "probes")},
            class_names=list(search_settings(project_dir).get("class_names") or []),
        )

    @property
    def completed(self) -> list[Candidate]:
        """The trials that finished training."""
        return [t for t in self.trials if t.status == "COMPLETED"]

    def candidate(self, which: Any = None) -> Candidate:
        """A completed candidate.

        `which` is None (`best`), `"most_accurate"` (the most accurate on the front), a trial id, or a `Candidate`.
        """
        if isinstance(which, Candidate):
            return which
        if which is None and self.best is not None:
            return self.best
        if which == "most_accurate" and self.pareto:
            return ranked(self.pareto, self.quality, self.direction)[0]
        for t in self.completed:
            if t.trial_id == which:
                return t
        raise TfnasInputError(
            f"No completed candidate {which!r}: pass None (best), 'most_accurate', or one of the trial ids "
            f"{[t.trial_id for t in self.completed]}."
        )

    def finalize(self, x: Any, y: Any, **kwargs: Any) -> list[FinalCandidate]:
        """Retrains the most accurate front candidates from scratch on all the search's data (`tfnas.finalize.finalize`).

        Example:
            >>> final = result.finalize(x, y, top=3, seeds=3, x_test=x_test, y_test=y_test)
            >>> tfnas.export(final[0], "model.tflite", representative_data=x[:200])
        """
        self.final = finalize(self, x, y, **kwargs)
        return self.final

    def evaluate(self, x_test: Any, y_test: Any) -> dict[str, dict[str, float]]:
        """Adds `test_<metric>` to every completed candidate's metrics (kept in `evaluation.yaml`)."""
        return evaluate(self, x_test, y_test)

    def compress(self, x: Any, y: Any, candidate: Any = None, **kwargs: Any) -> CompressionResult:
        """`tfnas.compress` on a candidate's trained model, fine-tuned with the search's recipe unless `training=` is given.

        `distill_from="most_accurate"` picks the teacher from the front; a
        `FinalCandidate` (from `finalize`) can be passed as `candidate`.
        """
        if isinstance(kwargs.get("distill_from"), str) or isinstance(kwargs.get("distill_from"), Candidate):
            kwargs["distill_from"] = self.candidate(kwargs["distill_from"]).model()
        kwargs.setdefault("training", search_settings(self.project_dir).get("training"))
        source = candidate if isinstance(candidate, FinalCandidate) else self.candidate(candidate)
        return compress(source.model(), x, y, **kwargs)

    def export(self, path: str, candidate: Any = None, **kwargs: Any) -> Any:
        """`tfnas.export` of a candidate (None: the best) or of a `CompressionResult` passed as `candidate`."""
        source = candidate if isinstance(candidate, CompressionResult) else self.candidate(candidate)
        return export(source, path, **kwargs)

    def verify(self, tflite_path: str, x: Any, y: Any, candidate: Any = None, **kwargs: Any) -> Any:
        """`tfnas.verify` of a file, compared with the float model it was made from.

        For a file exported from a `CompressionResult`, pass that result as
        `candidate`: the float figure is then its fine-tuned float model's,
        not the search candidate's before compression.
        """
        if isinstance(candidate, CompressionResult):
            return verify(tflite_path, x, y, model=candidate.keras_model, **kwargs)
        return verify(tflite_path, x, y, model=self.candidate(candidate).model(), **kwargs)

    def deploy_front(self, x: Any, y: Any, x_test: Any, y_test: Any, **kwargs: Any) -> list:
        """Re-measures the top Pareto candidates as int8 files on the runtimes; kept in `deployed`.

        See `tfnas.deploy.deploy_front`.
        """
        self.deployed = deploy_front(self, x, y, x_test, y_test, **kwargs)
        return self.deployed

    def plot(self, path: str | None = None, cost: str = "macs") -> Any:
        """Quality vs cost (log scale): every trial, the front, the limits, the int8 front once deployed.

        Returns the matplotlib Figure (shown inline in a notebook); with
        `path`, also saves it (PNG by the extension). Needs matplotlib.
        """
        return _saved(plotting.plot_front(self, cost=cost), path)

    def plot_history(self, path: str | None = None, cost: str = "macs") -> Any:
        """Hypervolume of the front and best reward after each completed trial (see `plot`)."""
        return _saved(plotting.plot_history(self, cost=cost), path)

    def counts(self) -> str:
        """One line: models trained and failed, candidates skipped over the limits (what `search` ends with)."""
        failed = sum(t.status == "FAILED" for t in self.trials)
        return (
            f"Search: {len(self.completed)} trained, {failed} failed, "
            f"{self.infeasible_count} candidates over the limits skipped without training"
            + (f", {self.screened_count} more skipped by the cost screen" if self.screened_count else "")
            + (f" (constraints {self.constraints})" if self.constraints else "")
            + "".join(f"; trial {trial_id} re-run: {why}" for trial_id, why in sorted(self.rerun.items()))
            + (f"; one-shot: {o['ranked']} sub-networks ranked ({o['ranked_feasible']} within the limits) on a supernet "
               f"of {o['supernet_epochs']} epochs, counted as {o['supernet_trials']} of {o['budget_trials']} trials"
               if (o := self.oneshot) else "")
        )

    def summary(self, print_fn: Callable[[str], None] = print, counts: bool = True) -> None:
        """Prints the search's counts (`counts=False` leaves them out) and the Pareto front as a table."""
        if counts:
            print_fn(self.counts())
        print_fn(f"Pareto front ({self.quality} at the last epoch vs {', '.join(self.costs)}), cheapest first:")
        test = next((k for c in self.pareto for k in c.metrics if k.startswith("test_")), None)
        test_header = f" {test:>13}" if test else ""
        timed = any("latency_ms" in c.metrics for c in self.pareto)  # searched with a device
        print_fn(f"{'trial':>6} {self.quality:>13}{test_header} {'macs':>10} {'flops':>10} {'params':>8} {'tflite_B':>9} "
                 f"{'ram_B':>8}{' latency_ms' if timed else ''} {'reward':>8}")
        for c in self.pareto:
            m = c.metrics
            mark = " *" if self.best is not None and c.trial_id == self.best.trial_id else ""
            tested = f" {m.get(test, float('nan')):>13.4f}" if test else ""
            latency = f"{m.get('latency_ms', float('nan')):>10.4g} " if timed else ""
            print_fn(
                f"{c.trial_id:>6} {m[self.quality]:>13.4f}{tested} {int(m.get('macs', 0)):>10,} {int(m.get('flops', 0)):>10,} "
                f"{int(m.get('params', 0)):>8,} {int(m.get('tflite_bytes', 0)):>9,} {int(m.get('peak_ram_bytes', 0)):>8,} "
                f"{latency}{c.score if c.score is not None else float('nan'):>8.4f}{mark}"
            )
        if self.best is not None:
            print_fn(f"* best by reward: trial {self.best.trial_id}")
        for f in self.final:
            scores = ", ".join(f"{s:.4f}" for s in f.test_scores) or "no test data"
            print_fn(f"Final training: trial {f.trial_id}, {f.epochs} epochs on training + validation, seeds {f.seeds}: "
                     f"test {scores}")

    def to_dict(self) -> dict[str, Any]:
        """YAML-dumpable dict: trials, front ids, best id and the search's settings."""
        return plain(
            {
                "quality": self.quality,
                "direction": self.direction,
                "costs": list(self.costs),
                "constraints": self.constraints,
                "infeasible_count": self.infeasible_count,
                "screened_count": self.screened_count,
                "project_dir": self.project_dir,
                "best": self.best.trial_id if self.best else None,
                "pareto": [c.trial_id for c in self.pareto],
                "trials": [t.to_dict() for t in self.trials],
                "deployed": [dataclasses.asdict(d) for d in self.deployed],
                "rerun": self.rerun,
                "final": [dataclasses.asdict(f) for f in self.final],
                **({"class_names": list(self.class_names)} if self.class_names else {}),
            }
        )


def _saved(figure: Any, path: str | None) -> Any:
    if path:
        figure.savefig(path, dpi=120, bbox_inches="tight")
    return figure


def _objective(objective: Any) -> tuple[str, str]:
    """keras-tuner stores the objective as a config dict; read its name and direction."""
    config = objective.get("config", objective) if isinstance(objective, dict) else {}
    return config.get("name", "val_accuracy"), config.get("direction", "max")


def _best(completed: list[Candidate], cost: str) -> Candidate | None:
    """Highest reward; among equal rewards the cheapest, so the best is never dominated by its twin."""
    return max(
        completed,
        key=lambda t: (-math.inf if t.score is None else t.score, -t.metrics.get(cost, 0.0)),
        default=None,
    )


def _front(candidates: list[Candidate], quality: str, direction: str, costs: tuple[str, ...]) -> list[Candidate]:
    if not candidates:
        return []
    sign = -1.0 if direction == "max" else 1.0
    points = np.array([[sign * c.metrics[quality]] + [c.metrics.get(k, math.inf) for k in costs] for c in candidates])
    front = [candidates[i] for i in non_dominated_fronts(points)[0]]
    return sorted(front, key=lambda c: (c.metrics.get(costs[0], 0), sign * c.metrics[quality]))
