"""Heartbeats of a distributed search: workers say they are alive; the chief re-queues the trials of silent ones.

keras-tuner's chief has no heartbeat: a worker that dies and is never
restarted under its id leaves its trial RUNNING forever and the chief waiting.
Here a worker, while it trains, calls the chief's `GetTrial` for its trial
every `worker_timeout / 4` seconds (`beating`), a read the chief answers
anyway; the chief's servicer notes when it last heard of each trial
(`Watch.heard`). A trial not heard of for `worker_timeout` seconds is lost:
its worker's id is forgotten and the trial is handed to the next worker that
asks, to be trained again once (`lose_trial`).

So that a trial lost near the end still finds a worker, the chief tells a
worker that asks for a trial when none is left to make to wait (keras-tuner's
IDLE answer, `Watch.create_trial`) while any other trial runs or waits for a
retry, instead of telling it to stop. If every worker is gone while a lost
trial waits, the chief stops with a `DistributedSearchError` naming it
(`Watch.check_workers`); running the same command again resumes the search.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

from tfnas import _kt_compat
from tfnas.errors import DistributedSearchError

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
    """On the chief: when each running trial and each worker was last heard of; re-queues silent trials.

    Args:
        oracle: the chief's Oracle.
        timeout_seconds: float, silence after which a trial is lost, and a
            worker that holds no trial is forgotten.
        rerun: dict, trial id -> why it was trained again, where lost trials
            are recorded (a `MultiObjectiveOracle`'s `rerun`, saved in
            `oracle.json`). Defaults to a record of this watch's own, for a
            plain keras-tuner Oracle.
        clock: callable returning seconds, `time.monotonic` by default (tests pass a fake one).
    """

    def __init__(
        self, oracle: Any, timeout_seconds: float, rerun: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.oracle = oracle
        self.timeout_seconds = float(timeout_seconds)
        self.rerun = {} if rerun is None else rerun
        self.clock = clock
        self.heard: dict[str, float] = {}  # trial id -> when a worker last called about it
        self.asked: dict[str, float] = {}  # tuner id -> when that worker last called
        self.last_call: float | None = None  # any worker's last call in this run
        self.waiting_since: float | None = None  # when a lost trial was last queued for a retry
        self._dry_at: int | None = None  # len(end_order) when no new trial could be made while others ran

    def hear(self, trial_id: str) -> None:
        """A worker called about `trial_id` (created, beat, updated or ended it)."""
        now = self.clock()
        self.heard[trial_id] = self.last_call = now
        for tuner_id, trial in list(self.oracle.ongoing_trials.items()):
            if trial.trial_id == trial_id:
                self.asked[tuner_id] = now

    def create_trial(self, tuner_id: str) -> Any:
        """The Oracle's `create_trial` for a worker, answering IDLE (wait) rather than STOPPED while others may yet be lost.

        While another worker's trial runs or a lost trial waits for a retry,
        a worker for which no new trial can be made (the budget is spent, or
        the strategy has no candidate) is told to wait: if that trial is
        lost, this worker trains it again. The strategy is asked again only
        after another trial has ended.
        """
        from keras_tuner.engine.trial import TrialStatus

        self.asked[tuner_id] = self.last_call = self.clock()
        oracle = self.oracle
        with _kt_compat.oracle_locked(oracle):
            others = any(holder != tuner_id for holder in oracle.ongoing_trials)
            dry = self._dry_at == len(oracle.end_order) and not _kt_compat.retry_queue(oracle)
            if others and dry and tuner_id not in oracle.ongoing_trials:
                oracle.tuner_ids.add(tuner_id)
                return _idle_trial(oracle)
            trial = oracle.create_trial(tuner_id)
            if trial.status == TrialStatus.STOPPED and (others or _kt_compat.retry_queue(oracle)):
                self._dry_at = len(oracle.end_order)
                oracle.tuner_ids.add(tuner_id)  # create_trial forgot it: it has been told to stop
                trial.status = TrialStatus.IDLE
        if trial.status == TrialStatus.RUNNING:
            self.hear(trial.trial_id)
        return trial

    def requeue_silent(self) -> list[str]:
        """Hands back every running trial not heard of for the timeout, forgets silent idle workers; returns the trials' ids."""
        now = self.clock()
        lost = []
        with _kt_compat.oracle_locked(self.oracle):
            for tuner_id, trial in list(self.oracle.ongoing_trials.items()):
                silent = now - self.heard.setdefault(trial.trial_id, now)
                if silent <= self.timeout_seconds:
                    continue
                why = f"worker {tuner_id} was silent for {silent:.0f}s (worker_timeout={self.timeout_seconds:g}s)"
                logger.warning("Trial %s lost: %s.", trial.trial_id, why)
                lose_trial(self.oracle, tuner_id, why, self.rerun)
                self.heard.pop(trial.trial_id, None)
                self.waiting_since = now
                lost.append(trial.trial_id)
            for tuner_id in sorted(set(self.oracle.tuner_ids) - set(self.oracle.ongoing_trials)):
                silent = now - self.asked.setdefault(tuner_id, now)
                if silent > self.timeout_seconds:
                    logger.warning("Worker %s holds no trial and was silent for %.0fs: forgotten.", tuner_id, silent)
                    self.oracle.tuner_ids.discard(tuner_id)
        return lost

    def check_workers(self) -> None:
        """Raises when lost trials wait for a retry and no worker is left: none runs a trial or has called for the timeout.

        Raises:
            DistributedSearchError: naming the lost trials; the search is saved, and running the same command resumes it.
        """
        queued = list(_kt_compat.retry_queue(self.oracle))
        if not queued or self.oracle.ongoing_trials or self.last_call is None:
            return  # nothing waits, someone works, or no worker has come yet (a resumed chief waits for them)
        silent = self.clock() - max(self.last_call, self.waiting_since or self.last_call)
        if silent <= self.timeout_seconds:
            return
        raise DistributedSearchError(
            f"Trial(s) {', '.join(sorted(queued))} lost their worker, and no worker is left to train them again: none has "
            f"called the chief for {silent:.0f}s (worker_timeout={self.timeout_seconds:g}s). The search is saved: run the "
            "same command again, on the chief and the workers, to resume it; the lost trials are trained first."
        )


def lose_trial(oracle: Any, tuner_id: str, why: str, rerun: dict[str, str] | None = None) -> None:
    """The trial of a silent worker goes to the next worker that asks, to be trained again once.

    A trial lost a second time fails, with `why` as its message, so a
    candidate that kills every worker it meets cannot stall the search.
    The reasons are kept in `rerun` (trial id -> why; a `MultiObjectiveOracle`'s
    `rerun` is saved in `oracle.json` and read back as `SearchResult.rerun`);
    without one, nothing records the first loss and the trial is re-queued again.
    """
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


def _idle_trial(oracle: Any) -> Any:
    """keras-tuner's answer "no trial yet, ask again" (status IDLE)."""
    from keras_tuner.engine.trial import Trial
    from keras_tuner.engine.trial import TrialStatus

    return Trial(oracle.hyperparameters.copy(), trial_id="", status=TrialStatus.IDLE)
