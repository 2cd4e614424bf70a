"""`OneShotOracle`: train one supernet, rank thousands of its sub-networks, train the best as trials.

How it works, and what the budget pays for: `tfnas.oracles.oneshot`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from typing import Any

from tfnas.errors import TfnasInputError
from tfnas.oneshot.base_supernet import BaseSupernet
from tfnas.oneshot.extract import InheritedSpace
from tfnas.oneshot.rank import Ranked
from tfnas.oneshot.train import SupernetHistory
from tfnas.oneshot.train import supernet_learning_rate
from tfnas.oneshot.train import train_supernet
from tfnas.oracles.base import MultiObjectiveOracle
from tfnas.oracles.oneshot.arguments import check_arguments
from tfnas.oracles.oneshot.ordering import nearest_choice
from tfnas.oracles.oneshot.ordering import order_trials
from tfnas.oracles.oneshot.ordering import probes
from tfnas.oracles.oneshot.ordering import tolerance_of
from tfnas.oracles.oneshot.prepare import SUPERNET_FOLDER
from tfnas.oracles.oneshot.prepare import attached_space
from tfnas.oracles.oneshot.prepare import check_inputs
from tfnas.oracles.oneshot.prepare import fixed_frame
from tfnas.oracles.oneshot.prepare import framed_supernet
from tfnas.oracles.oneshot.ranking import rank_by_evolution

__all__ = ["OneShotOracle"]


class OneShotOracle(MultiObjectiveOracle):
    """Trains a supernet once, ranks sub-networks by inherited-weight accuracy, and trains the best as trials.

    Works with `DSCNN1DSpace`, `MobileNetSpace` and `DSCNN2DSpace` (the spaces a supernet covers:
    `tfnas.oneshot.families`), each alone rather than inside a `FamilySpace`.

    Example:

    ```python
    result = tfnas.search(x, y, space="dscnn1d", oracle={"name": "oneshot", "num_ranked": 2000},
                          constraints={"max_macs": 20_000}, max_trials=20, epochs=30)
    ```

    Args:
        supernet_epochs: Epochs the supernet trains. Defaults to half the budget (`max_trials` x the search's
            `epochs` single-model epochs, / 2, / the 2 + `num_random` sub-networks a step trains), and at
            least one full training (`epochs`). With the trials spread over the widened front (`tolerance`),
            on MNIST-1D (30 trainings of 9 epochs; benchmarks/bench_strategies.py, seeds 0-4) a 33-epoch
            supernet and 15 fine-tunes made fronts of hypervolume median 0.874 (1.13x `pso`) against 0.843
            from a 16-epoch supernet and 22 fine-tunes; on digits (22 epochs, seeds 0-2) 0.859 (1.02x `pso`)
            and 97.1% int8 test accuracy on TFLite Micro (`rl` 96.9%). Without the spread, half the budget
            left every digits trial under 3.5k MACs.
        num_random: Random sub-networks per supernet step besides the largest and smallest. Defaults to 2.
        distill: Whether the smaller sub-networks learn from the largest's outputs. Defaults to False
            (on MNIST-1D, distillation ranked sub-networks worse: benchmarks/bench_oneshot.py).
        num_ranked: Distinct sub-networks ranked with inherited weights. Defaults to 1000.
        population_size: Evolution's population (see `tfnas.oneshot.rank.evolve`). Defaults to 100.
        inherit: Whether trials fine-tune from the supernet's weights (True) or train from scratch. Defaults to True.
        calibration_samples: Training samples batch norm is re-estimated on per sub-network. Defaults to 256.
        learning_rate: The supernet's peak learning rate. Defaults to the largest of the space's
            `learning_rate` choices (it ranked better than the default 1e-3: `tfnas.oneshot.train.supernet_learning_rate`).
        frame: The strides and pooling the supernet holds fixed (`tfnas.oneshot.frame`), e.g.
            `{"stem_strides": 2, "pooling": "max", "strides": 1}`. "auto" (default): the
            highest resolution at which half of the random sub-networks meet the constraints.
            None: strides and pooling stay elastic too (ranks worse: see `tfnas.oneshot.frame`).
        probe: Training hps the supernet cannot rank (they are not architecture): the first trials
            train the best-ranked sub-network with each of their choices, and every later trial
            takes the values of the best trial so far. Defaults to ("learning_rate",) with
            `inherit=False` and to () with `inherit`: a fine-tune from the supernet takes the
            supernet's learning rate (its nearest choice in the space), the rate the probe chose
            in 24 of 25 MNIST-1D searches (within 0.2 points of the best in the 25th;
            benchmarks/bench_strategies.py), so the probe's extra trials are saved. Hps neither
            probed nor inherited keep the space's defaults.
        trial_epochs: Epochs each trial trains (with `inherit`: fine-tunes) for. Defaults to the search's
            `epochs`. The budget left after the supernet is spent in trials of this length, so
            `trial_epochs=epochs // 3` trains three times as many of the ranked sub-networks, each
            less: on MNIST-1D (seed 0) 78 fine-tunes of 3 epochs gave a front of hypervolume 0.781
            against 0.848 from 26 of 9 (benchmarks/bench_strategies.py --oneshot-trial-epochs).
        tolerance: Which ranked sub-networks become trials first, for a `Pareto` reward: those no cheaper one
            beats by more than this much inherited accuracy (the front, widened), most accurate first and each
            next one the farthest from those taken, so the trials spread over it (`tfnas.oneshot.spread`);
            then the rest by the reward. "auto" (default): the sampling error of the best inherited accuracy on the
            validation split, sqrt(p (1 - p) / n) (0, the plain front, for an objective that is not an
            accuracy). None: the reward's order alone (the first front by crowding distance, then the next).
            A long-trained supernet's scores saturate: on digits the plain first front of a 22-epoch
            supernet held only sub-networks under 3.5k MACs, and the model chosen among their fine-tunes
            tested 1.7 and 3.4 points below a 6-epoch supernet's (seeds 0, 1).
        **kwargs: The arguments of `MultiObjectiveOracle`; `max_trials` is the
            whole budget (in trials of the search's `epochs`), supernet included.
    """

    max_trials: int  # keras-tuner's; after `adopt`, the trials left after the supernet

    def __init__(
        self,
        supernet_epochs: int | None = None,
        num_random: int = 2,
        distill: bool = False,
        num_ranked: int = 1000,
        population_size: int = 100,
        inherit: bool = True,
        calibration_samples: int = 256,
        learning_rate: float | None = None,
        frame: Mapping[str, Any] | str | None = "auto",
        probe: tuple[str, ...] | None = None,
        trial_epochs: int | None = None,
        tolerance: float | str | None = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if probe is None:
            probe = () if inherit else ("learning_rate",)
        check_arguments(
            supernet_epochs=supernet_epochs, num_random=num_random, num_ranked=num_ranked,
            population_size=population_size, calibration_samples=calibration_samples, trial_epochs=trial_epochs,
            learning_rate=learning_rate, frame=frame, tolerance=tolerance, probe=probe,
        )
        self.supernet_epochs = supernet_epochs
        self.trial_epochs = trial_epochs
        self.num_random = num_random
        self.distill = bool(distill)
        self.num_ranked = num_ranked
        self.population_size = population_size
        self.inherit = bool(inherit)
        self.calibration_samples = calibration_samples
        self.learning_rate = learning_rate
        self.frame = frame
        self.tolerance = tolerance
        self.validation_samples = 0
        self.probe = tuple(probe)
        self.budget_trials = self.max_trials  # the whole budget; `max_trials` becomes what is left after the supernet
        self.search_epochs: int | None = None
        self.queue: list[dict[str, Any]] = []  # ranked sub-networks still to propose, best first
        self.probes: list[dict[str, Any]] = []  # the best-ranked sub-network with each `probe` value, proposed first
        self.report: dict[str, Any] = {}

    def adopt(self, *, epochs: int | None = None, **kwargs: Any) -> None:
        """The base's `adopt`; the search's `epochs` sizes the supernet's share of the budget and the trials' length."""
        if epochs is not None:
            self.search_epochs = int(epochs)
            self.supernet_epochs = self.supernet_epochs or self._default_supernet_epochs()
            self.trial_epochs = self.trial_epochs or int(epochs)
            # The epochs left after the supernet, in trials of `trial_epochs`.
            self.max_trials = (self.budget_trials * self.search_epochs - self.supernet_epochs_spent()) // self.trial_epochs
            if self.max_trials < 1:
                raise TfnasInputError(
                    f"oracle {self.strategy_name!r}: the supernet ({self._cost_text()}) costs {self.supernet_trials()} "
                    f"trials of {epochs} epochs, leaving no trial of {self.trial_epochs} epochs in "
                    f"max_trials={self.budget_trials}. Raise max_trials, or lower supernet_epochs or trial_epochs."
                )
        super().adopt(**kwargs)

    strategy_name = "oneshot"

    def _default_supernet_epochs(self) -> int:
        """Half the budget's epochs, in supernet epochs (each trains 2 + `num_random` sub-networks), and at
        least one full training (the search's `epochs`)."""
        assert self.search_epochs is not None  # `adopt` sets it just before
        half = self.budget_trials * self.search_epochs // (2 * (2 + self.num_random))
        return max(self.search_epochs, half)

    def supernet_epochs_spent(self) -> int:
        """Single-model epochs the supernet costs: its epochs x sub-networks trained per step."""
        assert self.supernet_epochs is not None  # `adopt(epochs=...)` sets it before the search reads it
        return self.supernet_epochs * (2 + self.num_random)

    def supernet_trials(self) -> int:
        """Trials of the search's `epochs` the supernet costs (`supernet_epochs_spent`, rounded up)."""
        assert self.search_epochs is not None  # `adopt(epochs=...)` sets it before the search reads it
        return math.ceil(self.supernet_epochs_spent() / self.search_epochs)

    def _cost_text(self) -> str:
        return f"{self.supernet_epochs} epochs x {2 + self.num_random} sub-networks a step"

    # ----- before the first trial -----------------------------------------------
    def prepare(self, hypermodel: Any, x: Any, y: Any, *, validation_data: Any, training: Any, directory: str) -> Any:
        """Trains the supernet and ranks sub-networks (or reads both back); returns the hypermodel trials build from."""
        check_inputs(self.strategy_name, hypermodel, x, validation_data)
        x_val, y_val = validation_data
        self.validation_samples = len(y_val)
        folder = os.path.join(directory, "oneshot")
        # A resumed search keeps the frame it chose.
        frame = fixed_frame(hypermodel, self.report.get("frame") or self.frame, self.constraints, self.seed or 0)
        supernet = framed_supernet(hypermodel, frame)
        self._check_supernet(supernet)
        assert self.supernet_epochs is not None  # `adopt(epochs=...)` sets it before the search prepares
        start = time.perf_counter()
        history = train_supernet(
            supernet, x, y, epochs=self.supernet_epochs, training=training, learning_rate=self.learning_rate,
            validation_data=validation_data,
            num_random=self.num_random, distill=self.distill, seed=self.seed or 0,
            directory=os.path.join(folder, SUPERNET_FOLDER), calibration_samples=self.calibration_samples,
        )
        x_calibration = x[: self.calibration_samples]
        ranked = self._rank(supernet, (x, y), x_calibration, x_val, y_val, folder, training)
        if not self.queue and not self.report:
            self.queue = self._order(ranked)
            self.probes = self._probes()
        self.report = {
            **self._prepared_report(supernet, history, ranked, frame),
            "prepare_seconds": time.perf_counter() - start, **self._extra_report(),
        }
        self.save()
        return InheritedSpace(supernet, x_calibration) if self.inherit else hypermodel

    def _prepared_report(
        self, supernet: BaseSupernet, history: SupernetHistory, ranked: list[Ranked], frame: dict[str, list]
    ) -> dict[str, Any]:
        """What `prepare` did, for `report` (and `SearchResult.oneshot`): the supernet's cost and the ranking's."""
        return {
            "supernet_epochs": history.epochs, "supernet_subnet_epochs": history.subnet_epochs,
            "charged_epochs": self.supernet_epochs_spent(),
            "supernet_trials": self.supernet_trials(), "budget_trials": self.budget_trials,
            "supernet_seconds": history.seconds, "ranked": len(ranked),
            "ranked_feasible": sum(1 for r in ranked if r.feasible),
            "ranking_seconds": float(sum(r.seconds for r in ranked)), "inherit": self.inherit, "frame": frame,
            "learning_rate": self.learning_rate or supernet_learning_rate(supernet.space),
        }

    def _rank(
        self, supernet: Any, train: tuple, x_calibration: Any, x_val: Any, y_val: Any, folder: str, training: Any
    ) -> list:
        """Ranks `num_ranked` sub-networks, going on from `ranked.json` (`tfnas.oracles.oneshot.ranking`).

        `train` (the training arrays) and `training` (the recipe) are for
        strategies that train the supernet further (`DNASOracle`); evolution only scores.
        """
        return rank_by_evolution(
            supernet, x_calibration, x_val, y_val, folder, count=self.num_ranked, rank_fn=self.reward.rank,
            objective=self.objective.name, constraints=self.constraints, population_size=self.population_size,
            seed=self.seed or 0,
        )

    def attach(self, hypermodel: Any, x: Any, *, directory: str) -> Any:
        """On a distributed search's worker: the hypermodel its trials build from, once the chief has prepared.

        The chief trains the supernet and ranks sub-networks (`prepare`) before
        it serves any trial; a worker, whose first trial arrives only after
        that, loads the chief's frame (from `oracle.json`) and supernet weights
        (from `oneshot/supernet/`) from the shared run directory, so its trials
        fine-tune from the same inherited weights (with `inherit=False`, the
        space itself).
        """
        if not self.inherit:
            return hypermodel
        return attached_space(hypermodel, x, directory, self.calibration_samples)

    def _check_supernet(self, supernet: Any) -> None:
        """Refuses, before any training, a supernet this strategy cannot search (any will do for evolution)."""

    def _extra_report(self) -> dict[str, Any]:
        """What a subclass adds to `report` (and `SearchResult.oneshot`)."""
        return {}

    def _order(self, ranked: list) -> list[dict[str, Any]]:
        """The feasible sub-networks' values in the order they become trials (`tfnas.oracles.oneshot.ordering`)."""
        return order_trials(ranked, self.reward, self.objective.name, self._tolerance(ranked))

    def _tolerance(self, ranked: list) -> float | None:
        """`tolerance`; for "auto", the sampling error of the best inherited accuracy on the validation set
        (0 for an objective that is not an accuracy)."""
        return tolerance_of(self.tolerance, self.objective, ranked, self.validation_samples)

    # ----- the strategy ---------------------------------------------------------
    def propose(self, trial_id: str) -> dict[str, Any] | None:
        """The next probe of the training hps, else the best-ranked sub-network not yet tried, trained with the
        training hps of the best trial so far; None when none is left."""
        while self.probes:
            values = self._timed(self.complete_values(self.probes.pop(0)))
            if self.is_new(values):
                return values
        while self.queue:
            values = self._timed(self.complete_values({**self.queue.pop(0), **self._best_training_values()}))
            if self.is_new(values):
                return values
        return None

    def _timed(self, values: dict[str, Any]) -> dict[str, Any]:
        """`values`, with keras-tuner's `tuner/epochs` when trials train for other than the search's `epochs`."""
        if self.trial_epochs is None or self.trial_epochs == self.search_epochs:
            return values
        return {**values, "tuner/epochs": self.trial_epochs, "tuner/initial_epoch": 0}

    def _probes(self) -> list[dict[str, Any]]:
        """The best-ranked sub-network once with every choice of each `probe` hp (the others at their defaults)."""
        return probes(self.queue[0], self.probe, self._choices) if self.queue else []

    def _choices(self, name: str) -> tuple:
        """The choices of the space's hp `name` (none if it is absent or not a `Choice`)."""
        hp = next((hp for hp in self.hyperparameters.space if hp.name == name), None)
        return tuple(getattr(hp, "values", ()))

    def _best_training_values(self) -> dict[str, Any]:
        """The `probe` hps of the completed trial with the best objective (none yet: the defaults); with
        `inherit`, an unprobed learning rate is the space's choice nearest the supernet's."""
        values = {}
        rate, choices = self.report.get("learning_rate"), self._choices("learning_rate")
        if self.inherit and "learning_rate" not in self.probe and rate and choices:
            values["learning_rate"] = nearest_choice(rate, choices)
        done = [t for t in self.completed_trials() if self.objective.name in t.metrics.metrics]
        if not done:
            return values
        sign = 1.0 if self.objective.direction == "max" else -1.0
        best = max(done, key=lambda t: sign * t.metrics.get_last_value(self.objective.name))
        return {**values, **{name: best.hyperparameters.values[name] for name in self.probe
                             if name in best.hyperparameters.values}}

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["tfnas"]["oneshot"] = {**self.report, "queue": self.queue, "probes": self.probes}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        saved = dict(state.get("tfnas", {}).get("oneshot", {}))
        self.queue = list(saved.pop("queue", []))
        self.probes = list(saved.pop("probes", []))
        self.report = saved

