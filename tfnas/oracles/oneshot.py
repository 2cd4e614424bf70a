"""One-shot search (Once-for-All style): train one supernet, rank thousands of sub-networks, train the best as trials.

Before the first trial (`prepare`, called by `EdgeTuner.search`), the oracle
trains a weight-sharing supernet of the space (`tfnas.oneshot`) on the
search's training data with the search's recipe, then runs regularized
evolution over its sub-networks, each extracted with the shared weights,
priced exactly by the cost model and, within the constraints, scored on the
validation data. The ranked sub-networks are ordered by the search's reward
(for the Pareto reward: the front widened by the validation score's sampling
error, most accurate first and each next one the farthest from those taken,
then the rest front by front; `tfnas.oneshot.spread`), and the head of that order becomes
ordinary keras-tuner trials, which fine-tune from the inherited weights (or, with
`inherit=False`, train from scratch). The training hps (`learning_rate`) are
not architecture, so the supernet cannot rank them: trials that fine-tune
from the supernet take its learning rate; trials from scratch first train
the best-ranked sub-network with each learning rate, and the later ones use
the best trial's. So `SearchResult`, resume, `compress`,
`export` and `verify` work unchanged.

Budget: training the supernet costs `supernet_epochs` x (sub-networks per
step) single-model epochs, counted against `max_trials` x the search's
`epochs`; what is left buys trials of `trial_epochs` each (the search's
`epochs` unless set). The supernet checkpoint
and the ranked sub-networks are saved under the project's `oneshot/`, so a
killed search resumes without training or ranking again.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from tfnas import atomic
from tfnas.errors import TfnasInputError
from tfnas.oracles.base import MultiObjectiveOracle

RANKED_FILENAME = "ranked.json"


def read_records(path: str, from_dict: Any) -> list:
    """The records an interrupted run saved at `path` (a JSON list, each row read by `from_dict`); [] if none."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [from_dict(row) for row in json.load(f)]


