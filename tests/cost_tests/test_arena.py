"""`arena_bytes` (TFLite Micro's whole arena) and `max_arena_bytes` against real TFLite Micro arenas."""

from __future__ import annotations

import keras
import pytest

import tfnas.cost
from tfnas.constraints import Constraints
from tfnas.cost._graph import flatten_model
from tfnas.cost._lower import lower
from tfnas.cost._persistent import known_bytes
from tfnas.errors import TfnasInputError
from tfnas.testing.cost_zoo import APPLICATION_NAMES
from tfnas.testing.cost_zoo import FAMILY_SHAPES
from tfnas.testing.cost_zoo import ZOO_NAMES
from tfnas.testing.cost_zoo import build
from tfnas.testing.cost_zoo import convert_int8
from tfnas.testing.cost_zoo import family_model
from tfnas.testing.cost_zoo import tflm_arena

L = keras.layers

# The bounds: the total arena within 10% of TFLite Micro's, its activation part ("head") within 5%.
# Measured (tflite-micro 0.dev20261023, benchmarks/bench_cost.py): head exact and total within 0.2% on the zoo,
# the three Keras Applications and 270 random models of tfnas's spaces.
TOTAL_TOLERANCE = 0.10
HEAD_TOLERANCE = 0.05
RANDOM_PER_FAMILY = 5  # benchmarks/bench_cost.py --random 30 checks 30 per family


def _check(model: keras.Model, blob: bytes, name: str) -> None:
    report = tfnas.cost.profile(model)
    real = tflm_arena(blob)
    assert report.arena_bytes == report.peak_ram_bytes + report.persistent_arena_bytes
    assert abs(report.peak_ram_bytes - real["head"]) <= HEAD_TOLERANCE * real["head"], (
        f"{name}: head predicted {report.peak_ram_bytes} B, TFLM {real['head']} B"
    )
    assert abs(report.arena_bytes - real["total"]) <= TOTAL_TOLERANCE * real["total"], (
        f"{name}: total predicted {report.arena_bytes} B, TFLM {real['total']} B"
    )


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_arena_matches_tflm_on_the_zoo(zoo: dict, converted: dict, name: str) -> None:
    _check(zoo[name], converted[name], name)


@pytest.mark.slow
@pytest.mark.parametrize("name", APPLICATION_NAMES)
def test_arena_matches_tflm_on_keras_applications(name: str) -> None:
    # MobileNet's ZeroPadding2D before each stride-2 depthwise conv folds into it ("same" padding), and
    # MobileNetV3's Rescaling(offset=-1) stays a MUL and an ADD before its "same" stem conv.
    model = build(name)
    _check(model, convert_int8(model, num_samples=4), name)


@pytest.mark.parametrize("seed", range(RANDOM_PER_FAMILY))
@pytest.mark.parametrize("space", sorted(FAMILY_SHAPES))
def test_arena_matches_tflm_on_random_space_models(space: str, seed: int) -> None:
    model = family_model(space, seed)
    _check(model, convert_int8(model, num_samples=4), f"{space} seed {seed}")


def test_pad_equal_to_same_padding_folds_into_the_conv() -> None:
    def pads(padding: object, strides: int) -> int:
        model = keras.Sequential([keras.Input((16, 16, 3)), L.ZeroPadding2D(padding), L.DepthwiseConv2D(3, strides)])
        return sum(op.kind == "PAD" for op in lower(flatten_model(model)).ops)

    assert pads(((0, 1), (0, 1)), 2) == 0  # what "same" pads for a 3x3 stride-2 conv on 16x16
    assert pads(1, 1) == 0
    assert pads(1, 2) == 1  # one row more than "same": the converter keeps the PAD


def test_persistent_structs_per_tensor_op_io_and_channel() -> None:
    model = keras.Sequential([keras.Input((20,)), L.Dense(16)])
    # tensors: input, weights, bias, output (24 B each); one node (64 B); input and output TfLiteTensors with
    # their quantization (96 B each); 16 int32 multipliers and 16 int32 shifts (64 B each).
    assert known_bytes(lower(flatten_model(model))) == 4 * 24 + 64 + 2 * 96 + 2 * 64
    report = tfnas.cost.profile(model)
    assert report.persistent_arena_bytes > known_bytes(lower(flatten_model(model)))


def test_max_arena_bytes_bounds_the_predicted_total(zoo: dict) -> None:
    costs = tfnas.cost.profile(zoo["tiny_cnn"]).to_dict()
    assert costs["arena_bytes"] > costs["peak_ram_bytes"]
    assert Constraints(max_arena_bytes=costs["arena_bytes"]).is_feasible(costs)
    limit = costs["arena_bytes"] - 1  # the activations fit, the whole arena does not
    tight = Constraints.from_any({"max_arena_bytes": limit, "max_peak_ram_bytes": costs["peak_ram_bytes"]})
    assert tight.violations(costs) == [f"arena_bytes {costs['arena_bytes']} > max_arena_bytes {limit}"]
    assert tight.to_dict() == {"max_peak_ram_bytes": costs["peak_ram_bytes"], "max_arena_bytes": limit}


@pytest.mark.parametrize("value", [0, -5, "16k", True])
def test_max_arena_bytes_rejects_a_bad_value(value: object) -> None:
    with pytest.raises(TfnasInputError, match="max_arena_bytes"):
        Constraints.from_any({"max_arena_bytes": value})
