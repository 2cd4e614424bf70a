"""The whole models calibration times: random, reproducible draws of tfnas's spaces, conditional hps included."""

from __future__ import annotations

import numpy as np

from tfnas.latency.candidates import random_values
from tfnas.latency.candidates import space_candidate
from tfnas.spaces import ImageSpace


def test_draws_are_random_and_reproducible():
    first = [space_candidate(np.random.default_rng(seed)) for seed in range(3)]
    again = [space_candidate(np.random.default_rng(seed)) for seed in range(3)]
    sizes = [(m.inputs[0].shape[1:], m.count_params()) for m in first]
    assert sizes == [(m.inputs[0].shape[1:], m.count_params()) for m in again]
    assert len(set(sizes)) == 3


def test_conditional_hyperparameters_get_values():
    space = ImageSpace().configure((32, 32, 3), 10, "classification")
    hp = random_values(space, np.random.default_rng(0))
    # every hp the drawn values switch on got a value of its own: building again registers nothing new
    before = {p.name for p in hp.space}
    space.build(hp)
    assert {p.name for p in hp.space} == before
    assert all(hp.values.get(name) is not None for name in before if hp.is_active(name))