class OneShotOracle(MultiObjectiveOracle):
    """Trains a supernet once, ranks sub-networks by inherited-weight accuracy, and trains the best as trials.

    Works with `DSCNN1DSpace`, `MobileNetSpace` and `DSCNN2DSpace` (the spaces a supernet covers:
    `tfnas.oneshot.family`), each alone rather than inside a `FamilySpace`.

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
        for name, value, low in (("supernet_epochs", supernet_epochs, 1), ("num_random", num_random, 0),
                                 ("num_ranked", num_ranked, 1), ("population_size", population_size, 2),
                                 ("calibration_samples", calibration_samples, 1), ("trial_epochs", trial_epochs, 1)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
                raise TfnasInputError(f"{name} must be an integer >= {low}. Received: {name}={value!r}")
        self.supernet_epochs = supernet_epochs
        self.trial_epochs = trial_epochs
        self.num_random = num_random
        self.distill = bool(distill)
        self.num_ranked = num_ranked
        self.population_size = population_size
        self.inherit = bool(inherit)
        self.calibration_samples = calibration_samples
        if learning_rate is not None and not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
            raise TfnasInputError(f"learning_rate must be a positive number. Received: learning_rate={learning_rate!r}")
        self.learning_rate = learning_rate
        if not (frame is None or frame == "auto" or isinstance(frame, Mapping)):
            raise TfnasInputError(f"frame must be 'auto', None or a dict of strides and pooling. Received: frame={frame!r}")
        self.frame = frame
        if not (tolerance is None or tolerance == "auto" or (
                isinstance(tolerance, (int, float)) and not isinstance(tolerance, bool) and tolerance >= 0)):
            raise TfnasInputError(f"tolerance must be 'auto', None or a number >= 0. Received: tolerance={tolerance!r}")
        self.tolerance = tolerance
        self.validation_samples = 0
        from tfnas.oneshot.sandwich import TRAINING_HPS

        if probe is None:
            probe = () if inherit else ("learning_rate",)
        if isinstance(probe, str) or not set(probe) <= set(TRAINING_HPS):
            raise TfnasInputError(f"probe takes training hps among {TRAINING_HPS}. Received: probe={probe!r}")
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
        half = self.budget_trials * self.search_epochs // (2 * (2 + self.num_random))
        return max(self.search_epochs, half)

    def supernet_epochs_spent(self) -> int:
        """Single-model epochs the supernet costs: its epochs x sub-networks trained per step."""
        return self.supernet_epochs * (2 + self.num_random)

    def supernet_trials(self) -> int:
        """Trials of the search's `epochs` the supernet costs (`supernet_epochs_spent`, rounded up)."""
        return math.ceil(self.supernet_epochs_spent() / self.search_epochs)

    def _cost_text(self) -> str:
        return f"{self.supernet_epochs} epochs x {2 + self.num_random} sub-networks a step"

    # ----- before the first trial -----------------------------------------------
    def prepare(self, hypermodel: Any, x: Any, y: Any, *, validation_data: Any, training: Any, directory: str) -> Any:
        """Trains the supernet and ranks sub-networks (or reads both back); returns the hypermodel trials build from."""
        from tfnas.oneshot import supernet_for
        from tfnas.oneshot import train_supernet
        from tfnas.oneshot.extract import InheritedSpace
        from tfnas.oneshot.family import COVERED
        from tfnas.oneshot.frame import choose_frame
        from tfnas.oneshot.frame import narrow
        from tfnas.oneshot.train import supernet_learning_rate
        from tfnas.spaces import DSCNN1DSpace
        from tfnas.spaces import MobileNetSpace

        if not isinstance(hypermodel, (DSCNN1DSpace, MobileNetSpace)):
            raise TfnasInputError(
                f"oracle {self.strategy_name!r} needs a space its supernet covers: {COVERED}. "
                f"Received: {type(hypermodel).__name__}."
            )
        if not isinstance(x, np.ndarray) or not isinstance(validation_data, tuple):
            raise TfnasInputError(f"oracle {self.strategy_name!r} trains its supernet on arrays: pass x, y as numpy arrays, not a tf.data.Dataset.")
        x_val, y_val = validation_data
        self.validation_samples = len(y_val)
        folder = os.path.join(directory, "oneshot")
        frame = self.report.get("frame") or self.frame  # a resumed search keeps the frame it chose
        if frame == "auto":
            frame = choose_frame(hypermodel, self.constraints, seed=self.seed or 0)
        frame = {key: list(value) if isinstance(value, (list, tuple)) else [value] for key, value in (frame or {}).items()}
        supernet = supernet_for(narrow(hypermodel, frame))
        self._check_supernet(supernet)
        start = time.perf_counter()
        history = train_supernet(
            supernet, x, y, epochs=self.supernet_epochs, training=training, learning_rate=self.learning_rate,
            validation_data=validation_data,
            num_random=self.num_random, distill=self.distill, seed=self.seed or 0,
            directory=os.path.join(folder, "supernet"), calibration_samples=self.calibration_samples,
        )
        x_calibration = x[: self.calibration_samples]
        ranked = self._rank(supernet, (x, y), x_calibration, x_val, y_val, folder, training)
        if not self.queue and not self.report:
            self.queue = self._order(ranked)
            self.probes = self._probes()
        feasible = [r for r in ranked if r.feasible]
        self.report = {
            "supernet_epochs": history.epochs, "supernet_subnet_epochs": history.subnet_epochs,
            "charged_epochs": self.supernet_epochs_spent(),
            "supernet_trials": self.supernet_trials(), "budget_trials": self.budget_trials,
            "supernet_seconds": history.seconds, "ranked": len(ranked), "ranked_feasible": len(feasible),
            "ranking_seconds": float(sum(r.seconds for r in ranked)),
            "prepare_seconds": time.perf_counter() - start, "inherit": self.inherit, "frame": frame,
            "learning_rate": self.learning_rate or supernet_learning_rate(supernet.space),
            **self._extra_report(),
        }
        self.save()
        return InheritedSpace(supernet, x_calibration) if self.inherit else hypermodel

    def _rank(
        self, supernet: Any, train: tuple, x_calibration: Any, x_val: Any, y_val: Any, folder: str, training: Any
    ) -> list:
        """Ranks `num_ranked` sub-networks, going on from `ranked.json` (rewritten every 50 sub-networks).

        `train` (the training arrays) and `training` (the recipe) are for
        strategies that train the supernet further (`DNASOracle`); evolution only scores.
        """
        from tfnas.oneshot.rank import Ranked
        from tfnas.oneshot.rank import evolve

        path = os.path.join(folder, RANKED_FILENAME)
        done = read_records(path, Ranked.from_dict)
        progress = list(done)

        def keep(result: Ranked) -> None:
            progress.append(result)
            if len(progress) % 50 == 0:
                atomic.write_json(path, [r.to_dict() for r in progress])

        ranked = evolve(
            supernet, x_calibration, x_val, y_val, count=self.num_ranked, rank_fn=self.reward.rank,
            objective=self.objective.name, constraints=self.constraints, population_size=self.population_size,
            seed=self.seed or 0, done=done, on_ranked=keep,
        )
        if len(ranked) > len(done):
            atomic.write_json(path, [r.to_dict() for r in ranked])
        return ranked

    def attach(self, hypermodel: Any, x: Any, *, directory: str) -> Any:
        """On a distributed search's worker: the hypermodel its trials build from, once the chief has prepared.

        The chief trains the supernet and ranks sub-networks (`prepare`) before
        it serves any trial; a worker, whose first trial arrives only after
        that, loads the chief's frame (from `oracle.json`) and supernet weights
        (from `oneshot/supernet/`) from the shared run directory, so its trials
        fine-tune from the same inherited weights (with `inherit=False`, the
        space itself).
        """
        from tfnas.oneshot import supernet_for
        from tfnas.oneshot.checkpoint import load_weights
        from tfnas.oneshot.extract import InheritedSpace
        from tfnas.oneshot.frame import narrow

        if not self.inherit:
            return hypermodel
        with open(os.path.join(directory, "oracle.json")) as f:
            frame = json.load(f).get("tfnas", {}).get("oneshot", {}).get("frame") or {}
        supernet = supernet_for(narrow(hypermodel, frame))
        load_weights(os.path.join(directory, "oneshot", "supernet"), supernet)
        return InheritedSpace(supernet, x[: self.calibration_samples])

    def _check_supernet(self, supernet: Any) -> None:
        """Refuses, before any training, a supernet this strategy cannot search (any will do for evolution)."""

    def _extra_report(self) -> dict[str, Any]:
        """What a subclass adds to `report` (and `SearchResult.oneshot`)."""
        return {}

    def _order(self, ranked: list) -> list[dict[str, Any]]:
        """The feasible sub-networks' values: for a `Pareto` reward with a `tolerance`, first the front widened by
        it, spread (`tfnas.oneshot.spread`); then the rest best first by the reward (for `Pareto`: the front first)."""
        from tfnas.oneshot.spread import spread
        from tfnas.rewards import Pareto

        feasible = [r for r in ranked if r.feasible]
        points = [r.metrics(self.objective.name) for r in feasible]
        keys = self.reward.rank(points)
        order = sorted(range(len(feasible)), key=lambda i: keys[i], reverse=True)
        tolerance = self._tolerance(feasible)
        if isinstance(self.reward, Pareto) and tolerance is not None and feasible:
            objectives = np.array([self.reward.objectives(p) for p in points], dtype=float)
            head = spread(-objectives[:, 0], objectives[:, 1:], tolerance)
            taken = set(head)
            order = head + [i for i in order if i not in taken]
        return [dict(feasible[i].values) for i in order]

    def _tolerance(self, feasible: list) -> float | None:
        """`tolerance`; for "auto", the sampling error of the best inherited accuracy on the validation set
        (0 for an objective that is not an accuracy)."""
        from tfnas.oneshot.spread import binomial_error

        if self.tolerance != "auto":
            return self.tolerance
        if self.objective.direction != "max" or "acc" not in self.objective.name or not feasible:
            return 0.0
        return binomial_error(max(r.score for r in feasible), self.validation_samples)

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
        if not self.queue:
            return []
        top = self.queue[0]
        probes = []
        for name in self.probe:
            for value in self._choices(name):
                if {**top, name: value} not in probes:
                    probes.append({**top, name: value})
        return probes

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
            values["learning_rate"] = min(choices, key=lambda v: abs(math.log(v / rate)))
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

