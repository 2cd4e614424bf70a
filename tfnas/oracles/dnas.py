"""Differentiable search (DARTS / FBNet style) over the one-shot supernet, then the derived architectures as trials.

Everything before and after the search is the one-shot oracle's
(`tfnas.oracles.oneshot`): the supernet of the space is trained in a fixed
frame with the sandwich rule and the search's recipe, and the chosen
sub-networks become ordinary keras-tuner trials (fine-tuned from the
inherited weights, or from scratch). In between, instead of evolution, a
sweep of `tfnas.oneshot.dnas.differentiable_search` runs, one per penalty
weight of log(expected MACs / `max_macs`), each from the warmed-up weights:
each gives one derived architecture (every hp's most probable choice) on
its own point of the accuracy/MACs trade-off, and its final choice
probabilities, from which `samples` more sub-networks are drawn. All of them
are extracted, priced exactly and, within the constraints, scored with the
warmed-up weights; the derived ones are proposed first (ordered by the
reward), then the drawn ones.

Budget: the warm-up costs what the one-shot supernet does; each penalty's
search costs `dnas_epochs` x 2 single-model epochs (a weight step on a
training batch and an architecture step on a validation batch of the same
size per step), all counted against `max_trials`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfnas import atomic
from tfnas.errors import TfnasInputError
from tfnas.oneshot.dnas import DnasResult
from tfnas.oneshot.dnas import arch_choices
from tfnas.oneshot.dnas import sweep
from tfnas.oneshot.masked import compilable
from tfnas.oneshot.rank import Ranked
from tfnas.oneshot.rank import score_subnet
from tfnas.oneshot.train import supernet_learning_rate
from tfnas.oracles.oneshot import RANKED_FILENAME
from tfnas.oracles.oneshot import OneShotOracle
from tfnas.oracles.oneshot import read_records
from tfnas.spaces import DSCNN1DSpace
from tfnas.training import Training

DNAS_FILENAME = "dnas.json"


class DNASOracle(OneShotOracle):
    """Warms up a supernet, searches it by gradient for each MAC penalty, and trains the derived architectures.

    Works with `DSCNN1DSpace` in a fixed frame (the default `frame="auto"` fixes it).

    Example:

    ```python
    result = tfnas.search(x, y, space="dscnn1d", oracle={"name": "dnas", "penalties": [0.05, 0.1, 0.2]},
                          constraints={"max_macs": 20_000}, max_trials=20, epochs=30)
    ```

    Args:
        penalties: Weights of log(expected MACs / max_macs) in the architecture
            loss, one search each. Defaults to (0.02, 0.05, 0.1, 0.2) (on
            MNIST-1D, 0.1 derived about 26k MACs, 0.3 about 2k).
        dnas_epochs: Epochs of each search. Defaults to a third of `supernet_epochs` (at least 1).
        samples: Sub-networks drawn from each search's final choice probabilities besides the derived one.
            Defaults to 50.
        arch_learning_rate: Adam learning rate of the architecture logits. Defaults to 3e-3.
        **kwargs: The arguments of `OneShotOracle` (`supernet_epochs` is the warm-up).
    """

    strategy_name = "dnas"

    def __init__(
        self,
        penalties: Sequence[float] = (0.02, 0.05, 0.1, 0.2),
        dnas_epochs: int | None = None,
        samples: int = 50,
        arch_learning_rate: float = 3e-3,
        **kwargs: Any,
    ) -> None:
        if isinstance(penalties, (str, bytes)) or not isinstance(penalties, Sequence) or not penalties or any(
            isinstance(p, bool) or not isinstance(p, (int, float)) or p < 0 for p in penalties
        ):
            raise TfnasInputError(f"penalties must be a non-empty list of numbers >= 0. Received: penalties={penalties!r}")
        for name, value, low in (("dnas_epochs", dnas_epochs, 1), ("samples", samples, 0)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
                raise TfnasInputError(f"{name} must be an integer >= {low}. Received: {name}={value!r}")
        if isinstance(arch_learning_rate, bool) or not isinstance(arch_learning_rate, (int, float)) or arch_learning_rate <= 0:
            raise TfnasInputError(f"arch_learning_rate must be a positive number. Received: {arch_learning_rate!r}")
        self.penalties = tuple(float(p) for p in penalties)
        self.dnas_epochs = dnas_epochs
        self.samples = samples
        self.arch_learning_rate = float(arch_learning_rate)
        self.derived: list[dict[str, Any]] = []
        self.sweep_report: list[dict[str, Any]] = []
        self.derived_feasible = 0
        kwargs.setdefault("num_ranked", 1)  # (unused: the candidates are the sweep's)
        super().__init__(**kwargs)

    def _default_supernet_epochs(self) -> int:
        """One full training (the search's `epochs`) of warm-up: the penalty sweep takes its own share."""
        assert self.search_epochs is not None  # `adopt` sets it just before
        return self.search_epochs

    def search_epochs_each(self) -> int:
        """Epochs of each penalty's search."""
        return self.dnas_epochs or max(1, (self.supernet_epochs or 1) // 3)

    def supernet_epochs_spent(self) -> int:
        """The warm-up's single-model epochs plus 2 per epoch of each penalty's search."""
        return super().supernet_epochs_spent() + 2 * len(self.penalties) * self.search_epochs_each()

    def _cost_text(self) -> str:
        return (f"{super()._cost_text()}, then {len(self.penalties)} searches of {self.search_epochs_each()} epochs "
                f"x 2 steps")

    def _check_supernet(self, supernet: Any) -> None:
        if not isinstance(supernet.space, DSCNN1DSpace):
            raise TfnasInputError(
                "oracle 'dnas' needs the DS-CNN 1-D supernet (space='dscnn1d'): its compiled, masked training "
                f"(tfnas.oneshot.masked.compilable) covers no other space. Received: {type(supernet.space).__name__}; "
                "use oracle='oneshot' for it."
            )
        if not compilable(supernet):
            raise TfnasInputError(
                "oracle 'dnas' needs the supernet's frame fixed (one stem stride, pooling, block stride and head, and "
                "unclipped padding: tfnas.oneshot.masked.compilable): keep frame='auto' or pass a frame dict such as "
                "{'stem_strides': 2, 'pooling': 'max', 'strides': 1}."
            )

    def _rank(
        self, supernet: Any, train: tuple, x_calibration: Any, x_val: Any, y_val: Any, folder: str, training: Any
    ) -> list:
        """The sweep (resumed from `dnas.json`), then the derived and drawn sub-networks priced and scored."""
        limit = self.constraints.limits().get("macs") if self.constraints else None
        path = os.path.join(folder, DNAS_FILENAME)
        done = read_records(path, DnasResult.from_dict)
        progress = list(done)

        def keep(result: DnasResult) -> None:
            progress.append(result)
            atomic.write_json(path, [r.to_dict() for r in progress])

        recipe = Training.from_any(training)
        x, y = train
        results = sweep(
            supernet, x, y, x_val, y_val, penalties=self.penalties, done=done, on_result=keep,
            macs_scale=float(limit or 50_000), epochs=self.search_epochs_each(), batch_size=recipe.batch_size or 32,
            learning_rate=self.learning_rate or supernet_learning_rate(supernet.space),
            arch_learning_rate=self.arch_learning_rate, seed=self.seed or 0,
        )
        options = arch_choices(supernet)
        candidates, derived = [], []
        for i, result in enumerate(results):
            derived.append(result.values)
            rng = np.random.default_rng([self.seed or 0, i])
            candidates += [result.sample(options, rng) for _ in range(self.samples)]
        ranked_path = os.path.join(folder, RANKED_FILENAME)
        ranked = read_records(ranked_path, Ranked.from_dict)
        if not ranked:
            ranked, seen = [], set()
            for values in [*derived, *candidates]:
                key = json.dumps(supernet.resolve(values).values, sort_keys=True, default=str)
                if key not in seen:
                    seen.add(key)
                    ranked.append(score_subnet(supernet, values, x_calibration, x_val, y_val, self.constraints))
            atomic.write_json(ranked_path, [r.to_dict() for r in ranked])
        self.derived = [dict(supernet.resolve(values).values) for values in derived]
        self.derived_feasible = sum(1 for r in ranked if r.feasible and r.values in self.derived)
        self.sweep_report = [{"penalty": r.penalty, "expected_macs": r.expected_macs, "seconds": r.seconds,
                              "values": r.values} for r in results]
        return ranked

    def _order(self, ranked: list) -> list[dict[str, Any]]:
        """The derived sub-networks within the constraints first (by the reward), then the drawn ones (by the reward)."""
        order = super()._order(ranked)
        first = [values for values in order if values in self.derived]
        return first + [values for values in order if values not in self.derived]

    def _extra_report(self) -> dict[str, Any]:
        return {"dnas": self.sweep_report, "dnas_epochs": self.search_epochs_each(),
                "derived_feasible": self.derived_feasible}
