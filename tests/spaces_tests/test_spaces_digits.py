"""The default MobileNet space holds a digits model of about 98% accuracy under 20k MACs."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest

from tfnas import Training
from tfnas.spaces import MobileNetSpace

# A member of the default space: 8-filter stem, two depthwise-separable stages
# (17k MACs). Over 3 seeds, 30 epochs reached 98.4-98.9% test accuracy.
DIGITS_ARCH = {
    "stem_filters": 8,
    "stem_strides": 1,
    "num_stages": 2,
    "stage1_blocks": 2,
    "stage1_filters": 16,
    "stage1_kernel": 3,
    "stage1_expansion": 1,
    "stage1_strides": 2,
    "stage1_skip": True,
    "stage2_blocks": 1,
    "stage2_filters": 32,
    "stage2_kernel": 3,
    "stage2_expansion": 1,
    "stage2_strides": 2,
    "stage2_skip": True,
    "dropout": 0.0,
    "learning_rate": 0.01,
}


def _digits_hps() -> kt.HyperParameters:
    hp = kt.HyperParameters()
    for name, value in DIGITS_ARCH.items():
        hp.Fixed(name, value)
    return hp


def test_digits_arch_is_in_the_default_space(register_fn):
    space = MobileNetSpace().configure((8, 8, 1), 10, "classification")
    registered = {p.name: p for p in register_fn(space).space}
    for name, value in DIGITS_ARCH.items():
        assert value in registered[name].values, name


def test_digits_arch_is_under_20k_macs(count_macs_fn):
    model = MobileNetSpace().configure((8, 8, 1), 10, "classification").build(_digits_hps())
    assert count_macs_fn(model) < 20_000


@pytest.mark.slow
def test_digits_arch_reaches_98_percent_give_or_take_its_seed_spread():
    """One run of the architecture on tfnas's training recipe lands within three standard deviations of its mean.

    Trained with `Training()` (cosine decay, label smoothing 0.1, AdamW), 20
    epochs at batch 32, seeds 0-9 gave 97.56-98.67% test accuracy: mean 98.14%,
    standard deviation 0.48 points, so mean - 3 std = 96.69%, asserted as 96.5%.
    Another x86-64 CPU trains to other weights from the same seed (TensorFlow's
    float sums round differently: with oneDNN off, seeds 0-4 moved by up to 1.1
    points), which the seed spread covers. A constant-rate `model.fit` spread
    twice as wide (95.78-99.33%, std 0.93 points): one seed of ten and another
    CPU's run of seed 0 (96.44%) fell under the 97% this test asserted before.
    """
    datasets = pytest.importorskip("sklearn.datasets")
    x, y = datasets.load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32").reshape(-1, 8, 8, 1)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    split = int(0.75 * len(x))
    keras.utils.set_random_seed(0)
    model = MobileNetSpace().configure((8, 8, 1), 10, "classification").build(_digits_hps())
    Training().fit(model, x[:split], y[:split], epochs=20, batch_size=32)
    _, accuracy = model.evaluate(x[split:], y[split:], verbose=0)
    assert accuracy >= 0.965
