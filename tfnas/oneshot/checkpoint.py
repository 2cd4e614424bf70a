"""The checkpoint of a supernet training run: one file replaced atomically at the end of every epoch.

`supernet_checkpoint.npz` holds the weights (batch-norm statistics
included), the optimizer's variables and the history, plus a fingerprint of
the run's settings, so a directory is resumed only by the run that wrote it;
`supernet_history.yaml` beside it is the readable history.
"""

from __future__ import annotations

import json
import os
from typing import Any

import keras
import numpy as np
import yaml

from tfnas.atomic import replacing
from tfnas.atomic import values_sha256
from tfnas.atomic import write_text
from tfnas.errors import TfnasInputError
from tfnas.oneshot.base_supernet import BaseSupernet
from tfnas.training import Training

FILE = "supernet_checkpoint.npz"
HISTORY_FILE = "supernet_history.yaml"


def fingerprint(
    supernet: BaseSupernet, recipe: Training, peak: float, batch: int, samples: int, num_random: int, distill: bool,
    seed: int,
) -> str:
    """A hash of every setting a resumed run must share with the run that wrote the checkpoint (not `epochs`)."""
    space = supernet.space
    return values_sha256({
        "space": [type(space).__name__, list(space.input_shape), space.num_outputs, space.task, space.ranges],
        "recipe": recipe.to_dict(), "peak": float(peak), "batch": batch, "samples": samples,
        "num_random": num_random, "distill": distill, "seed": seed,
    })


class Checkpoint:
    """The checkpoint file of one supernet training run.

    Args:
        directory: The run's folder (created if missing).
        key: The run's `fingerprint`.
    """

    def __init__(self, directory: str, key: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, FILE)
        self.history_path = os.path.join(directory, HISTORY_FILE)
        self.key = key

    def save(self, supernet: BaseSupernet, optimizer: keras.optimizers.Optimizer, history: dict[str, Any]) -> None:
        """Writes the weights (moving statistics included), the optimizer's variables and the history."""
        # (Any values: numpy's stub types `**arrays` against savez's `allow_pickle: bool` keyword too.)
        arrays: dict[str, Any] = {f"w{i}": np.asarray(v) for i, v in enumerate(supernet.weights)}
        arrays.update({f"o{i}": np.asarray(v) for i, v in enumerate(optimizer.variables)})
        meta = {"key": self.key, "weights": len(supernet.weights), "optimizer": len(optimizer.variables),
                "history": history}
        with replacing(self.path) as temporary:
            np.savez(temporary, meta=np.array(json.dumps(meta)), **arrays)
        write_text(self.history_path, yaml.safe_dump(history, sort_keys=False))

    def restore(self, supernet: BaseSupernet, optimizer: keras.optimizers.Optimizer) -> dict[str, Any] | None:
        """Loads the checkpoint into `supernet` and the built `optimizer`; returns its history, or None without one.

        Raises:
            TfnasInputError: The checkpoint is another run's (other settings or another supernet).
        """
        if not os.path.exists(self.path):
            return None
        with np.load(self.path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            counts = (len(supernet.weights), len(optimizer.variables))
            if meta["key"] != self.key or (meta["weights"], meta["optimizer"]) != counts:
                raise TfnasInputError(
                    f"{self.path} is the checkpoint of a run with other settings (space, recipe, batch size, seed, "
                    "learning rate, number of samples or sub-networks); pass overwrite=True or another directory."
                )
            for prefix, variables in (("w", supernet.weights), ("o", optimizer.variables)):
                for i, variable in enumerate(variables):
                    variable.assign(data[f"{prefix}{i}"])
        return meta["history"]


def load_weights(directory: str, supernet: BaseSupernet) -> dict[str, Any]:
    """Loads only the weights of the checkpoint in `directory` into `supernet`; returns its history.

    For a process that uses a supernet another one trained (a distributed
    search's worker): no optimizer, no fingerprint to match, only the same supernet.

    Raises:
        TfnasInputError: No checkpoint there, or one of another supernet.
    """
    path = os.path.join(directory, FILE)
    if not os.path.exists(path):
        raise TfnasInputError(f"no supernet checkpoint at {path}: the chief writes it before it proposes trials; "
                              "check that every process sees the same run directory.")
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta["weights"] != len(supernet.weights):
            raise TfnasInputError(f"{path} holds another supernet ({meta['weights']} weights, not {len(supernet.weights)}).")
        for i, variable in enumerate(supernet.weights):
            variable.assign(data[f"w{i}"])
    return meta["history"]
