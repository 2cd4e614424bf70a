"""The MobileNet-family supernet (`MobileNetSpace`, `DSCNN2DSpace`): extraction equals it, training, search."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest

import tfnas
from tfnas.cost import profile
from tfnas.demo import load_digits_images
from tfnas.errors import TfnasInputError
from tfnas.oneshot import extract
from tfnas.oneshot import largest
from tfnas.oneshot import smallest
from tfnas.oneshot import supernet_for
from tfnas.oneshot import train_supernet
from tfnas.oneshot.frame import frames
from tfnas.oneshot.frame import narrow
from tfnas.oneshot.masked import compilable
from tfnas.spaces import DSCNN2DSpace
from tfnas.spaces import MobileNetSpace
from tfnas.task import Task
from tfnas.testing.hps import random_hps
from tfnas.testing.supernets import perturbed_supernet

ATOL = 1e-5
# Every elastic range has two choices or more, in both spaces (DSCNN2DSpace's stem follows the input instead).
RANGES = {"head": ("gap", "flatten"), "num_stages": (1, 2, 3), "blocks": (1, 2, 3), "filters": (8, 16, 32),
          "stem_filters": (8, 16), "kernel_sizes": (3, 5), "expansions": (1, 2, 4), "strides": (2, 1),
          "skip": (True, False)}
SHAPES = {"mobilenet": (8, 8, 1), "dscnn2d": (49, 10, 1)}

SAME_SHAPE = {"stem_filters": 16, "stage1_filters": 16, "stage1_strides": 1, "stage1_blocks": 3}  # Adds apply

# One elastic dimension at a time; every other hp keeps its default (first choice).
CASES = {
    "stages-1": {"num_stages": 1},
    "stages-3": {"num_stages": 3},
    "blocks": {"num_stages": 2, "stage1_blocks": 3, "stage2_blocks": 2},
    "width-stem": {"stem_filters": 16, "stage1_blocks": 2},
    "width-stages": {"num_stages": 2, "stage1_filters": 32, "stage2_filters": 16, "stage2_blocks": 2},
    "kernel": {"num_stages": 2, "stage1_kernel": 5, "stage2_kernel": 3, "stage2_blocks": 2},
    "expansion-1-vs-4": {"num_stages": 2, "stage1_expansion": 1, "stage2_expansion": 4, "stage2_blocks": 2},
    "expansion-2-wide": {"stem_filters": 16, "stage1_expansion": 2, "stage1_filters": 32, "stage1_blocks": 3},
    "skip": {**SAME_SHAPE, "stage1_expansion": 2},
    "no-skip": {**SAME_SHAPE, "stage1_skip": False},
    "strides": {"num_stages": 3, "stage1_strides": 1, "stage2_strides": 2, "stage3_strides": 2, "stage3_blocks": 2},
    "flatten": {"head": "flatten", "num_stages": 2, "stage1_filters": 16, "stage2_strides": 1},
}


@pytest.fixture(scope="module", params=["mobilenet", "dscnn2d"])
def setup(request):
    """The space (regression: a linear head, so no softmax saturation hides a difference), its supernet, inputs."""
    space_type = MobileNetSpace if request.param == "mobilenet" else DSCNN2DSpace
    stem = {"stem_strides": (1, 2)} if request.param == "mobilenet" else {}
    space = space_type(**RANGES, **stem).configure(SHAPES[request.param], 3, "regression")
    x = np.random.default_rng(1).normal(size=(6, *space.input_shape)).astype("float32")
    return space, perturbed_supernet(space), x


def _signature(model: keras.Model) -> list:
    return [(type(layer).__name__, layer.name, [tuple(w.shape) for w in layer.weights]) for layer in model.layers]


def _check(space, supernet, x, values, signature: bool = False) -> keras.Model:
    model = extract(supernet, values)
    expected = np.asarray(supernet(x, values=values))
    assert np.abs(expected).max() < 1e3  # the comparison means something
    np.testing.assert_allclose(np.asarray(model(x, training=False)), expected, atol=ATOL)
    if signature:
        assert _signature(model) == _signature(space.build(supernet.resolve(values).hyperparameters()))
    return model


def _layers(model: keras.Model, suffix: str) -> int:
    return sum(layer.name.endswith(suffix) for layer in model.layers)


@pytest.mark.parametrize("case", list(CASES))
def test_extracted_outputs_equal_supernet(setup, case):
    space, supernet, x = setup
    values = CASES[case]
    model = _check(space, supernet, x, values, signature=case in ("stages-3", "expansion-1-vs-4", "flatten"))
    net = supernet.resolve(values)
    assert _layers(model, "_project") == len(net.blocks) == sum(
        values.get(f"stage{i}_blocks", 1) for i in range(1, values.get("num_stages", 1) + 1))
    assert _layers(model, "_expand") == sum(b.expansion > 1 for b in net.blocks)
    assert _layers(model, "_add") == sum(b.add for b in net.blocks)
    if case == "skip":  # stride 1 and equal widths: every block of the stage adds its shortcut
        assert _layers(model, "_add") == 3
    if case == "no-skip":
        assert _layers(model, "_add") == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_draws(setup, seed):
    space, supernet, x = setup
    _check(space, supernet, x, random_hps(space, seed).values, signature=True)


def test_largest_and_smallest(setup):
    space, supernet, x = setup
    for values in (largest(space), smallest(space)):
        _check(space, supernet, x, values)
    assert supernet.resolve(largest(space)).blocks[-1].filters == 32
    assert len(supernet.resolve(smallest(space)).blocks) == 1


def test_stride_switches_and_clamping():
    """MobileNet's stem and stage strides are switches; a stride on a 1-pixel axis is clamped as the space does."""
    space = MobileNetSpace(**RANGES, stem_strides=(1, 2)).configure((8, 8, 1), 3, "regression")
    supernet = perturbed_supernet(space)
    x = np.random.default_rng(2).normal(size=(4, 8, 8, 1)).astype("float32")
    values = {"stem_strides": 2, "num_stages": 3, "stage2_strides": 2, "stage3_strides": 2, "stage3_blocks": 2}
    _check(space, supernet, x, values, signature=True)
    net = supernet.resolve(values)
    assert net.stem_stride == (2, 2) and net.shape == (1, 1) and net.blocks[-2].stride == (1, 1)  # 4 -> 2 -> 1 -> 1


