"""Ranking a supernet's sub-networks for the one-shot oracle: evolution, saved as it goes to `ranked.json`.

A killed search resumes from what was saved: `read_records` reads it back,
and evolution goes on from there (`tfnas.oneshot.rank.evolve`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from tfnas import atomic
from tfnas.constraints import Constraints
from tfnas.image_files import FileImages
from tfnas.oneshot.base_supernet import BaseSupernet
from tfnas.oneshot.rank import Ranked
from tfnas.oneshot.rank import evolve

__all__ = ["RANKED_FILENAME", "rank_by_evolution", "read_records"]

RANKED_FILENAME = "ranked.json"

# Evolution rewrites `ranked.json` after this many more sub-networks.
SAVE_EVERY = 50


def read_records(path: str, from_dict: Any) -> list:
    """The records an interrupted run saved at `path` (a JSON list, each row read by `from_dict`); [] if none."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [from_dict(row) for row in json.load(f)]


def rank_by_evolution(
    supernet: BaseSupernet, x_calibration: Any, x_val: Any, y_val: Any, folder: str, *, count: int,
    rank_fn: Callable, objective: str, constraints: Constraints | None, population_size: int, seed: int,
) -> list[Ranked]:
    """Ranks `count` sub-networks by regularized evolution, going on from `folder`'s `ranked.json`.

    The file is rewritten every `SAVE_EVERY` sub-networks and at the end, so a
    killed search ranks only what it had not saved.

    Args:
        supernet: The trained supernet whose sub-networks are ranked.
        x_calibration: Training samples batch norm is re-estimated on per sub-network.
        x_val: Validation inputs each sub-network within the constraints is scored on.
        y_val: Their targets.
        folder: Where `ranked.json` is kept.
        count: Distinct sub-networks to rank.
        rank_fn: The reward's `rank` (higher keys are better).
        objective: The objective's metric name.
        constraints: The search's constraints (None: every sub-network is feasible).
        population_size: Evolution's population.
        seed: Evolution's seed.

    Returns:
        Every ranked sub-network, the saved ones first.
    """
    path = os.path.join(folder, RANKED_FILENAME)
    done = read_records(path, Ranked.from_dict)
    progress = list(done)

    def keep(result: Ranked) -> None:
        progress.append(result)
        if len(progress) % SAVE_EVERY == 0:
            atomic.write_json(path, [r.to_dict() for r in progress])

    ranked = evolve(
        supernet, x_calibration, x_val, y_val, count=count, rank_fn=rank_fn, objective=objective,
        constraints=constraints, population_size=population_size, seed=seed, done=done, on_ranked=keep,
    )
    if len(ranked) > len(done):
        atomic.write_json(path, [r.to_dict() for r in ranked])
    if isinstance(x_val, FileImages):
        x_val.drop_cached()  # the trials read the validation images through their own cache
    return ranked
