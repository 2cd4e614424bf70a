"""Hyperband (Li et al. 2018): successive halving at growing epochs, promoting the non-dominated set."""

from __future__ import annotations

import math
from typing import Any

from tfnas.errors import TfnasInputError
from tfnas.oracles.base import MultiObjectiveOracle

EPOCHS = "tuner/epochs"  # keras-tuner's names: its tuners and `EdgeTuner` train to these epochs
INITIAL_EPOCH = "tuner/initial_epoch"
PARENT = "tuner/trial_id"
BRACKET = "tuner/bracket"
ROUND = "tuner/round"
_SCHEDULE_KEYS = (EPOCHS, INITIAL_EPOCH, BRACKET, ROUND)


class HyperbandOracle(MultiObjectiveOracle):
    """Multi-fidelity search: many candidates for a few epochs, the best of them for more.

    Brackets cycle from the most aggressive (`factor**s` random candidates at
    `max_epochs / factor**s` epochs, then successive halving) to plain random
    search at `max_epochs`, with keras-tuner's sizes. Within a bracket, a
    round promotes `1/factor` of the previous round's candidates, picked by
    the reward's ranking: for `Pareto`, whole non-dominated fronts first, so
    a cheap model on the front survives next to an accurate one (ties broken
    by crowding). A promoted trial carries keras-tuner's `tuner/epochs`,
    `tuner/initial_epoch` and `tuner/trial_id` values, and `EdgeTuner`
    resumes it from its parent's weights, so it trains only the extra epochs.

    Every rung is a trial and counts toward `max_trials`. The bracket
    structure is read back from the trials' values, so a resumed search
    continues the same brackets.

    Args:
        max_epochs: int, epochs of a fully trained candidate. Defaults to
            the search's `epochs` (`tfnas.search` sets it).
        factor: int, reduction factor between rounds. Defaults to 3.
        **kwargs: the arguments of `MultiObjectiveOracle`.
    """

    def __init__(self, max_epochs: int | None = None, factor: int = 3, **kwargs: Any):
        super().__init__(**kwargs)
        if factor < 2 or (max_epochs is not None and max_epochs < 1):
            raise TfnasInputError(f"factor must be >= 2 and max_epochs >= 1. Received: factor={factor}, max_epochs={max_epochs}")
        self.max_epochs = max_epochs
        self.factor = factor

    def adopt(self, *, epochs: int | None = None, **kwargs: Any) -> None:
        """The base's `adopt`; without `max_epochs` of its own, a fully trained candidate gets the search's `epochs`."""
        if self.max_epochs is None and epochs is not None:
            self.max_epochs = int(epochs)
        super().adopt(**kwargs)

    # ----- keras-tuner's bracket arithmetic -------------------------------------
    def num_brackets(self) -> int:
        """Brackets per Hyperband iteration: 1 + floor(log_factor(max_epochs))."""
        return 1 + int(math.floor(math.log(self._max_epochs(), self.factor) + 1e-9))

    def size(self, s: int, round_num: int) -> int:
        """Candidates in round `round_num` of a bracket of aggressiveness `s` (keras-tuner's `_get_size`)."""
        end_size = math.ceil(1 + math.log(self._max_epochs(), self.factor)) / (s + 1)
        return math.ceil(end_size * self.factor ** (s - round_num))

    def epochs(self, s: int, round_num: int) -> int:
        """Epochs a candidate has trained after round `round_num` of bracket `s` (keras-tuner's `_get_epochs`)."""
        return math.ceil(self._max_epochs() / self.factor ** (s - round_num))

    def aggressiveness(self, bracket: int) -> int:
        """`s` of the bracket with this number: the most aggressive first, then down to 0, then again."""
        return self.num_brackets() - 1 - bracket % self.num_brackets()

    # ----- the strategy -----------------------------------------------------------
    def propose(self, trial_id: str) -> dict[str, Any] | None:
        rounds = self._rounds()
        for bracket in sorted(rounds):
            s = self.aggressiveness(bracket)
            for round_num in range(1, s + 1):
                promoted = self._promotion(rounds[bracket], s, round_num)
                if promoted is not None:
                    return promoted
        newest = max(rounds, default=-1)
        if newest < 0 or len(rounds[newest].get(0, [])) >= self.size(self.aggressiveness(newest), 0):
            newest += 1
        s = self.aggressiveness(newest)
        values = self.random_values()
        return {**values, EPOCHS: self.epochs(s, 0), INITIAL_EPOCH: 0, BRACKET: newest, ROUND: 0}

    def _rounds(self) -> dict[int, dict[int, list]]:
        """`{bracket: {round: [trials]}}` for every trial created so far (running ones included)."""
        rounds: dict[int, dict[int, list]] = {}
        for trial in self.trials.values():
            values = trial.hyperparameters.values
            if BRACKET in values:
                rounds.setdefault(int(values[BRACKET]), {}).setdefault(int(values[ROUND]), []).append(trial)
        return rounds

    def _promotion(self, bracket: dict[int, list], s: int, round_num: int) -> dict[str, Any] | None:
        """The next candidate to promote into `round_num`, once the round before has ended; else None."""
        before, now = bracket.get(round_num - 1, []), bracket.get(round_num, [])
        if not before or len(now) >= self.size(s, round_num):
            return None
        if len(before) < self.size(s, round_num - 1) or any(t.status == "RUNNING" for t in before):
            return None  # the round before is not finished: its ranking is not known yet
        taken = {t.hyperparameters.values.get(PARENT) for t in now}
        ranked = self.rank_trials([t for t in before if t.status == "COMPLETED"])[: self.size(s, round_num)]
        for parent in ranked:
            if parent.trial_id not in taken:
                values = {k: v for k, v in parent.hyperparameters.values.items() if k not in (*_SCHEDULE_KEYS, PARENT)}
                return {
                    **values, PARENT: parent.trial_id, EPOCHS: self.epochs(s, round_num),
                    INITIAL_EPOCH: self.epochs(s, round_num - 1), BRACKET: parent.hyperparameters.values[BRACKET],
                    ROUND: round_num,
                }
        return None

    def _max_epochs(self) -> int:
        if self.max_epochs is None:
            raise TfnasInputError("HyperbandOracle needs max_epochs: pass it, or use it through tfnas.search(epochs=...).")
        return int(self.max_epochs)

    def identifying_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """A candidate is new by its architecture; a promotion differs by its parent (as in keras-tuner's Hyperband)."""
        return {k: v for k, v in values.items() if k not in _SCHEDULE_KEYS}
