"""The only place that touches keras-tuner's internals, checked against keras-tuner 1.4.8.

keras-tuner's public API covers writing an Oracle's `populate_space` and a
Tuner's `run_trial`. tfnas also needs its Oracle's bookkeeping (which values
were tried, which trials wait for a retry, the seed it really uses) and its
gRPC service (the chief serves the Oracle with keras-tuner's own servicer).
Those are private in keras-tuner; every read and write of them is here, so an
upgrade is checked in one file. Two private keras-tuner hooks are overridden
here too, by the `OracleHooks` mixin that `MultiObjectiveOracle` takes:
`_save_trial` (routed to its public `save_trial`, which writes `trial.json`
atomically) and `_compute_values_hash` (routed to `identifying_values`, which
`HyperbandOracle` narrows to key the set of tried values that keras-tuner's
`create_trial` records).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from tfnas import _versions

CHECKED = {"keras-tuner": "1.4.8"}  # the versions this module was read against
_versions.check(CHECKED, __name__)  # at import: keras-tuner is imported with this module's users anyway

logger = logging.getLogger(__name__)


def oracle_file(oracle: Any) -> str:
    """Where the Oracle keeps its state (`oracle.json`)."""
    return oracle._get_oracle_fname()


def trial_dir(oracle: Any, trial_id: str) -> str:
    """A trial's folder in the run directory."""
    return oracle._get_trial_dir(trial_id)


def tuner_file(tuner: Any) -> str:
    """Where a Tuner keeps its state (`tuner0.json`, `chief.json`)."""
    return tuner._get_tuner_fname()


@contextlib.contextmanager
def oracle_locked(oracle: Any) -> Iterator[None]:
    """Holds the Oracle's lock as keras-tuner's `synchronized` methods do, so they can be called inside.

    The chief's gRPC calls run under that lock; `synchronized` re-enters it
    only from the thread it recorded as the holder, which is recorded here too.
    """
    from keras_tuner.src.engine.oracle import LOCKS
    from keras_tuner.src.engine.oracle import THREADS

    name = threading.current_thread().name
    if THREADS[oracle] == name:
        yield
        return
    with LOCKS[oracle]:
        THREADS[oracle] = name
        try:
            yield
        finally:
            THREADS[oracle] = None


def tried_hashes(oracle: Any) -> set[str]:
    """The hashes of the values the Oracle has run (`Oracle._tried_so_far`)."""
    return oracle._tried_so_far


def retry_queue(oracle: Any) -> list[str]:
    """Trial ids the Oracle hands out again before new ones (`Oracle._retry_queue`)."""
    return oracle._retry_queue


def repair_interrupted_writes(oracle: Any) -> tuple[int, int]:
    """Repairs what a kill between keras-tuner's two writes (`trial.json`, then `oracle.json`) leaves.

    A trial whose file says it ended while `oracle.json` still queues it for
    a retry is not trained again; a trial whose file says RUNNING but that
    `oracle.json` never recorded is queued to run again. Returns how many
    trials of each kind were found.
    """
    from keras_tuner.engine.trial import TrialStatus

    queue = retry_queue(oracle)
    ended = [i for i in queue if oracle.trials[i].status in (TrialStatus.COMPLETED, TrialStatus.FAILED)]
    for trial_id in ended:
        queue.remove(trial_id)
        if trial_id not in oracle.end_order:
            oracle.end_order.append(trial_id)
    lost = [i for i, t in oracle.trials.items() if t.status == TrialStatus.RUNNING and i not in queue]
    for trial_id in lost:
        queue.append(trial_id)
        if trial_id not in oracle.start_order:
            oracle.start_order.append(trial_id)
    return len(ended), len(lost)


def requeue(oracle: Any, tuner_id: str) -> str:
    """Takes the trial of a vanished tuner back: the next tuner that asks gets it (`create_trial` pops the retry queue first).

    The tuner's id is forgotten too, so the chief no longer waits for it to say goodbye. Returns the trial id.
    """
    trial = oracle.ongoing_trials.pop(tuner_id)
    oracle.tuner_ids.discard(tuner_id)
    retry_queue(oracle).append(trial.trial_id)
    return trial.trial_id


