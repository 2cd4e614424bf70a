"""A REINFORCE controller (Williams 1992; Zoph & Le 2017) with a factorised categorical policy."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfnas.errors import TfnasInputError
from tfnas.oracles.base import MultiObjectiveOracle
from tfnas.oracles.encoding import choices


class RLOracle(MultiObjectiveOracle):
    """Policy-gradient search: one softmax over the values of each hyperparameter.

    A candidate samples every hyperparameter from its own categorical
    distribution (Int and Float ranges are cut into 10 legal values). After
    each completed trial the logits move along the REINFORCE gradient of its
    reward minus a baseline (an exponential moving average of past rewards).
    The reward of a trial is its standing among the trials done so far (1 for
    the best by the reward's ranking, 0 for the worst), which works for a
    Pareto ranking as well as for a scalar reward. The policy is replayed
    from the completed trials in the order they ended, so it needs no state
    of its own to resume.

    Args:
        learning_rate: float, step size on the logits. Defaults to 0.5.
        baseline_decay: float, decay of the moving-average baseline.
            Defaults to 0.8.
        **kwargs: the arguments of `MultiObjectiveOracle`.
    """

    def __init__(self, learning_rate: float = 0.5, baseline_decay: float = 0.8, **kwargs: Any):
        super().__init__(**kwargs)
        if learning_rate <= 0 or not 0.0 <= baseline_decay < 1.0:
            raise TfnasInputError(
                "learning_rate must be > 0 and baseline_decay in [0, 1). Received: "
                f"learning_rate={learning_rate}, baseline_decay={baseline_decay}"
            )
        self.learning_rate = learning_rate
        self.baseline_decay = baseline_decay
        self._policy: tuple[int, dict] = (-1, {})

    def policy(self) -> dict[str, tuple[list[Any], np.ndarray]]:
        """`{name: (values, probabilities)}` after replaying every completed trial."""
        logits = {hp.name: (choices(hp), np.zeros(len(choices(hp)))) for hp in self.hyperparameters.space}
        done = self.completed_trials()
        baseline = None
        for n in range(1, len(done) + 1):
            keys = self.reward.rank([self.trial_metrics(t) for t in done[:n]])
            newest = keys[-1]
            reward = sum(k < newest for k in keys) / max(1, n - 1) if n > 1 else 0.5
            baseline = reward if baseline is None else self.baseline_decay * baseline + (1 - self.baseline_decay) * reward
            advantage = reward - baseline
            for name, value in done[n - 1].hyperparameters.values.items():
                if name not in logits or value not in logits[name][0]:
                    continue
                values, z = logits[name]
                p = _softmax(z)
                grad = -p
                grad[values.index(value)] += 1.0  # d log p(value) / d logits
                z += self.learning_rate * advantage * grad
        return {name: (values, _softmax(z)) for name, (values, z) in logits.items()}

    def propose(self, trial_id: str) -> dict[str, Any] | None:
        if self.warm_start:  # an earlier search's best candidates first; the policy then learns from them
            return self.random_values()
        done = len(self.completed_trials())
        if self._policy[0] != done:  # propose is called again for each repeat or infeasible draw
            self._policy = (done, self.policy())
        rng = self.rng()
        sampled = {name: values[int(rng.choice(len(values), p=p))] for name, (values, p) in self._policy[1].items()}
        return self.complete_values(sampled)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()
