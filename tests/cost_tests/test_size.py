"""`tflite_bytes` against real full-int8 conversions of the zoo."""

from __future__ import annotations

import pytest

import tfnas.cost
from tfnas.testing.cost_zoo import ZOO_NAMES

# Measured (estimate / real - 1) on the zoo, TF 2.21 converter (benchmarks/bench_cost.py): cnn2d_seq -1.9%,
# resnet2d -2.3%, inception2d +1.1%, dscnn1d +0.9%, conv1d_seq +0.4%, mlp +0.1%, squeeze_excite +3.0%,
# tiny_cnn +2.8%, nested +1.4%, two_inputs +0.6%, activations -0.8%. On 60 random CNN/DS-CNN/MLP models:
# mean 1.1%, max 6.8%.
TOLERANCE = 0.05


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_tflite_bytes_close_to_real_conversion(zoo: dict, converted: dict, name: str) -> None:
    real = len(converted[name])
    estimate = tfnas.cost.profile(zoo[name]).tflite_bytes
    assert abs(estimate - real) <= TOLERANCE * real, f"{name}: estimated {estimate} B, real {real} B"


def test_tflite_bytes_grow_with_weights(zoo: dict) -> None:
    import keras

    small = keras.Sequential([keras.Input((20,)), keras.layers.Dense(16), keras.layers.Dense(4)])
    large = keras.Sequential([keras.Input((20,)), keras.layers.Dense(256), keras.layers.Dense(4)])
    # about one byte per extra int8 weight, four per extra int32 bias
    delta = tfnas.cost.profile(large).tflite_bytes - tfnas.cost.profile(small).tflite_bytes
    extra_weights = (20 + 4) * (256 - 16)
    assert extra_weights <= delta <= extra_weights + 4 * 240 + 12 * 2 * 240
