"""Bayesian optimisation with a scikit-learn Gaussian process, ParEGO-style for several objectives."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tfnas.errors import TfnasInputError
from tfnas.oracles.base import MultiObjectiveOracle
from tfnas.oracles.encoding import decode
from tfnas.oracles.encoding import encode
from tfnas.rewards import Pareto


class BayesianOracle(MultiObjectiveOracle):
    """Gaussian-process Bayesian optimisation (ParEGO, Knowles 2006, for the Pareto reward).

    Each step scalarises the trials' objectives with fresh random weights
    (augmented Chebyshev, objectives normalised to [0, 1] and costs on a log
    scale), so successive steps aim at different parts of the front; with a
    scalar reward it minimises minus the reward. A Gaussian process
    (`sklearn.gaussian_process`, Matern 5/2 + white noise) is fitted to the
    encoded hyperparameters (`encoding.py`), and the candidate with the
    lowest lower confidence bound among `num_candidates` random points and
    one-change mutations of the best trials is proposed. Candidates already
    tried or already found over a limit are skipped, and when the best one is
    rejected the step moves on to its next one, so the oracle never repeats
    itself (keras-tuner #227, #608).

    Args:
        num_initial_points: int, random trials before the model is used.
            Defaults to 5 (capped at a quarter of `max_trials`).
        num_candidates: int, random candidates scored per step. Defaults to 500.
        beta: float, weight of the GP's standard deviation in the lower
            confidence bound (exploration). Defaults to 2.0.
        **kwargs: the arguments of `MultiObjectiveOracle`.
    """

    def __init__(self, num_initial_points: int = 5, num_candidates: int = 500, beta: float = 2.0, **kwargs: Any):
        super().__init__(**kwargs)
        if num_initial_points < 1 or num_candidates < 1 or beta < 0:
            raise TfnasInputError(
                "num_initial_points and num_candidates must be >= 1 and beta >= 0. Received: "
                f"num_initial_points={num_initial_points}, num_candidates={num_candidates}, beta={beta}"
            )
        if self.max_trials:
            num_initial_points = max(1, min(num_initial_points, self.max_trials // 4))
        self.num_initial_points = num_initial_points
        self.num_candidates = num_candidates
        self.beta = beta
        self._queue: tuple[str, list[dict[str, Any]]] = ("", [])

    def propose(self, trial_id: str) -> dict[str, Any] | None:
        done = self.completed_trials()
        if len(done) < self.num_initial_points:
            return self.random_values()
        queued_for, queue = self._queue
        if queued_for != trial_id or not queue:
            # A step ranks all its candidates at once; when the best is a repeat or infeasible, the
            # base class asks again and gets the next one instead of the same point.
            queue = self._ranked_candidates(done)
            self._queue = (trial_id, queue)
        return queue.pop(0) if queue else self.random_values()

    def _ranked_candidates(self, done: list) -> list[dict[str, Any]]:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import Matern
        from sklearn.gaussian_process.kernels import WhiteKernel

        space = self.hyperparameters.space
        rng = self.rng()
        x = np.stack([encode(space, t.hyperparameters.values) for t in done])
        y = self._scalarised([self.trial_metrics(t) for t in done], rng)
        candidates = [decode(space, rng.random(len(space))) for _ in range(self.num_candidates)]
        for trial in self.rank_trials(done)[:5]:  # local moves around the best trials
            base = encode(space, trial.hyperparameters.values)
            for _ in range(self.num_candidates // 10):
                point = base.copy()
                i = int(rng.integers(len(point)))
                point[i] = rng.random()
                candidates.append(decode(space, point))
        unique = {tuple(sorted(c.items(), key=lambda kv: kv[0])): c for c in candidates if self.is_new(c)}
        candidates = list(unique.values())
        if not candidates:
            return []
        gp = GaussianProcessRegressor(
            Matern(nu=2.5) + WhiteKernel(1e-2), normalize_y=True, n_restarts_optimizer=2, random_state=int(rng.integers(2**31))
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings on a handful of points are expected
            gp.fit(x, y)
            mean, std = gp.predict(np.stack([encode(space, c) for c in candidates]), return_std=True)
        order = np.argsort(mean - self.beta * std)
        return [candidates[i] for i in order[:50]]

    def _scalarised(self, metrics: list[dict[str, float]], rng: np.random.Generator) -> np.ndarray:
        """What the GP models, lower is better: a random augmented-Chebyshev weighting, or minus the reward."""
        if not isinstance(self.reward, Pareto):
            return -np.array([float(self.reward(m)) for m in metrics])
        points = np.array([self.reward.objectives(m) for m in metrics], dtype=float)
        points[:, 1:] = np.log1p(np.maximum(points[:, 1:], 0.0))
        low, high = points.min(axis=0), points.max(axis=0)
        scaled = (points - low) / np.where(high > low, high - low, 1.0)
        weights = rng.dirichlet(np.ones(points.shape[1]))
        return np.max(weights * scaled, axis=1) + 0.05 * scaled @ weights
