"""Phone-scale image spaces (issue 29): they hold MobileNetV2/V3, reach depth and width under a budget, keep small inputs."""

from __future__ import annotations

import json
import os
import warnings

import keras
import keras_tuner as kt
import numpy as np
import pytest

from tfnas.constraints import Constraints
from tfnas.cost import profile
from tfnas.export.micro_ops import TFLM_OPS
from tfnas.spaces import DSCNN2DSpace
from tfnas.spaces import ImageSpace
from tfnas.spaces import MobileNetSpace
from tfnas.spaces import SpectrogramSpace
from tfnas.spaces import get_space
from tfnas.spaces.mobilenet import FEATURE_OPS
from tfnas.spaces.mobilenet import RUNS_ON_TFLM
from tfnas.spaces.scale import PHONE_RANGES
from tfnas.spaces.scale import phone_ranges
from tfnas.spaces.scale import phone_scale
from tfnas.testing.hps import random_draws
from tfnas.testing.hps import random_hps
from tfnas.testing.hps import register

WEIGHTED = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)
GOLDEN = os.path.join(os.path.dirname(__file__), "data", "small_ranges.json")


def _stages(*stages: tuple) -> dict:
    """hp values of stages given as (blocks, filters, kernel, expansion, stride, se, activation)."""
    values: dict = {"num_stages": len(stages)}
    for i, (blocks, filters, kernel, expansion, stride, se, act) in enumerate(stages, 1):
        values.update({
            f"stage{i}_blocks": blocks, f"stage{i}_filters": filters, f"stage{i}_kernel": kernel,
            f"stage{i}_expansion": expansion, f"stage{i}_strides": stride, f"stage{i}_se": se,
            f"stage{i}_activation": act,
        })  # fmt: skip
    return values


# MobileNetV2 alpha 0.35: its widths times 0.35, rounded to multiples of 8; the last conv keeps 1280 (alpha < 1).
V2_035 = {
    "width_multiplier": 0.35, "stem_filters": 32, "last_filters": 1280, "head_units": 0,
    **_stages((1, 16, 3, 1, 1, False, "relu"), (2, 24, 3, 6, 2, False, "relu"), (3, 32, 3, 6, 2, False, "relu"),
              (4, 64, 3, 6, 2, False, "relu"), (3, 96, 3, 6, 1, False, "relu"), (3, 160, 3, 6, 2, False, "relu"),
              (1, 320, 3, 6, 1, False, "relu")),
}  # fmt: skip
# MobileNetV3-Small: its expansions 4.5 and 3.67 of the second stage become 4; the others are its own.
V3_SMALL = {
    "width_multiplier": 1.0, "stem_filters": 16, "last_filters": 576, "head_units": 1024,
    **_stages((1, 16, 3, 1, 2, True, "relu"), (2, 24, 3, 4, 2, False, "relu"), (1, 40, 5, 4, 2, True, "hard_swish"),
              (2, 40, 5, 6, 1, True, "hard_swish"), (2, 48, 5, 3, 1, True, "hard_swish"),
              (3, 96, 5, 6, 2, True, "hard_swish")),
}  # fmt: skip
REFERENCES = {
    "v2_035": (V2_035, lambda: keras.applications.MobileNetV2((96, 96, 3), alpha=0.35, weights=None, classes=1000)),
    "v3_small": (V3_SMALL, lambda: keras.applications.MobileNetV3Small((96, 96, 3), weights=None, classes=1000)),
}


def _phone_mobilenet(shape: tuple[int, ...] = (96, 96, 3), classes: int = 1000) -> MobileNetSpace:
    return MobileNetSpace(**PHONE_RANGES).configure(shape, classes, "classification")


def _build(space, values: dict) -> keras.Model:
    hp = kt.HyperParameters()
    hp.values.update(values)
    return space.build(hp)


def _macs(model: keras.Model) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return profile(model).macs


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_space_holds_mobilenet_v2_and_v3_small_at_96px(name: str) -> None:
    values, reference = REFERENCES[name]
    model = _build(_phone_mobilenet(), values)
    ours, theirs = _macs(model), _macs(reference())
    assert abs(ours / theirs - 1) <= 0.02, (name, ours, theirs)
    weighted = sum(isinstance(layer, WEIGHTED) for layer in model.layers)
    assert weighted >= 50  # 53 and 54 in Keras's (counting the SE convs)


