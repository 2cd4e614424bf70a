"""Differentiable search: an exact expected-MACs penalty, a relaxation that holds every sub-network, a MAC-aware search."""

from __future__ import annotations

import itertools
import json
import os

import keras
import numpy as np
import pytest

import tfnas
from tfnas.cost import profile
from tfnas.errors import TfnasInputError
from tfnas.oneshot import Supernet
from tfnas.oneshot import random_subnet
from tfnas.oneshot.dnas import arch_choices
from tfnas.oneshot.dnas import differentiable_search
from tfnas.oneshot.dnas import expected_macs
from tfnas.oneshot.dnas import soft_masks
from tfnas.oneshot.dnas import sweep
from tfnas.oneshot.masked import masked_call
from tfnas.oneshot.masked import subnet_masks
from tfnas.spaces import DSCNN1DSpace
from tfnas.testing.signals import noisy_sines

FRAME = {"stem_strides": (2,), "pooling": ("max",), "strides": (1,)}
LIMIT = 6_000


@pytest.fixture(scope="module")
def supernet() -> Supernet:
    keras.utils.set_random_seed(0)
    return Supernet(DSCNN1DSpace(**FRAME).configure((40, 1), 3, "classification"))


def _one_hot(supernet: Supernet, values: dict) -> dict:
    """Weights selecting exactly `values` (the active hp values; a dropped block's hps at their first choice)."""
    active = supernet.resolve(values).values
    out = {}
    for name, options in arch_choices(supernet).items():
        value = active.get(name, options[0])
        out[name] = keras.ops.convert_to_tensor(
            np.array([float(type(o) is type(value) and o == value) for o in options], np.float32))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_one_hot_weights_are_the_sub_network_exactly(supernet, seed):
    values = random_subnet(supernet.space, np.random.default_rng(seed))
    weights = _one_hot(supernet, values)
    model = supernet.space.build(supernet.resolve(values).hyperparameters())
    assert float(expected_macs(supernet, weights)) == profile(model).macs  # the penalty is the cost model's count
    hard, soft = subnet_masks(supernet, values), soft_masks(supernet, weights)
    depth = len(supernet.resolve(values).blocks)
    for key in hard:  # (a dropped block's taps, widths and Add are not used: its gate is 0)
        rows = slice(0, depth) if key.startswith("block") and key != "block_active" else ()
        np.testing.assert_allclose(np.asarray(soft[key])[rows], hard[key][rows], err_msg=key)
    x, _ = noisy_sines(8, seed)
    np.testing.assert_allclose(np.asarray(masked_call(supernet, x, soft)),
                               np.asarray(supernet(x, values=values)), atol=1e-5)


def test_expected_macs_is_the_mean_over_every_sub_network():
    """Under independent choices the expectation is exact: the probability-weighted sum over the whole (small) space."""
    space = DSCNN1DSpace(**FRAME, stem_filters=(8, 16), num_blocks=(1, 2), filters=(8, 16), kernel_sizes=(3, 5),
                         skip=(True,)).configure((40, 1), 3, "classification")
    small = Supernet(space)
    options = arch_choices(small)
    rng = np.random.default_rng(0)
    probabilities = {name: rng.dirichlet(np.ones(len(o))).astype(np.float32) for name, o in options.items()}
    total = 0.0
    for picks in itertools.product(*(range(len(o)) for o in options.values())):
        values = {name: o[i] for (name, o), i in zip(options.items(), picks, strict=True)}
        weight = np.prod([probabilities[name][i] for name, i in zip(options, picks, strict=True)])
        total += weight * float(expected_macs(small, _one_hot(small, values)))
    expected = float(expected_macs(small, {k: keras.ops.convert_to_tensor(v) for k, v in probabilities.items()}))
    assert len(options) == 7 and expected == pytest.approx(total, rel=1e-5)


def test_a_larger_penalty_derives_a_cheaper_architecture(supernet):
    x, y = noisy_sines(256, 0)
    x_val, y_val = noisy_sines(96, 1)
    before = [np.asarray(v) for v in supernet.variables]
    cheap, free = sweep(supernet, x, y, x_val, y_val, penalties=[1.0, 0.0], macs_scale=LIMIT, epochs=2,
                        arch_learning_rate=0.05)
    for variable, value in zip(supernet.variables, before, strict=True):  # every search started from, and left, these weights
        np.testing.assert_array_equal(np.asarray(variable), value)
    # seeds 0-9 of the weights and `sweep` (0-4 also with oneDNN off, alike): cheap/free 0.29-0.55 (mean 0.40, std 0.09:
    # mean + 3 std = 0.67); seeds 3 and 6 failed the 0.5 asserted before.
    assert cheap.expected_macs < 0.7 * free.expected_macs
    assert len(cheap.logs) == 2 and {"loss", "val_loss", "expected_macs", "temperature"} <= cheap.logs[0].keys()
    model = supernet.space.build(supernet.resolve(cheap.values).hyperparameters())
    assert profile(model).macs < profile(supernet.space.build(supernet.resolve(free.values).hyperparameters())).macs
    drawn = cheap.sample(arch_choices(supernet), np.random.default_rng(0))
    supernet.resolve(drawn)  # a draw is a sub-network of the space