def test_default_dscnn2d_space_has_no_expand_layers():
    space = DSCNN2DSpace().configure((49, 10, 1), 4, "regression")
    supernet = perturbed_supernet(space)
    assert all(set(block.kinds) == {False} for stage in supernet.stages for block in stage)  # separable blocks only
    assert "stem_strides" not in supernet.active.values and not compilable(supernet)
    x = np.random.default_rng(3).normal(size=(4, 49, 10, 1)).astype("float32")
    for seed in (0, 1):
        _check(space, supernet, x, random_hps(space, seed).values, signature=True)
    with pytest.raises(TfnasInputError, match=r"no hyperparameter\(s\) \['stem_strides'\]"):
        supernet.resolve({"stem_strides": 2})


def test_frames_fix_the_stem_and_stage_strides():
    space = MobileNetSpace(**RANGES, stem_strides=(1, 2)).configure((8, 8, 1), 10, "classification")
    found = frames(space)
    assert found[0] == {"stem_strides": (1,), "strides": (1,)} and found[-1] == {"stem_strides": (2,), "strides": (2,)}
    assert len(found) == 4
    narrowed = narrow(space, found[-1])
    assert narrowed.ranges["strides"] == (2,) and narrowed.ranges["filters"] == RANGES["filters"]
    with pytest.raises(TfnasInputError, match="frame keys"):
        narrow(space, {"pooling": "max"})
    spectrogram = DSCNN2DSpace(strides=(1, 2)).configure((49, 10, 1), 12, "classification")
    assert frames(spectrogram) == [{"strides": (1,)}, {"strides": (2,)}]


