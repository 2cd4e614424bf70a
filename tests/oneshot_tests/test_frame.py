"""The supernet's frame: strides and pooling held fixed, chosen as the finest resolution that fits the limits."""

from __future__ import annotations

import numpy as np
import pytest

from tfnas.constraints import Constraints
from tfnas.cost import profile
from tfnas.errors import TfnasInputError
from tfnas.oneshot import Supernet
from tfnas.oneshot import random_subnet
from tfnas.oneshot import resolve
from tfnas.oneshot.frame import choose_frame
from tfnas.oneshot.frame import frames
from tfnas.oneshot.frame import narrow
from tfnas.spaces import DSCNN1DSpace


@pytest.fixture(scope="module")
def space() -> DSCNN1DSpace:
    return DSCNN1DSpace(filters=(8, 16), num_blocks=(1, 2), kernel_sizes=(3, 5)).configure((40, 1), 3, "classification")


def _downsampling(frame: dict) -> int:
    return frame["stem_strides"][0] * (1 if frame["pooling"][0] == "none" else 2)


def _feasible_share(space, frame, limits, samples=24, seed=0) -> float:
    narrowed = narrow(space, frame)
    rng = np.random.default_rng([seed, 7])
    models = [narrowed.build(resolve(narrowed, random_subnet(narrowed, rng)).hyperparameters()) for _ in range(samples)]
    return np.mean([limits.is_feasible(profile(m).to_dict()) for m in models])


def test_frames_cover_every_stride_and_pooling_finest_first(space):
    found = frames(space)
    assert len(found) == 9 and all(f["strides"] == (1,) for f in found)
    assert [_downsampling(f) for f in found] == sorted(_downsampling(f) for f in found)
    assert found[0] == {"stem_strides": (1,), "pooling": ("none",), "strides": (1,)}


def test_narrowed_space_fixes_the_frame_and_keeps_the_elastic_ranges(space):
    narrowed = narrow(space, {"stem_strides": 2, "pooling": ["max"], "strides": (1,)})
    assert narrowed.ranges["stem_strides"] == (2,) and narrowed.ranges["pooling"] == ("max",)
    assert narrowed.ranges["filters"] == space.ranges["filters"] and narrowed.input_shape == space.input_shape
    net = Supernet(narrowed).resolve(random_subnet(narrowed, np.random.default_rng(0)))
    assert net.stem_stride == 2 and net.pooling == "max" and all(b.stride == 1 for b in net.blocks)


@pytest.mark.parametrize("frame, match", [({"kernel_sizes": (3,)}, "frame keys"), ({"stem_strides": 3}, "choices are")])
def test_bad_frames_are_refused(space, frame, match):
    with pytest.raises(TfnasInputError, match=match):
        narrow(space, frame)


def test_chosen_frame_is_the_finest_where_half_the_subnets_fit(space):
    assert choose_frame(space, Constraints()) == frames(space)[0]
    limits = Constraints(max_macs=8_000)
    chosen = choose_frame(space, limits)
    order = frames(space)
    index = order.index(chosen)
    assert index > 0 and _feasible_share(space, chosen, limits) >= 0.5
    assert all(_feasible_share(space, f, limits) < 0.5 for f in order[:index])
