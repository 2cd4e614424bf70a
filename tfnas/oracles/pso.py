"""Particle swarm optimisation (Kennedy & Eberhart 1995) over encoded hyperparameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfnas.errors import TfnasInputError
from tfnas.oracles.base import MultiObjectiveOracle
from tfnas.oracles.encoding import decode
from tfnas.oracles.encoding import encode


class PSOOracle(MultiObjectiveOracle):
    """A swarm of particles moving through the unit cube of encoded hyperparameters.

    Each particle has a position and a velocity in [0, 1]^d (`encoding.py`);
    a candidate is its position rounded to the nearest legal values.
    Particles take turns: the velocity is pulled towards the particle's own
    best trial and towards a leader, `v = w v + c1 r1 (own - x) + c2 r2
    (leader - x)`. With the Pareto reward the leader is drawn from the front
    (multi-objective PSO, Coello et al. 2004), favouring sparse regions by
    crowding; with a scalar reward it is the best trial. When the rounded
    position was tried already, the move is perturbed (turbulence) so the
    swarm never proposes a repeat.

    Args:
        num_particles: int, swarm size; the first `num_particles` candidates
            are random. Defaults to 8 (capped at a quarter of `max_trials`).
        inertia: float, `w`. Defaults to 0.5.
        cognitive: float, `c1`. Defaults to 1.5.
        social: float, `c2`. Defaults to 1.5.
        **kwargs: the arguments of `MultiObjectiveOracle`.
    """

    def __init__(self, num_particles: int = 8, inertia: float = 0.5, cognitive: float = 1.5, social: float = 1.5, **kwargs: Any):
        super().__init__(**kwargs)
        if num_particles < 2:
            raise TfnasInputError(f"num_particles must be >= 2. Received: num_particles={num_particles}")
        if self.max_trials:
            num_particles = max(2, min(num_particles, self.max_trials // 4))
        self.num_particles = num_particles
        self.inertia, self.cognitive, self.social = inertia, cognitive, social
        self.velocities: dict[int, list[float]] = {}
        self.members: dict[str, int] = {}  # trial id -> particle
        self._pending: dict[str, tuple[int, list[float]]] = {}  # trial id -> (particle, velocity) until it ends
        self._retries: dict[str, int] = {}

    def propose(self, trial_id: str) -> dict[str, Any] | None:
        space = self.hyperparameters.space
        particle = len(self.members) % self.num_particles
        history = [t for t in self.completed_trials() if self.members.get(t.trial_id) == particle]
        if not history:  # the swarm's first round: random positions
            self._pending[trial_id] = (particle, [])
            return self.random_values()
        rng = self.rng()
        x = encode(space, history[-1].hyperparameters.values)
        own_best = encode(space, self.rank_trials(history)[0].hyperparameters.values)
        leader = encode(space, self._leader(rng).hyperparameters.values)
        v = np.resize(np.array(self.velocities.get(particle, [0.0])), len(space))  # the space may have grown
        r1, r2 = rng.random(len(space)), rng.random(len(space))
        v = self.inertia * v + self.cognitive * r1 * (own_best - x) + self.social * r2 * (leader - x)
        # The base class asks again for the same trial when the point is a repeat or infeasible:
        # each retry shakes the move harder (turbulence).
        retries = self._retries.get(trial_id, 0)
        self._retries[trial_id] = retries + 1
        v = np.clip(v + rng.normal(0.0, 0.1 * retries, len(space)), -0.5, 0.5)
        self._pending[trial_id] = (particle, v.tolist())
        return decode(space, np.clip(x + v, 0.0, 1.0))

    def _leader(self, rng: np.random.Generator) -> Any:
        """The best trial, or for a Pareto ranking one of the less crowded half of the front."""
        ranked = self.rank_trials(self.completed_trials())
        keys = self.reward.rank([self.trial_metrics(t) for t in ranked])
        if not isinstance(keys[0], tuple):
            return ranked[0]
        front = [t for t, k in zip(ranked, keys, strict=True) if k[0] == keys[0][0]]  # ranked by crowding: sparse first
        return front[int(rng.integers(len(front) // 2 + 1))]

    def end_trial(self, trial: Any) -> None:
        self._retries.pop(trial.trial_id, None)
        particle, velocity = self._pending.pop(trial.trial_id, (len(self.members) % self.num_particles, []))
        self.members[trial.trial_id] = particle
        if velocity:
            self.velocities[particle] = velocity
        super().end_trial(trial)

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["pso"] = {"velocities": {str(k): v for k, v in self.velocities.items()}, "members": self.members}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        pso = state.get("pso", {})
        self.velocities = {int(k): v for k, v in pso.get("velocities", {}).items()}
        self.members = dict(pso.get("members", {}))