def fix_seed(oracle: Any, seed: int) -> None:
    """Makes the Oracle use `seed` itself: its `seed or random.randint(...)` turns seed=0 into a random seed."""
    oracle.seed = oracle._seed_state = seed


def protos() -> Any:
    """keras-tuner's gRPC protos module (`keras_tuner.src.protos`): its service has no public path."""
    from keras_tuner.src import protos as module

    return module


def oracle_servicer_class() -> type:
    """keras-tuner's gRPC `OracleServicer`, which the chief serves its Oracle with."""
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    return OracleServicer


def silence_condition_print() -> None:
    """Removes keras-tuner 1.4.8's stray `print` from `conditions.Parent.to_proto`.

    That print writes a value line on the chief and the workers every time a
    trial with conditional hyperparameters (every tfnas space has them)
    crosses gRPC. The replacement builds the same proto without printing. On
    any other keras-tuner version this does nothing (and says so in the log).
    """
    import keras_tuner as kt
    from keras_tuner.src.engine import conditions

    if kt.__version__ != CHECKED["keras-tuner"]:
        logger.info("keras-tuner %s is not %s: its Parent.to_proto is left as it is.", kt.__version__, CHECKED["keras-tuner"])
        return
    conditions.Parent.to_proto = _parent_to_proto


def _parent_to_proto(self: Any) -> Any:
    """`keras_tuner.src.engine.conditions.Parent.to_proto` of keras-tuner 1.4.8, minus its `print`."""
    proto = protos().get_proto()
    first = self.values[0]  # keras-tuner types every value by the first one
    kind = (
        "string_value" if isinstance(first, str)
        else "boolean_value" if isinstance(first, bool)
        else "int_value" if isinstance(first, int)
        else "float_value"
    )
    values = [proto.Value(**{kind: v}) for v in self.values]
    return proto.Condition(parent=proto.Condition.Parent(name=self.name, values=values))


def local_oracle(oracle: Any) -> Any:
    """The Oracle object itself: on a distributed worker, the one keras-tuner's `OracleClient` wraps (`._oracle`).

    A worker's Tuner talks to the chief through the client, which forwards
    only a few attributes; the tfnas hooks of the Oracle it was built with
    (`attach`) are methods of the wrapped object. The client's module is
    not imported here (it imports grpc): no client exists before it is.
    """
    import sys

    client = sys.modules.get("keras_tuner.src.distribute.oracle_client")
    return oracle._oracle if client is not None and isinstance(oracle, client.OracleClient) else oracle


def values_hash(oracle: Any, values: dict[str, Any]) -> str:
    """The key under which the Oracle records values as tried (`Oracle._compute_values_hash`)."""
    return oracle._compute_values_hash(values)


class OracleHooks:
    """Mixin for a `kt.Oracle` subclass: keras-tuner's two private Oracle hooks call public methods.

    keras-tuner 1.4.8 keys the values it has tried (`_tried_so_far`, filled
    by `create_trial` and `end_trial`) with `_compute_values_hash`, and writes
    `trial.json` with `_save_trial`. A subclass that mixes this in (before
    `kt.Oracle`) provides instead:

    - `identifying_values(values) -> dict`: the values that make a candidate
      what it is; the hash is keras-tuner's, over those;
    - `save_trial(trial) -> None`: writes the trial's `trial.json`.
    """

    def _compute_values_hash(self, values: dict[str, Any]) -> str:
        return super()._compute_values_hash(self.identifying_values(values))  # type: ignore[misc]

    def _save_trial(self, trial: Any) -> None:
        self.save_trial(trial)  # type: ignore[attr-defined]

    def identifying_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """The values that identify a candidate: all of them by default."""
        return values