def _witness(shape: tuple[int, ...], max_macs: int, layers: int, channels: int) -> tuple[int, int, int] | None:
    """The first of 200 random auto-space draws under `max_macs` with >= `layers` weighted layers and >= `channels`.

    Channels: the widest conv or depthwise output inside the blocks (expanded
    widths count, the last 1x1 conv does not). Only MobileNet draws are built:
    the CNN and MLP families cannot be that deep.
    """
    space = get_space("auto", shape, 10, "classification", constraints=Constraints(max_macs=max_macs))
    for hp in random_draws(space, 200, seed=0):
        if hp.values["family"] != "mobilenet":
            continue
        model = space.build(hp)
        convs = [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))]
        depth = sum(isinstance(layer, WEIGHTED) for layer in model.layers)
        width = max(int(layer.output.shape[-1]) for layer in convs if layer.name != "last_conv")
        if depth >= layers and width >= channels and _macs(model) <= max_macs:
            return depth, width, _macs(model)
    return None


@pytest.mark.parametrize(
    "shape,max_macs,layers,channels", [((224, 224, 3), 300_000_000, 30, 160), ((96, 96, 3), 15_000_000, 20, 96)]
)
def test_auto_image_space_reaches_depth_and_width_under_budget(shape, max_macs, layers, channels) -> None:
    assert _witness(shape, max_macs, layers, channels) is not None


def test_small_input_spaces_are_unchanged() -> None:
    """The hp space and the models of four random draws equal those before phone scale (tests/spaces_tests/data)."""
    with open(GOLDEN) as f:
        golden = json.load(f)
    classes = {"images": ImageSpace, "mobilenet": MobileNetSpace, "dscnn2d": DSCNN2DSpace, "spectrograms": SpectrogramSpace}
    for case, expected in golden.items():
        name, size = case.split()
        space = classes[name]().configure(tuple(int(d) for d in size.split("x")), 10, "classification")
        hps = [
            [hp.name, type(hp).__name__, list(getattr(hp, "values", [hp.value] if hasattr(hp, "value") else [])),
             hp.default, [[c.name, list(c.values)] for c in hp.conditions]]
            for hp in register(space).space
        ]  # fmt: skip
        assert json.loads(json.dumps(hps)) == expected["hps"], case
        assert [space.build(random_hps(space, seed)).count_params() for seed in range(4)] == expected["params"], case


def test_scale_follows_input_and_budget() -> None:
    assert not phone_scale((8, 8, 1), Constraints(max_macs=10**9))
    assert not phone_scale((32, 32, 3), None)
    assert not phone_scale((32, 32, 3), Constraints(max_macs=1_000_000))
    assert phone_scale((32, 32, 3), Constraints(max_macs=5_000_000))
    assert phone_scale((64, 64, 3), None)
    # a latency budget is a phone's: it switches the ranges on above 16 px, whatever max_macs says
    assert phone_scale((32, 32, 3), Constraints(max_latency_ms=4.0))
    assert phone_scale((32, 32, 3), Constraints(max_macs=1_000_000, max_latency_ms=4.0))
    assert not phone_scale((8, 8, 1), Constraints(max_latency_ms=4.0))
    small = get_space("auto", (32, 32, 3), 10, constraints=Constraints(max_macs=1_000_000))
    assert max(small.members["mobilenet"].ranges["filters"]) == 32
    big = get_space("auto", (224, 224, 3), 10, constraints=Constraints(max_macs=300_000_000))
    assert max(big.members["mobilenet"].ranges["filters"]) == 320
    assert big.members["mobilenet"].ranges["stem_strides"] == (2,)
    # a tighter budget narrows the width multipliers: MobileNetV2 at 96 px costs 55M at 1.0, 13.8M at 0.5
    assert max(phone_ranges(Constraints(max_macs=15_000_000), (96, 96, 3))["width_multiplier"]) == 0.5
    # the user's own ImageSpace keeps its constraints; a configured copy keeps them too
    mine = ImageSpace(constraints={"max_macs": 1_000_000}).for_limits(Constraints(max_macs=10**9))
    assert mine.configure((32, 32, 3), 10).constraints == Constraints(max_macs=1_000_000)


