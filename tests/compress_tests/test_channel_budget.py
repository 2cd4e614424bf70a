"""Compress to a budget: shares that meet a cost target by the cost model, uniform or by measured sensitivity."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import tfnas
from tfnas.compress.channel_budget import SPREAD
from tfnas.compress.channel_budget import Pruning
from tfnas.compress.channel_budget import keep_for_target
from tfnas.compress.channel_budget import sensitivity
from tfnas.compress.channel_budget import shares_for_target
from tfnas.compress.runner import FineTuning
from tfnas.constraints import Constraints
from tfnas.cost import profile
from tfnas.errors import TfnasInputError
from tfnas.task import Task


def _two_branch_model() -> keras.Model:
    """Two parallel groups of equal cost; the head reads only 2 of group "dead"'s 8 channels."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    stem = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="stem")(inputs)
    live = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="live")(stem)
    dead = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="dead")(stem)
    merged = keras.layers.Concatenate()([live, dead])
    flat = keras.layers.Flatten()(merged)
    model = keras.Model(inputs, keras.layers.Dense(3, name="head")(flat))
    kernel, bias = model.get_layer("head").get_weights()
    kernel[np.arange(len(kernel)) % 16 >= 10] = 0.0  # "dead"'s channels 2..7 reach nothing ...
    model.get_layer("head").set_weights([kernel, bias])
    kernel, bias = model.get_layer("dead").get_weights()
    kernel[..., 2:] *= 0.1  # ... and have the smallest filters, so they go first
    model.get_layer("dead").set_weights([kernel, bias])
    return model


def _data(model: keras.Model) -> tuple[np.ndarray, np.ndarray]:
    """Samples labelled by the model itself, so its accuracy is 100% and every cut shows."""
    x = np.random.default_rng(1).standard_normal((128, 8, 8, 1)).astype(np.float32)
    return x, np.asarray(model(x)).argmax(axis=1)


def test_sensitivity_gives_up_the_channels_that_hurt_least():
    model = _two_branch_model()
    pruning = Pruning(keep=["stem", "head"], data=_data(model), task=Task.resolve("classification"))
    curves = sensitivity(model, ["live", "dead"], pruning)
    # 1e-3 lies between no sample changed (+ the tie slope) and one of 128 changed: with set_random_seed(0-9) in
    # `_two_branch_model`, "dead" at 3/4 cost 7.5e-5 (the slope alone) every time, "live" at 1/4 0.0078-0.281
    assert (
        curves["dead"][1][3] < 1e-3 < curves["live"][1][1]
    )  # 3/4 of "dead" costs nothing (but the tie slope), 1/4 of "live" does
    target = Constraints.from_any({"max_macs": int(profile(model).macs * 0.7)})
    shares = shares_for_target(model, target, pruning, "sensitivity")
    assert shares["dead"] >= 0.7 and shares.get("live", 0.0) < shares["dead"]
    assert not target.violations(profile(pruning.prune(model, shares)).to_dict())
    uniform = shares_for_target(model, target, pruning, "uniform")
    assert uniform["live"] == uniform["dead"] and not target.violations(profile(pruning.prune(model, uniform)).to_dict())


def _residual_model() -> keras.Model:
    """Every block adds onto the stem's channels: with the stem kept, no conv but the middle ones can shrink."""
    inputs = keras.Input((16, 2))
    stem = keras.layers.Conv1D(16, 3, padding="same", name="stem")(inputs)
    x = stem
    for i in range(2):
        y = keras.layers.Conv1D(16, 3, padding="same", activation="relu", name=f"b{i}_expand")(x)
        y = keras.layers.Conv1D(16, 1, name=f"b{i}_project")(y)
        x = keras.layers.Add()([x, y])
    pooled = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(pooled))


def test_a_target_out_of_reach_with_the_stem_kept_prunes_the_stem_with_a_note():
    model = _residual_model()
    target = Constraints.from_any({"max_macs": 3000})  # the stem alone makes 1,536 of 3,632 MACs left at most
    keep, note = keep_for_target(model, target, Pruning())
    assert keep == ["head"] and "'stem' was pruned too" in note
    shares = shares_for_target(model, target, Pruning(keep=keep))
    assert "stem" in shares and not target.violations(profile(Pruning(keep=keep).prune(model, shares)).to_dict())
    with pytest.raises(TfnasInputError, match="cannot meet target"):  # the user's own keep is respected
        shares_for_target(model, target, Pruning(keep=["stem", "head"]))
    assert keep_for_target(model, target, Pruning(keep=["stem", "head"])) == (["stem", "head"], None)


def test_a_target_that_keeping_the_stem_concentrates_on_few_layers_prunes_the_stem():
    model = _residual_model()
    total = profile(model).macs
    pruning = Pruning()
    # a mild target, reachable with the stem kept, but only by cutting the middle convs much harder than all together
    mild = Constraints.from_any({"max_macs": int(0.8 * total)})
    kept = shares_for_target(model, mild, Pruning(keep=None))
    spread = shares_for_target(model, mild, Pruning(keep=["head"]))
    assert max(kept.values()) > SPREAD * max(spread.values())
    keep, note = keep_for_target(model, mild, pruning)
    assert keep == ["head"] and "would remove" in note and "'stem' was pruned too" in note
    # where keeping the stem spreads the cut about as well, the first layer stays whole (the default)
    plain = _two_branch_model()
    target = Constraints.from_any({"max_macs": int(0.8 * profile(plain).macs)})
    assert keep_for_target(plain, target, pruning) == (None, None)


def test_compress_by_sensitivity_meets_the_target_and_reports_each_step(digits, digits_model, tmp_path):
    (x, y), (x_test, y_test) = digits
    target = int(profile(digits_model).macs * 0.5)
    result = tfnas.compress(digits_model, x, y, target={"max_macs": target}, channel_allocation="sensitivity",
                            channel_criterion="taylor", epochs=1, validation_data=(x_test, y_test))  # fmt: skip
    assert profile(result.keras_model).macs <= target == result.settings["target"]["max_macs"]
    last = result.stages[-1]
    assert last.macs == profile(result.keras_model).macs and last.params == result.keras_model.count_params()
    assert last.params_rate == pytest.approx(1 - last.params / result.stages[0].params)
    assert 0.0 < last.value_before_tuning <= 1.0 and result.settings["channel_allocation"] == "sensitivity"


@pytest.mark.parametrize(
    "kwargs,match",
    [({"channel_allocation": "greedy"}, "channel_allocation='greedy' must be one of"),
     ({"channel_criterion": "entropy"}, "channel_criterion='entropy' must be one of"),
     ({"target": {"max_maccs": 1000}}, "Unknown constraint 'max_maccs'. Did you mean 'max_macs'"),
     ({"target": {"max_macs": -5}}, "must be a positive number"),
     ({"target": {}}, "target must name at least one limit"),
     ({"target": None, "channels": 1.5}, r"share of filters to remove in \(0, 1\)")],
)  # fmt: skip
def test_bad_budget_arguments_fail_before_training(digits, digits_model, kwargs, match, monkeypatch):
    (x, y), _ = digits
    fits = []
    monkeypatch.setattr(FineTuning, "fit", lambda *args: fits.append(args))
    kwargs = {"target": {"max_macs": 1000}, **kwargs}
    with pytest.raises(TfnasInputError, match=match):
        tfnas.compress(digits_model, x, y, epochs=1, **kwargs)
    assert not fits
