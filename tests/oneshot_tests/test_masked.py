"""The compiled (masked) supernet step computes what the eager, sliced one does, for every elastic dimension."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tfnas.oneshot import Supernet
from tfnas.oneshot import random_subnet
from tfnas.oneshot import smallest
from tfnas.oneshot.masked import CompiledSandwich
from tfnas.oneshot.masked import compilable
from tfnas.oneshot.masked import masked_call
from tfnas.oneshot.masked import subnet_masks
from tfnas.oneshot.sandwich import sandwich_step
from tfnas.spaces import DSCNN1DSpace

SHAPE = (40, 1)
FRAME = {"stem_strides": (2,), "pooling": ("max",), "strides": (1,)}

# One elastic dimension at a time (others at their defaults), then a mixed one; stem 16 -> block 16 with a skip
# exercises the residual Add from the stem, block 4 inactive exercises depth.
SUBNETS = [
    {"num_blocks": 1},
    {"num_blocks": 4, "block4_filters": 8},
    {"stem_filters": 32, "num_blocks": 2, "block1_filters": 8, "block2_filters": 48},
    {"stem_filters": 16, "num_blocks": 2, "block1_filters": 16, "block1_skip": True, "block2_filters": 16,
     "block2_skip": True},
    {"stem_kernel": 7, "num_blocks": 3, "block1_kernel": 3, "block2_kernel": 5, "block3_kernel": 7},
    {"stem_filters": 32, "stem_kernel": 5, "num_blocks": 3, "block1_filters": 48, "block2_filters": 48,
     "block2_skip": False, "block3_filters": 48, "block3_skip": True, "block3_kernel": 3},
]


def _perturbed(space: DSCNN1DSpace, seed: int = 0) -> Supernet:
    """A supernet whose every weight and BN statistic differs per channel, so a wrong mask shows."""
    supernet = Supernet(space)
    rng = np.random.default_rng(seed)
    for weight in supernet.weights:
        shape = tuple(weight.shape)
        low_high = (0.5, 2.0) if weight.path.endswith("moving_variance") else None
        value = rng.uniform(*low_high, shape) if low_high else rng.normal(0.0, 0.5, shape)
        weight.assign(value.astype("float32"))
    return supernet


@pytest.fixture(scope="module")
def space() -> DSCNN1DSpace:
    return DSCNN1DSpace(**FRAME).configure(SHAPE, 5, "classification")


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(16, *SHAPE)).astype("float32")


def test_only_a_fixed_frame_compiles():
    assert compilable(Supernet(DSCNN1DSpace(**FRAME).configure(SHAPE, 5, "classification")))
    assert not compilable(Supernet(DSCNN1DSpace().configure(SHAPE, 5, "classification")))  # strides elastic
    assert not compilable(Supernet(DSCNN1DSpace(**FRAME, head=("gap", "flatten")).configure(SHAPE, 5, "classification")))
    # a shallower sub-network would skip a strided block: the lengths would differ
    assert not compilable(Supernet(DSCNN1DSpace(**{**FRAME, "strides": (2,)}).configure(SHAPE, 5, "classification")))


@pytest.mark.parametrize("values", SUBNETS, ids=lambda v: "-".join(f"{k}{v[k]}" for k in v))
@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
def test_masked_outputs_equal_the_sliced_supernet(space, x, values, training):
    sliced, masked = _perturbed(space), _perturbed(space)
    expected = np.asarray(sliced(x, training=training, values=values))
    got = np.asarray(masked_call(masked, x, subnet_masks(masked, values), training=training))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # training mode moves the same moving statistics (only the active channels)
    for a, b in zip(sliced.non_trainable_variables, masked.non_trainable_variables, strict=True):
        if "moving" in a.path:  # (the other one is the dropout seed's state)
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-6, err_msg=a.path)


def test_compiled_step_updates_the_weights_as_the_eager_step(space, x):
    y = np.arange(len(x)) % 5
    rng = np.random.default_rng(3)
    students = [smallest(space), *(random_subnet(space, rng) for _ in range(2))]
    nets, steps = [], []
    for compiled in (False, True):
        keras.utils.set_random_seed(0)
        supernet = _perturbed(space, seed=4)
        optimizer = keras.optimizers.SGD(0.1)  # (Adam would amplify float noise in near-zero gradients)
        optimizer.build(supernet.trainable_variables)
        step = CompiledSandwich(supernet, optimizer, students=3) if compiled else None
        for _ in range(2):
            logs = step(x, y, students) if compiled else sandwich_step(supernet, optimizer, x, y, students)
        nets.append(supernet)
        steps.append(logs)
    for key in steps[0]:
        assert steps[1][key] == pytest.approx(steps[0][key], rel=1e-4), key
    moved = 0
    start = _perturbed(space, seed=4)
    for eager, compiled, initial in zip(nets[0].weights, nets[1].weights, start.weights, strict=True):
        np.testing.assert_allclose(np.asarray(compiled), np.asarray(eager), atol=1e-5, err_msg=eager.path)
        moved += not np.allclose(np.asarray(eager), np.asarray(initial))
    assert moved > len(start.weights) // 2  # the step trained something


def test_a_step_needs_its_number_of_students(space, x):
    supernet = Supernet(space)
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(supernet.trainable_variables)
    with pytest.raises(ValueError, match="trains 2 students; received 1"):
        CompiledSandwich(supernet, optimizer, students=2)(x, np.zeros(len(x), int), [smallest(space)])