def test_bad_arguments_and_an_elastic_frame_are_refused(supernet):
    x, y = noisy_sines(32, 0)
    with pytest.raises(TfnasInputError, match="penalty must be a non-negative number"):
        differentiable_search(supernet, x, y, x, y, penalty=-1.0, macs_scale=LIMIT, epochs=1)
    with pytest.raises(TfnasInputError, match="epochs must be an integer"):
        differentiable_search(supernet, x, y, x, y, penalty=0.1, macs_scale=LIMIT, epochs=0)
    elastic = Supernet(DSCNN1DSpace().configure((40, 1), 3, "classification"))
    with pytest.raises(TfnasInputError, match="frame is fixed"):
        differentiable_search(elastic, x, y, x, y, penalty=0.1, macs_scale=LIMIT, epochs=1)


def test_dnas_search_trains_the_derived_architectures_first_within_the_limit(tmp_path):
    x, y = noisy_sines(300, 0)
    space = DSCNN1DSpace(filters=(8, 16), num_blocks=(1, 2), kernel_sizes=(3, 5), stem_filters=(8, 16))
    oracle = {"name": "dnas", "supernet_epochs": 1, "penalties": [0.0, 0.3], "dnas_epochs": 1, "samples": 5,
              "frame": {"stem_strides": 4, "pooling": "none", "strides": 1}}
    settings = dict(x=x, y=y, space=space, oracle=oracle, constraints={"max_macs": LIMIT}, max_trials=6, epochs=2,
                    directory=str(tmp_path), project_name="p", seed=0, verbose=0)
    result = tfnas.search(**settings)
    # warm-up 1 epoch x 4 sub-networks + 2 searches x 1 epoch x 2 steps = 8 epochs: 4 trials of 2 epochs
    assert result.oneshot["supernet_trials"] == 4 and len(result.completed) == 2
    assert [entry["penalty"] for entry in result.oneshot["dnas"]] == [0.0, 0.3]
    with open(os.path.join(tmp_path, "p", "oneshot", "ranked.json")) as f:
        ranked = json.load(f)
    assert all(r["costs"]["macs"] <= LIMIT for r in ranked if r["score"] is not None)
    for trial in result.completed:
        assert trial.metrics["macs"] <= LIMIT
    derived = [entry["values"] for entry in result.oneshot["dnas"]]
    feasible = [d for d in derived if any(r["values"] == d and r["score"] is not None for r in ranked)]
    assert result.oneshot["derived_feasible"] == len(feasible) >= 1
    first = sorted(result.completed, key=lambda t: int(t.trial_id))[0]
    architecture = {k: v for k, v in first.hyperparameters.items() if k not in ("learning_rate", "dropout")}
    assert any(all(d.get(k) == v for k, v in architecture.items() if k in d) for d in feasible)
    mtime = os.stat(os.path.join(tmp_path, "p", "oneshot", "dnas.json")).st_mtime_ns
    again = tfnas.search(**settings)  # resumed: the sweep is not run again
    assert os.stat(os.path.join(tmp_path, "p", "oneshot", "dnas.json")).st_mtime_ns == mtime
    assert [t.trial_id for t in again.completed] == [t.trial_id for t in result.completed]


def test_dnas_refuses_an_elastic_frame_before_any_training(tmp_path):
    x, y = noisy_sines(120, 0)
    with pytest.raises(TfnasInputError, match="oracle 'dnas' needs the supernet's frame fixed"):
        tfnas.search(x, y, space="dscnn1d", oracle={"name": "dnas", "frame": None}, max_trials=30, epochs=2,
                     directory=str(tmp_path), project_name="p", verbose=0)
    assert not os.path.exists(os.path.join(tmp_path, "p", "oneshot", "supernet"))
    with pytest.raises(TfnasInputError, match="penalties must be a non-empty list"):
        tfnas.search(x, y, space="dscnn1d", oracle={"name": "dnas", "penalties": []}, max_trials=30, epochs=2,
                     directory=str(tmp_path), project_name="q", verbose=0)
