"""Heartbeats of a distributed search: workers say they are alive; the chief re-queues the trials of silent ones.

keras-tuner's chief has no heartbeat: a worker that dies and is never
restarted under its id leaves its trial RUNNING forever and the chief waiting.
Here a worker, while it trains, calls the chief's `GetTrial` for its trial
every `worker_timeout / 4` seconds (`beating`), a read the chief answers
anyway; the chief's servicer notes when it last heard of each trial
(`Watch.heard`). A trial not heard of for `worker_timeout` seconds is lost:
its worker's id is forgotten and the trial is handed to the next worker that
asks, to be trained again once (`lose_trial`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from tfnas import _kt_compat

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def beating(oracle_client: Any, trial_id: str, every_seconds: float) -> Iterator[None]:
    """On a worker: asks the chief for `trial_id` every `every_seconds` until the block ends."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_seconds):
            try:
                oracle_client.get_trial(trial_id)
            except Exception as e:  # noqa: BLE001  (the trial's own calls to the chief report a lost chief)
                logger.debug("Heartbeat for trial %s not delivered: %s", trial_id, e)

    thread = threading.Thread(target=beat, name=f"tfnas-heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every_seconds + 5.0)


class Watch:
    """On the chief: when each running trial was last heard of, and the re-queueing of silent ones.

    Args:
        oracle: the chief's Oracle.
        timeout_seconds: float, silence after which a trial is lost.
    """

    def __init__(self, oracle: Any, timeout_seconds: float):
        self.oracle = oracle
        self.timeout_seconds = float(timeout_seconds)
        self.heard: dict[str, float] = {}

    def hear(self, trial_id: str) -> None:
        """A worker called about `trial_id` (created, beat, updated or ended it)."""
        self.heard[trial_id] = time.monotonic()

    def requeue_silent(self) -> list[str]:
        """Hands back every running trial not heard of for the timeout; returns their ids."""
        now = time.monotonic()
        lost = []
        with _kt_compat.oracle_locked(self.oracle):
            for tuner_id, trial in list(self.oracle.ongoing_trials.items()):
                silent = now - self.heard.setdefault(trial.trial_id, now)
                if silent <= self.timeout_seconds:
                    continue
                why = f"worker {tuner_id} was silent for {silent:.0f}s (worker_timeout={self.timeout_seconds:g}s)"
                logger.warning("Trial %s lost: %s.", trial.trial_id, why)
                lose_trial(self.oracle, tuner_id, why)
                self.heard.pop(trial.trial_id, None)
                lost.append(trial.trial_id)
        return lost


def lose_trial(oracle: Any, tuner_id: str, why: str) -> None:
    """The trial of a silent worker goes to the next worker that asks, to be trained again once.

    A trial lost a second time fails, with `why` as its message, so a
    candidate that kills every worker it meets cannot stall the search. The
    reasons are kept in a `MultiObjectiveOracle`'s `rerun` (saved in
    `oracle.json`, read back as `SearchResult.rerun`); a plain keras-tuner
    Oracle has none, so its lost trials are re-queued without the once-only rule.
    """
    rerun = getattr(oracle, "rerun", None)
    trial = oracle.ongoing_trials[tuner_id]
    if rerun is not None and trial.trial_id in rerun:
        oracle.tuner_ids.discard(tuner_id)
        trial.status = "FAILED"
        trial.message = f"Lost twice: {rerun[trial.trial_id]}; then {why}."
        oracle.end_trial(trial)
        return
    _kt_compat.requeue(oracle, tuner_id)
    if rerun is not None:
        rerun[trial.trial_id] = why
    oracle.save()
