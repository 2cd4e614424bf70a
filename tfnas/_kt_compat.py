"""The only place that touches keras-tuner's internals, checked against keras-tuner 1.4.8.

keras-tuner's public API covers writing an Oracle's `populate_space` and a
Tuner's `run_trial`. tfnas also needs its Oracle's bookkeeping (which values
were tried, which trials wait for a retry, the seed it really uses) and its
gRPC service (the chief serves the Oracle with keras-tuner's own servicer).
Those are private in keras-tuner; every read and write of them is here, so an
upgrade is checked in one file. Oracles also override keras-tuner's
`_compute_values_hash` hook (`MultiObjectiveOracle.candidate_key`): it keys
the set of tried values that keras-tuner's `create_trial` records.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

VERIFIED_VERSION = "1.4.8"


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

    if kt.__version__ != VERIFIED_VERSION:
        logger.info("keras-tuner %s is not %s: its Parent.to_proto is left as it is.", kt.__version__, VERIFIED_VERSION)
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