def test_mobilenet_by_name_scales_like_the_auto_image_space() -> None:
    """space="mobilenet" gets the phone-scale ranges where "auto" gives its MobileNet family them; elsewhere its own."""
    for shape, constraints in [((96, 96, 3), Constraints(max_macs=15_000_000)), ((224, 224, 3), None),
                               ((32, 32, 3), Constraints(max_latency_ms=4.0))]:  # fmt: skip
        named = get_space("mobilenet", shape, 10, constraints=constraints)
        auto = get_space("auto", shape, 10, constraints=constraints).members["mobilenet"]
        assert named.ranges == auto.ranges, (shape, constraints)
        assert max(named.ranges["num_stages"]) == 7
    for shape, constraints in [((32, 32, 3), Constraints(max_macs=1_000_000)), ((8, 8, 1), None)]:
        assert get_space("mobilenet", shape, 10, constraints=constraints).ranges == MobileNetSpace().ranges
    # a MobileNetSpace the user built keeps the ranges it was given
    mine = get_space(MobileNetSpace(num_stages=(1, 2)), (96, 96, 3), 10)
    assert mine.ranges["num_stages"] == (1, 2)


def test_optional_features_are_marked_by_what_tflite_micro_runs() -> None:
    for feature, ops in FEATURE_OPS.items():
        assert RUNS_ON_TFLM[feature] == set(ops).issubset(TFLM_OPS), feature
    # both run on TFLite Micro, so a microcontroller search keeps them
    micro = phone_ranges(Constraints(max_arena_bytes=256 * 1024))
    assert micro["squeeze_excite"] == (False, True) and "hard_swish" in micro["activations"]


def test_one_choice_registers_no_new_hp() -> None:
    space = MobileNetSpace().configure((32, 32, 3), 10, "classification")
    names = {hp.name for hp in register(space).space}
    assert not {"width_multiplier", "last_filters", "head_units"} & names
    assert not any(n.endswith(("_se", "_activation")) for n in names)


@pytest.mark.filterwarnings("ignore:Statistics for quantized inputs:UserWarning")
def test_squeeze_excite_and_hard_swish_cost_as_converted_and_run_on_tflite_micro() -> None:
    """The cost model predicts the ops, size and arena of a real int8 conversion; TFLite Micro runs it."""
    from tfnas.cost._graph import flatten_model
    from tfnas.cost._lower import lower
    from tfnas.testing.cost_zoo import convert_int8
    from tfnas.testing.cost_zoo import settle_batchnorm
    from tfnas.testing.cost_zoo import tflm_arena
    from tfnas.testing.cost_zoo import trained_like
    from tfnas.testing.tflite_ops import op_names
    from tfnas.testing.tflite_ops import run_tflm_subprocess

    space = MobileNetSpace(**PHONE_RANGES).configure((32, 32, 3), 4, "classification")
    values = {"width_multiplier": 0.5, "stem_filters": 16, "last_filters": 576, "head_units": 1024,
              **_stages((1, 16, 3, 1, 2, True, "relu"), (2, 24, 5, 4, 2, True, "hard_swish"))}  # fmt: skip
    keras.utils.set_random_seed(0)
    model = settle_batchnorm(trained_like(_build(space, values), 0), 0)
    blob = convert_int8(model)
    predicted = sorted(op.kind for op in lower(flatten_model(model)).ops)
    assert predicted == sorted(op_names(blob))
    assert {"HARD_SWISH", "MEAN", "MUL", "LOGISTIC"} <= set(predicted)
    report = profile(model)
    assert abs(report.tflite_bytes - len(blob)) <= 0.05 * len(blob), (report.tflite_bytes, len(blob))
    real = tflm_arena(blob)
    assert abs(report.arena_bytes - real["total"]) <= 0.10 * real["total"], (report.arena_bytes, real)
    x = np.random.default_rng(0).integers(-128, 127, (2, 32, 32, 3)).astype(np.int8)
    assert run_tflm_subprocess(blob, x, arena_size=1024 * 1024).shape[0] == 2
