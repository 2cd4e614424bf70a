"""Preparing the one-shot oracle's supernet: the space and data it takes, the frame it holds fixed, building or loading it.

The chief builds the supernet in the frame it chose (`fixed_frame`) and
trains it; a distributed search's worker builds the same one from the frame
the chief saved in `oracle.json` and loads the chief's weights
(`attached_space`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from tfnas.constraints import Constraints
from tfnas.errors import TfnasInputError
from tfnas.image_files import FileImages
from tfnas.oneshot.base_supernet import BaseSupernet
from tfnas.oneshot.checkpoint import load_weights
from tfnas.oneshot.extract import InheritedSpace
from tfnas.oneshot.families import COVERED
from tfnas.oneshot.families import covers
from tfnas.oneshot.frame import choose_frame
from tfnas.oneshot.frame import narrow
from tfnas.oneshot.supernet import supernet_for

__all__ = ["SUPERNET_FOLDER", "attached_space", "check_inputs", "fixed_frame", "framed_supernet"]

# The supernet's checkpoint, under the project's `oneshot/` folder.
SUPERNET_FOLDER = "supernet"


def check_inputs(strategy: str, hypermodel: Any, x: Any, validation_data: Any) -> None:
    """Refuses, before any training, a space no supernet covers and data that are not arrays.

    Raises:
        TfnasInputError: The space is not one a supernet covers (`tfnas.oneshot.families`), or `x` is not a
            numpy array (or an image folder's `FileImages`) with `validation_data` an `(x, y)` tuple.
    """
    if not covers(hypermodel):
        raise TfnasInputError(
            f"oracle {strategy!r} needs a space its supernet covers: {COVERED}. Received: {type(hypermodel).__name__}."
        )
    if not isinstance(x, (np.ndarray, FileImages)) or not isinstance(validation_data, tuple):
        raise TfnasInputError(
            f"oracle {strategy!r} trains its supernet on arrays: pass x, y as numpy arrays (or an image folder), "
            "not a tf.data.Dataset."
        )


def fixed_frame(
    space: Any, frame: Mapping[str, Any] | str | None, constraints: Constraints | None, seed: int
) -> dict[str, list]:
    """The frame the supernet holds fixed, each range as a list (as `oracle.json` keeps it).

    "auto": the highest resolution at which half of the random sub-networks
    meet `constraints` (`tfnas.oneshot.frame.choose_frame`); None: none.
    """
    if isinstance(frame, str):  # "auto", the only string `check_arguments` lets through
        frame = choose_frame(space, constraints, seed=seed)
    return {key: list(value) if isinstance(value, (list, tuple)) else [value] for key, value in (frame or {}).items()}


def framed_supernet(space: Any, frame: Mapping[str, Any]) -> BaseSupernet:
    """A new supernet of `space` narrowed to `frame`."""
    return supernet_for(narrow(space, frame))


def attached_space(hypermodel: Any, x: Any, directory: str, calibration_samples: int) -> InheritedSpace:
    """A worker's hypermodel: the chief's supernet (its frame from `oracle.json`, its weights from
    `oneshot/supernet/`), whose sub-networks build with the inherited weights."""
    with open(os.path.join(directory, "oracle.json")) as f:
        frame = json.load(f).get("tfnas", {}).get("oneshot", {}).get("frame") or {}
    supernet = framed_supernet(hypermodel, frame)
    load_weights(os.path.join(directory, "oneshot", SUPERNET_FOLDER), supernet)
    return InheritedSpace(supernet, x[:calibration_samples])
