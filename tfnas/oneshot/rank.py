"""Ranking sub-networks without training them: inherited-weight scores, exact costs, an evolutionary search.

Each sub-network is extracted from the trained supernet (`extract`, batch
norm re-estimated on a few hundred training samples), priced by the cost
model on that very model, and, when it meets the constraints, scored on the
validation data with the shared weights. `evolve` explores the space with
regularized (aging) evolution over those scores, as Once-for-All searches its
trained supernet: random sub-networks first, then tournaments among the most
recent feasible ones, whose winner is mutated in one architecture hp. The
records are plain data (`Ranked.to_dict`), so a search can save them and
resume without ranking again.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfnas.constraints import Constraints
from tfnas.cost import profile
from tfnas.oneshot.base_supernet import BaseSupernet
from tfnas.oneshot.extract import extract
from tfnas.oneshot.inputs import predict
from tfnas.oneshot.sandwich import TRAINING_HPS
from tfnas.oneshot.sandwich import random_subnet
from tfnas.oneshot.subnet import choices
from tfnas.task import Task

# Mutations in a row that gave sub-networks already ranked before a random one is drawn instead: a parent that wins
# every tournament has only so many neighbours, and a small space runs out of them.
RANDOM_AFTER = 20

RankFn = Callable[[Sequence[Mapping[str, float]]], Sequence[Any]]


@dataclasses.dataclass(frozen=True)
class Ranked:
    """One sub-network ranked: its active hp values, its costs and (when feasible) its inherited-weight score.

    Attributes:
        values: The active hp values (the space's names).
        costs: The cost model's figures of the extracted model (`CostReport.to_dict()`).
        score: The validation metric with the supernet's weights; None when over a constraint (not scored).
        seconds: Wall time of extraction, pricing and scoring.
    """

    values: dict[str, Any]
    costs: dict[str, float]
    score: float | None
    seconds: float

    @property
    def feasible(self) -> bool:
        return self.score is not None

    def metrics(self, objective: str) -> dict[str, float]:
        """The metrics a reward ranks: the score under the search's objective name, and the costs."""
        return {objective: float(self.score if self.score is not None else np.nan), **self.costs}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ranked:
        return cls(dict(data["values"]), dict(data["costs"]), data["score"], float(data["seconds"]))


def score_subnet(
    supernet: BaseSupernet, values: Mapping[str, Any], x_calibration: Any, x_val: Any, y_val: Any,
    constraints: Constraints | None = None,
) -> Ranked:
    """Extracts, prices and (when within `constraints`) scores one sub-network with the shared weights."""
    start = time.perf_counter()
    model = extract(supernet, values, x_calibration=x_calibration)
    costs = profile(model).to_dict()
    score = None
    if constraints is None or constraints.is_feasible(costs):
        outputs = predict(lambda batch: model(batch, training=False), x_val)
        score = Task(supernet.space.task).score(outputs, np.asarray(y_val))
    active = supernet.resolve(values).values
    return Ranked(dict(active), {k: float(v) for k, v in costs.items()}, score, time.perf_counter() - start)


def evolve(
    supernet: BaseSupernet,
    x_calibration: Any,
    x_val: Any,
    y_val: Any,
    *,
    count: int,
    rank_fn: RankFn,
    objective: str,
    constraints: Constraints | None = None,
    population_size: int = 100,
    sample_size: int = 10,
    seed: int = 0,
    done: Sequence[Ranked] = (),
    on_ranked: Callable[[Ranked], None] | None = None,
) -> list[Ranked]:
    """Regularized evolution over the supernet's sub-networks, scored with inherited weights.

    Args:
        supernet: The trained supernet.
        x_calibration: Training samples batch norm is re-estimated on for each sub-network.
        x_val: Validation inputs the sub-networks are scored on.
        y_val: Validation labels.
        count: Distinct sub-networks to rank in all (`done` included).
        rank_fn: Sort keys of a list of metrics dicts, higher is better (a reward's `rank`).
        objective: The name the score takes in the metrics `rank_fn` sees.
        constraints: Hard limits: a sub-network over one is priced but not scored, and never a parent.
        population_size: Recent feasible sub-networks that can be parents;
            until that many are ranked, and after `RANDOM_AFTER` mutations in a row gave known
            sub-networks, sub-networks are drawn at random. Defaults to 100.
        sample_size: Tournament size. Defaults to 10.
        seed: Seeds the draws and mutations (with the number ranked so far, so a run resumed from `done`
            ranks what the uninterrupted run would have).
        done: Sub-networks ranked by an earlier, interrupted call: kept, not ranked again.
        on_ranked: Called with each new `Ranked` (e.g. to save progress).

    Returns:
        Every sub-network ranked, `done` first, in the order ranked (fewer than `count` only when
        1000 draws in a row give sub-networks already ranked: the space is exhausted).
    """
    ranked = list(done)
    seen = {_key(r.values) for r in ranked}
    options = {name: values for name, values in choices(supernet.space).items() if name not in TRAINING_HPS}
    attempt = 0  # draws for the current slot that gave a known sub-network; the slot's draws depend on it only
    while len(ranked) < count and attempt < 1000:
        rng = np.random.default_rng([seed, len(ranked), attempt])
        population = [r for r in ranked if r.feasible][-population_size:]
        if len(population) < population_size or attempt >= RANDOM_AFTER:
            values = random_subnet(supernet.space, rng)
        else:
            picks = rng.choice(len(population), size=min(sample_size, len(population)), replace=False)
            keys = rank_fn([population[i].metrics(objective) for i in picks])
            parent = population[picks[max(range(len(picks)), key=lambda i: keys[i])]]
            values = _mutate(parent.values, options, rng)
        key = _key(supernet.resolve(values).values)
        if key in seen:
            attempt += 1
            continue
        seen.add(key)
        attempt = 0
        result = score_subnet(supernet, values, x_calibration, x_val, y_val, constraints)
        ranked.append(result)
        if on_ranked is not None:
            on_ranked(result)
    return ranked


def _mutate(values: Mapping[str, Any], options: Mapping[str, Sequence[Any]], rng: np.random.Generator) -> dict[str, Any]:
    """`values` with one of its architecture hps changed to another choice (a block switched on by a larger
    depth (`num_blocks`, `num_stages`, `stage{i}_blocks`) takes its defaults; hps with one choice are never drawn)."""
    child = dict(values)
    names = [name for name, allowed in options.items() if len(allowed) > 1 and name in values]
    name = names[int(rng.integers(len(names)))]
    others = [v for v in options[name] if v != child.get(name, options[name][0])]
    child[name] = others[int(rng.integers(len(others)))]
    return child


def _key(values: Mapping[str, Any]) -> str:
    return json.dumps(dict(values), sort_keys=True, default=str)
