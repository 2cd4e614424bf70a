"""Heartbeats of a distributed search: workers say they are alive; the chief re-queues the trials of silent ones.

keras-tuner's chief has no heartbeat: a worker that dies and is never
restarted under its id leaves its trial RUNNING forever and the chief waiting.
Here a worker, while it trains, calls the chief's `GetTrial` for its trial
every `worker_timeout / 4` seconds (`beating`), a read the chief answers
anyway; the chief's servicer notes when it last heard of each trial
(`Watch.heard`). A trial not heard of for `worker_timeout` seconds is lost:
its worker's id is forgotten and the trial is handed to the next worker that
asks, to be trained again once (`MultiObjectiveOracle.lose_trial`).
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
                lose = getattr(self.oracle, "lose_trial", None)
                if lose is not None:
                    lose(tuner_id, why)
                else:  # a plain keras-tuner Oracle: re-queue, without the once-only rule
                    _kt_compat.requeue(self.oracle, tuner_id)
                self.heard.pop(trial.trial_id, None)
                lost.append(trial.trial_id)
        return lost
