"""`MultiObjectiveOracle`: the keras-tuner Oracle that knows about cost, constraints and rewards.

keras-tuner's own Oracles score a trial with one objective (a list objective
is an unweighted sum) and only learn a model is too large after building it
inside a trial, which then fails. This base class adds, around the one method
a strategy writes (`propose`):

- hard constraints checked by building the candidate without training it:
  infeasible candidates are redrawn, never become trials, never count toward
  `max_trials`, and are counted in `infeasible_count`; a learned cost
  screen (`screen.py`) skips draws predicted far over a limit without even
  building them (`screened_count`);
- a reward (`tfnas.rewards`) in `score_trial`, and Pareto-ranked
  `get_best_trials`;
- its extra state in keras-tuner's `oracle.json`, so a search resumes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import keras_tuner as kt
import numpy as np

from tfnas import _kt_compat
from tfnas import atomic
from tfnas.constraints import Constraints
from tfnas.errors import InfeasibleSearchError
from tfnas.oracles.encoding import is_legal
from tfnas.oracles.screen import CostScreen
from tfnas.rewards import Reward
from tfnas.rewards import get_reward

logger = logging.getLogger(__name__)

CostFunction = Callable[[kt.HyperParameters], Mapping[str, float]]


class MultiObjectiveOracle(_kt_compat.OracleHooks, kt.Oracle):
    """Base class of tfnas strategies; subclass it and write `propose`.

    Besides `propose`, a strategy may override the hooks `prepare` (once,
    on the training data, before the first trial), `attach` (on a
    distributed worker, before its first trial) and `identifying_values`
    (what makes a candidate new); each has a default here, and `EdgeTuner`
    calls them directly. A plain keras-tuner Oracle has none of them: the
    tuner uses the defaults for it. `rerun` records why trials were trained
    again (a distributed worker was lost), in `oracle.json`.

    Example:

    ```python
    class FirstChoiceOracle(tfnas.oracles.MultiObjectiveOracle):
        def propose(self, trial_id):
            return self.random_values()  # or any dict of hyperparameter values

    tfnas.search(x, y, oracle=FirstChoiceOracle(max_trials=10))
    ```

    Args:
        objective: the quality metric keras-tuner tracks and checkpoints on, a
            `kt.Objective` or a metric name. Defaults to `val_accuracy`
            (`tfnas.search` sets `val_loss` for regression).
        max_trials: int, number of trained trials. Defaults to 20.
        reward: `"pareto"`, a `tfnas.rewards.Reward`, or a callable
            `metrics -> float`. Defaults to `"pareto"`.
        constraints: dict or `Constraints` of hard limits. Defaults to none.
        cost_function: callable `hp -> cost metrics`; the tuner provides it
            (it builds the model and runs `tfnas.cost.profile`).
        max_draws: int, candidates built to check constraints for one trial
            before giving up. Defaults to 100.
        seed: int, random seed.
        warm_start: hyperparameter values (dicts) proposed first, before the
            strategy's own: the best candidates of an earlier search
            (`tfnas.search(warm_start=...)`). Values this space does not
            have, or cannot take, are drawn afresh; an infeasible or
            already-tried one is skipped like any proposal.
        **kwargs: passed to `kt.Oracle` (`hyperparameters`,
            `max_consecutive_failed_trials`, ...).
    """

    def __init__(
        self,
        objective: kt.Objective | str | None = None,
        max_trials: int = 20,
        reward: str | Reward | Callable | None = "pareto",
        constraints: Constraints | Mapping[str, Any] | None = None,
        cost_function: CostFunction | None = None,
        max_draws: int = 100,
        seed: int | None = None,
        warm_start: Sequence[Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ):
        self._objective_given = objective is not None
        super().__init__(objective=_objective(objective), max_trials=max_trials, seed=seed, **kwargs)
        if seed is not None:
            _kt_compat.fix_seed(self, seed)
        self._reward = get_reward(reward)
        self.constraints = Constraints.from_any(constraints)
        self.cost_function = cost_function
        self.max_draws = int(max_draws)
        self.rng_state = 0
        self.infeasible_count = 0
        self.smallest_costs: dict[str, float] = {}
        self.screened_count = 0
        self.rerun: dict[str, str] = {}  # trial id -> why it was trained again (its distributed worker was lost)
        self.rejected: set[str] = set()  # hashes of candidates found over a limit: never built twice
        self.screened: set[str] = set()  # hashes of candidates the screen skipped: never proposed again
        self.warm_start = [dict(values) for values in warm_start or []]  # proposed first, consumed in order
        self._bind()

    def adopt(
        self,
        *,
        objective: kt.Objective | str | None = None,
        constraints: Constraints | Mapping[str, Any] | None = None,
        epochs: int | None = None,
        cost_function: CostFunction | None = None,
        warm_start: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Takes on a search's settings where the constructor left them open, and rebuilds what depends on them.

        `tfnas.search` calls it (through `tfnas.oracles.get_oracle`) on an
        oracle instance a user passed: the search's objective unless the
        oracle was built with one, the search's constraints unless it has its
        own, and the function that prices candidates. The reward binding and
        the cost screen are rebuilt from the result, so they act on the
        adopted limits. Subclasses with settings of their own (Hyperband's
        `max_epochs` from `epochs`) extend it.
        """
        if objective is not None and not self._objective_given:
            self.objective = _objective(objective)
        if constraints and not self.constraints:
            self.constraints = Constraints.from_any(constraints)
        if cost_function is not None:
            self.cost_function = cost_function
        if warm_start and not self.warm_start:
            self.warm_start = [dict(values) for values in warm_start]
        self._bind()

    def _bind(self) -> None:
        """The reward bound to the objective and limits, and a cost screen for the limits."""
        self.reward = self._reward.bind(self.objective.name, self.objective.direction, self.constraints.to_dict())
        self.screen = CostScreen(self.constraints.limits())

    # ----- the strategy's hooks (each with its default) ---------------------
    def propose(self, trial_id: str) -> dict[str, Any] | None:
        """Returns hyperparameter values for the next candidate, or `None` when out of ideas.

        Called again for the same `trial_id` until it returns a candidate that
        is new and feasible: values tried before, found over a limit or
        skipped by the cost screen are dropped by the base class (check with
        `is_new` to move on to your next idea). After `max_draws` candidates
        built without a feasible one, or 20 x `max_draws` proposals in all, the
        search stops early and says so; a `propose` that keeps returning known
        values therefore ends the search. Return `None` to stop it at once.
        The default is random search.
        """
        return self.random_values()

    def prepare(self, hypermodel: Any, x: Any, y: Any, *, validation_data: Any, training: Any, directory: str) -> Any:
        """Runs once on the chief before the first trial (one-shot trains its supernet); returns the hypermodel to build from.

        The default does nothing and returns `hypermodel`."""
        return hypermodel

    def attach(self, hypermodel: Any, x: Any, *, directory: str) -> Any:
        """On a distributed worker before its first trial, once the chief has prepared: returns the hypermodel to build from.

        The default returns `hypermodel`."""
        return hypermodel

    # ----- helpers for strategies ----------------------------------------
    def rng(self) -> np.random.Generator:
        """A generator that is reproducible from `seed` and survives a resume."""
        self.rng_state += 1
        return np.random.default_rng([self.seed or 0, self.rng_state])

    def random_values(self) -> dict[str, Any]:
        """Random values for the active hyperparameters of the space; the warm start's values come first.

        Every strategy starts from `random_values` (a random search's draws,
        a population's first members, Hyperband's new candidates), so a warm
        start seeds the first proposals of any of them.
        """
        return self.complete_values(self.warm_start.pop(0) if self.warm_start else {})

    def is_new(self, values: Mapping[str, Any]) -> bool:
        """True unless these values were tried already, found over a limit or skipped by the cost screen.

        Strategies that rank candidates deterministically (greedy, Bayesian)
        use it to move on to their next idea instead of proposing a rejected one again.
        """
        return not self._seen(_kt_compat.values_hash(self, dict(values)))

    def _seen(self, key: str) -> bool:
        return key in _kt_compat.tried_hashes(self) or key in self.rejected or key in self.screened

    def complete_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Keeps legal `values` of active hyperparameters, draws the missing ones, drops inactive ones."""
        hps = kt.HyperParameters()
        rng = self.rng()
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if hps.is_active(hp):
                value = values.get(hp.name)
                legal = value is not None and is_legal(hp, value)
                hps.values[hp.name] = value if legal else hp.random_sample(int(rng.integers(2**31)))
        return dict(hps.values)

    def completed_trials(self) -> list[kt.engine.trial.Trial]:
        """Completed trials in the order they ended."""
        return [self.trials[i] for i in self.end_order if self.trials[i].status == "COMPLETED"]

    @staticmethod
    def trial_metrics(trial: kt.engine.trial.Trial) -> dict[str, float]:
        """A trial's metrics as a plain dict (those of its last epoch, the saved model's)."""
        return {name: float(trial.metrics.get_last_value(name)) for name in trial.metrics.metrics}

    def rank_trials(self, trials: list) -> list:
        """Trials sorted best first by the reward (Pareto front first for `Pareto`)."""
        keys = self.reward.rank([self.trial_metrics(t) for t in trials])
        order = sorted(range(len(trials)), key=lambda i: keys[i], reverse=True)
        return [trials[i] for i in order]

    # ----- keras-tuner's Oracle interface ----------------------------------
    def populate_space(self, trial_id: str) -> dict[str, Any]:
        built = 0
        # Screened draws cost no build, so they get a larger allowance than built ones.
        for _ in range(20 * self.max_draws):
            values = self.propose(trial_id)
            if values is None:
                break
            key = _kt_compat.values_hash(self, values)
            if self._seen(key):
                continue
            if self.constraints:
                if self.screen.likely_infeasible(values):
                    # remembered, or a deterministic strategy (greedy) would propose it until the draws run out
                    self.screened.add(key)
                    self.screened_count += 1
                    continue
                built += 1
                if not self._feasible(values):
                    self.rejected.add(key)
                    if built >= self.max_draws:
                        break
                    continue
            return {"status": kt.engine.trial.TrialStatus.RUNNING, "values": values}
        if self.infeasible_count and not self.start_order:
            raise InfeasibleSearchError(self.constraints.unreachable(self.smallest_costs, self.max_draws))
        logger.warning("Stopping the search: no new feasible candidate after %d draws.", self.max_draws)
        return {"status": kt.engine.trial.TrialStatus.STOPPED, "values": None}

    def score_trial(self, trial: kt.engine.trial.Trial) -> None:
        super().score_trial(trial)
        trial.score = float(self.reward(self.trial_metrics(trial)))

    def get_best_trials(self, num_trials: int = 1) -> list:
        """Completed trials ranked by the reward: for `Pareto`, the front first."""
        return self.rank_trials(self.completed_trials())[:num_trials]

    def save(self) -> None:
        """Writes `oracle.json` atomically (keras-tuner writes it in place: a kill could leave half of it)."""
        atomic.write_json(_kt_compat.oracle_file(self), self.get_state())

    def save_trial(self, trial: kt.engine.trial.Trial) -> None:
        """Writes the trial's `trial.json` atomically (keras-tuner writes it in place; see `_kt_compat.OracleHooks`)."""
        atomic.write_json(os.path.join(_kt_compat.trial_dir(self, trial.trial_id), "trial.json"), trial.get_state())

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        # keras-tuner saves in `end_trial` before it drops the ended trial from `ongoing_trials`, and a
        # distributed chief saves nothing after that: keep only running trials, or a resume reruns ended ones.
        running = kt.engine.trial.TrialStatus.RUNNING
        ongoing = state["ongoing_trials"].items()
        state["ongoing_trials"] = {tuner: trial for tuner, trial in ongoing if self.trials[trial].status == running}
        return {
            **state,
            "tfnas": {
                "objective": {"name": self.objective.name, "direction": self.objective.direction},
                "rng_state": self.rng_state,
                "infeasible_count": self.infeasible_count,
                "screened_count": self.screened_count,
                "rerun": self.rerun,
                "rejected": sorted(self.rejected),
                "screened": sorted(self.screened),
                "warm_start": self.warm_start,
                "smallest_costs": self.smallest_costs,
                "constraints": self.constraints.to_dict(),
                "reward": self.reward.config(),
            },
        }

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        extra = state.get("tfnas", {})
        self.rng_state = extra.get("rng_state", 0)
        self.infeasible_count = extra.get("infeasible_count", 0)
        self.screened_count = extra.get("screened_count", 0)
        self.rerun = dict(extra.get("rerun", {}))
        self.rejected = set(extra.get("rejected", []))
        self.screened = set(extra.get("screened", []))
        self.warm_start = list(extra.get("warm_start", []))
        self.smallest_costs = dict(extra.get("smallest_costs", {}))

    def reload(self) -> None:
        super().reload()
        ended, lost = _kt_compat.repair_interrupted_writes(self)
        if ended or lost:
            logger.info("Resume: %d ended trials kept, %d interrupted trials queued to run again.", ended, lost)
            self.save()

    # ----- constraints ------------------------------------------------------
    def _feasible(self, values: Mapping[str, Any]) -> bool:
        if self.cost_function is None:
            raise InfeasibleSearchError(
                "This oracle has constraints but no cost_function to check them: use it through "
                "tfnas.search() or tfnas.tuner.EdgeTuner, or pass cost_function=..."
            )
        hps = self.hyperparameters.copy()
        hps.values = dict(values)
        try:
            costs = self.cost_function(hps)
        except kt.errors.FailedTrialError as e:  # the candidate cannot be built: it runs as a trial, which fails with why
            logger.info("Candidate not built (%s): it becomes a failed trial.", e)
            return True
        self.screen.observe(values, costs)
        for metric in self.constraints.limits():
            self.smallest_costs[metric] = min(self.smallest_costs.get(metric, float("inf")), float(costs[metric]))
        if self.constraints.is_feasible(costs):
            return True
        self.infeasible_count += 1
        logger.debug("Rejected infeasible candidate: %s", "; ".join(self.constraints.violations(costs)))
        return False


def _objective(objective: kt.Objective | str | None) -> kt.Objective:
    """A `kt.Objective` from a name (losses and errors minimised) or None (`val_accuracy`)."""
    if objective is None:
        return kt.Objective("val_accuracy", "max")
    if isinstance(objective, str):
        return kt.Objective(objective, "min" if "loss" in objective or "error" in objective else "max")
    return objective
