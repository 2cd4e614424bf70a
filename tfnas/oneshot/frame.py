"""The frame of a supernet: the resolution switches (strides, pooling) held fixed while widths, kernels and depth stay elastic.

Once-for-All's elastic dimensions are depth, width, kernel size and expansion
ratio; the places where the resolution drops are fixed. Sharing weights
across strides and pooling too means one kernel must serve features at
1x to 32x downsampling, and on MNIST-1D (benchmarks/bench_oneshot.py, seed 0,
30 sub-networks) the supernet then ranked sub-networks worse than counting
their MACs: Kendall tau 0.48 vs MACs' 0.59. With the frame fixed (stem stride
2, max pooling, blocks at stride 1) it ranked them at tau 0.57, above MACs'
0.52, against a noise ceiling of 0.64 (two trainings of the same sub-networks).

A frame is a dict of narrowed ranges (`{"stem_strides": (2,), "pooling":
("max",), "strides": (1,)}` for `DSCNN1DSpace`; `{"stem_strides": (1,),
"strides": (2,)}` for `MobileNetSpace`, whose stages' strides are where its
resolution drops, and `{"strides": (1,)}` for `DSCNN2DSpace`, whose stem
stride follows the input); each space's family (`tfnas.oneshot.family`) says
which ranges form its frame and lists its frames. `narrow` applies one to a
space, and `choose_frame` picks one for a search: the highest resolution at
which at least half of the random sub-networks meet the constraints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tfnas.constraints import Constraints
from tfnas.cost import profile
from tfnas.errors import TfnasInputError
from tfnas.oneshot.families import family_of
from tfnas.oneshot.sandwich import random_subnet
from tfnas.oneshot.subnet import resolve
from tfnas.spaces import EdgeSpace

# The DS-CNN 1-D family's frame ranges (`family_of(space).frame_ranges` gives any space's).
FRAME_RANGES = ("stem_strides", "pooling", "strides")


def frames(space: EdgeSpace) -> list[dict[str, tuple]]:
    """Every frame of the space, highest resolution first.

    For `DSCNN1DSpace`: `{"stem_strides": (s,), "pooling": (p,), "strides": (min stride,)}`,
    ordered by the downsampling before the blocks (stem stride, x2 with
    pooling), then stride before pooling (fewer MACs in the stem). For the
    MobileNet family: every stem stride and stage stride, ordered by the
    feature-map area of the deepest sub-network (`tfnas.oneshot.mobilenet.MobileNetFamily.frames`).

    Raises:
        TfnasInputError: No supernet covers the space.
    """
    return family_of(space).frames(space)


def narrow(space: EdgeSpace, frame: Mapping[str, Any]) -> EdgeSpace:
    """A copy of the configured `space` whose frame ranges are those of `frame` (each a tuple of one choice or more).

    Raises:
        TfnasInputError: A key that is not a frame range, or a value the space does not have.
    """
    keys = family_of(space).frame_ranges
    unknown = sorted(set(frame) - set(keys))
    if unknown:
        raise TfnasInputError(f"frame keys must be among {keys}; received: {unknown}.")
    ranges = space.ranges
    narrowed = {}
    for key, value in frame.items():
        value = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        if not value or any(v not in ranges[key] for v in value):
            raise TfnasInputError(f"frame {key}={value!r}: the space's choices are {ranges[key]}.")
        narrowed[key] = value
    return type(space)(space.input_shape, space.num_outputs, space.task, space.name, **{**ranges, **narrowed})


def choose_frame(
    space: EdgeSpace, constraints: Constraints | None, samples: int = 24, seed: int = 0
) -> dict[str, tuple]:
    """The highest-resolution frame where at least half of `samples` random sub-networks meet `constraints`.

    Without constraints that is the first frame. When no frame qualifies, the
    one with the most feasible samples (ties: the coarsest).
    """
    candidates = frames(space)
    if not constraints:
        return candidates[0]
    best, best_count = candidates[-1], -1
    for frame in candidates:
        narrowed = narrow(space, frame)
        rng = np.random.default_rng([seed, 7])
        feasible = 0
        for _ in range(samples):
            model = narrowed.build(resolve(narrowed, random_subnet(narrowed, rng)).hyperparameters())
            feasible += constraints.is_feasible(profile(model).to_dict())
        if 2 * feasible >= samples:
            return frame
        if feasible >= best_count:
            best, best_count = frame, feasible
    return best