@pytest.fixture(scope="module")
def digits():
    return load_digits_images()


def small_space() -> MobileNetSpace:
    return MobileNetSpace(stem_filters=(8, 16), stem_strides=(1,), num_stages=(1, 2), blocks=(1, 2),
                          filters=(8, 16), kernel_sizes=(3,), expansions=(1, 2), strides=(2,), learning_rate=(3e-3,))


def test_train_supernet_lowers_the_loss_and_the_largest_learns(digits):
    (x, y), (x_val, y_val) = digits
    space = small_space().configure((8, 8, 1), 10, "classification")
    supernet = supernet_for(space)
    history = train_supernet(supernet, x[:400], y[:400], epochs=3, batch_size=64, num_random=0, seed=0)
    losses = history.history["loss_largest"]
    assert losses[-1] < losses[0], losses
    accuracy = Task("classification").quality(extract(supernet, largest(space), x_calibration=x[:256]), x_val, y_val)
    # seeds 0-9 of the weights and `train_supernet` (0-4 also with oneDNN off, alike): 48.0-67.1% (mean 58.1, std 5.5 points:
    # mean - 3 std = 41.7%); seed 3 failed the 50% asserted before.
    assert accuracy > 0.4, accuracy  # chance is 0.1


def test_search_with_the_oneshot_oracle_meets_max_macs(digits, tmp_path):
    (x, y), _ = digits
    limit = 20_000
    result = tfnas.search(
        x[:300], y[:300], space=small_space(), oracle={"name": "oneshot", "supernet_epochs": 1, "num_ranked": 20,
                                                       "num_random": 0, "population_size": 5,
                                                       "frame": {"stem_strides": 1, "strides": 2}},
        constraints={"max_macs": limit}, max_trials=4, epochs=1, directory=str(tmp_path), project_name="p",
        seed=0, verbose=0,
    )
    assert result.oneshot["ranked"] == 20 and result.oneshot["ranked_feasible"] >= 1
    assert len(result.completed) == 2  # the supernet (1 epoch x 2 sub-networks) costs 2 of the 4 trials
    for trial in result.completed:
        assert trial.metrics["macs"] <= limit
        assert profile(keras.models.load_model(trial.model_path)).macs == trial.metrics["macs"]


def test_dnas_refuses_a_2d_space_before_any_training(digits, tmp_path):
    (x, y), _ = digits
    with pytest.raises(TfnasInputError, match="oracle 'dnas' needs the DS-CNN 1-D supernet"):
        tfnas.search(x[:200], y[:200], space=small_space(), oracle={"name": "dnas"}, max_trials=30, epochs=2,
                     directory=str(tmp_path), project_name="p", verbose=0)
    assert not os.path.exists(os.path.join(tmp_path, "p", "oneshot", "supernet"))


def test_frames_pin_the_phone_scale_ranges_the_supernet_lacks():
    from tfnas.oneshot.subnet import resolve
    from tfnas.spaces.scale import PHONE_RANGES

    space = MobileNetSpace(**PHONE_RANGES).configure((64, 64, 3), 10, "classification")
    with pytest.raises(TfnasInputError, match="narrow it to a frame"):
        resolve(space, {})
    frame = frames(space)[0]
    assert frame["squeeze_excite"] == (False,) and frame["activations"] == ("relu",) and frame["width_multiplier"] == (1.0,)
    narrowed = narrow(space, frame)
    subnet = resolve(narrowed, {"stage1_filters": 24, "num_stages": 3})
    model = narrowed.build(subnet.hyperparameters())
    assert not any("_se_" in layer.name or "hswish" in layer.name for layer in model.layers)
    with pytest.raises(TfnasInputError, match="search this space trial by trial"):
        frames(MobileNetSpace(**{**PHONE_RANGES, "squeeze_excite": (True,)}).configure((64, 64, 3), 10, "classification"))
