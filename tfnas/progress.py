"""What a search prints: one Keras-style line per trial with an ETA and its closing lines, or nothing at all (`verbose=0`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from tfnas._voice import say
from tfnas._voice import silenced
from tfnas.atomic import values_sha256
from tfnas.distributed import is_chief

__all__ = ["Progress", "candidate_hash", "silenced"]


class Progress:
    """Prints `Trial i/N` lines from `EdgeTuner`'s trial hooks.

    A line shows a few hyperparameter values, then `#` and the candidate's
    `candidate_hash`, so two candidates that differ only in a value not
    shown still print different lines:

    ```
    Trial 3/20 [id 02] num_layers=2 units1=32 dropout=0.1 learning_rate=0.001 #9c2e41a7 | val_accuracy 0.9100 | ...
    ```

    Args:
        max_trials: int, the search's budget.
        keys: hyperparameter names to show; defaults to the space's
            `summary_keys`, else the first four.
        verbose: int, 0 prints nothing.
        print_fn: where lines go. Defaults to stdout (`tfnas._voice.say`).
    """

    def __init__(
        self, max_trials: int, keys: tuple[str, ...] | None = None, verbose: int = 1, print_fn: Callable[[str], None] = say
    ):
        self.max_trials = max_trials
        self.keys = keys
        self.verbose = verbose
        self.print_fn = print_fn
        self.durations: list[float] = []  # wall time per trial, proposal (constraint checks) included
        self._start = self._last_end = time.perf_counter()

    def on_trial_begin(self, tuner: Any, trial: Any) -> None:
        self._start = time.perf_counter()

    def on_trial_end(self, tuner: Any, trial: Any) -> None:
        """Prints the trial's line.

        On a distributed search's chief, trials end in other processes: the
        line shows the worker's training time (`fit_seconds`). On a worker,
        whose Oracle is keras-tuner's gRPC client, the line has no `i/N` and
        no ETA (the chief prints those lines).
        """
        now = time.perf_counter()
        trial_seconds = now - self._start
        self.durations.append(now - self._last_end)
        self._last_end = now
        if self.verbose < 1:
            return
        oracle = tuner.oracle
        metrics = {n: trial.metrics.get_last_value(n) for n in trial.metrics.metrics} or dict(getattr(tuner, "last_metrics", {}))
        values = trial.hyperparameters.values
        keys = self.keys or tuple(values)[:4]
        hps = " ".join([*(f"{k}={_short(values[k])}" for k in keys if k in values), f"#{candidate_hash(values)}"])
        trials = getattr(oracle, "trials", None)  # keras-tuner's OracleClient (on a worker) has none
        if trials is None:
            head, eta = f"Trial [id {trial.trial_id}]", ""
        else:
            end_order = list(getattr(oracle, "end_order", []))
            # Its place in the end order: on the chief several trials can end between two lines.
            done = end_order.index(trial.trial_id) + 1 if trial.trial_id in end_order else (
                sum(t.status in ("COMPLETED", "FAILED") for t in trials.values())
            )
            remaining = max(self.max_trials - done, 0)
            width = len(str(self.max_trials))
            head = f"Trial {done:>{width}}/{self.max_trials} [id {trial.trial_id}]"
            eta = f" | ETA {_duration(remaining * sum(self.durations) / len(self.durations))}"
        if trial.status != "COMPLETED":
            reason = (trial.message or "").strip().splitlines()
            self.print_fn(f"{head} FAILED {hps} | {reason[-1] if reason else 'see failure.txt in its trial folder'}")
            return
        if is_chief():  # the trial ran on a worker
            trial_seconds = metrics.get("fit_seconds", float("nan"))
        name = oracle.objective.name
        latency = f" | {metrics['latency_ms']:.3g} ms" if "latency_ms" in metrics else ""  # predicted, with a device
        self.print_fn(
            f"{head} {hps} | {name} {metrics.get(name, float('nan')):.4f} | "
            f"macs {_si(metrics.get('macs', 0))}{latency} | {trial_seconds:.1f}s{eta}"
        )

    def note(self, line: str) -> None:
        """Prints one of the search's own lines (a closing line, a note) unless `verbose` is 0."""
        if self.verbose >= 1:
            self.print_fn(line)


def candidate_hash(values: Mapping[str, Any]) -> str:
    """A short stable name of a candidate: 8 hex digits of a SHA-256 over its hyperparameter values.

    Keras-tuner's bookkeeping values (`tuner/epochs`, `tuner/trial_id`, ...)
    are left out, so a Hyperband promotion has its parent's hash. The hash is
    the same in every process and every run, unlike Python's `hash`.

    Args:
        values: dict, a trial's hyperparameter values.

    Returns:
        The 8 lowercase hex digits.
    """
    return values_sha256({k: v for k, v in values.items() if not k.startswith("tuner/")})[:8]


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _si(value: float) -> str:
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f}{unit}"
    return f"{value:.0f}"


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"
