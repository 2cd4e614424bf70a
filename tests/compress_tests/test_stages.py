"""The stage contract: one declared order, every check before any training, custom stages run."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest

import tfnas
from tfnas.compress.plan import ORDER
from tfnas.compress.plan import run_list
from tfnas.compress.plan import stages_from_kwargs
from tfnas.compress.runner import FineTuning
from tfnas.compress.runner import Runner
from tfnas.compress.stage import Stage
from tfnas.compress.stage import StageContext
from tfnas.errors import TfnasInputError
from tfnas.task import Task


class Stop(Exception):
    """Raised by a spy to stop `compress` before the runner trains."""


EVERYTHING = {"lowrank": 8, "prune": 0.5, "structure": None, "cluster": 8, "distill_from": None, "qat": True, "keep": None}


def build_stages(arguments):
    """The steps the runner gets for these keyword arguments."""
    return run_list(stages_from_kwargs(**arguments))


def test_stages_follow_the_declared_order_whatever_the_argument_order():
    declared = [cls.name for cls in ORDER]
    assert declared == ["lowrank", "channels", "prune", "cluster", "distill", "qat"]
    for items in itertools.permutations(EVERYTHING.items()):
        assert [stage.name for stage in build_stages(dict(items))] == ["lowrank", "prune", "cluster", "qat"]
    steps = build_stages({**EVERYTHING, "channels": 0.5, "channel_steps": 3})
    assert [stage.name for stage in steps] == [
        "lowrank",
        "channels 1/3",
        "channels 2/3",
        "channels 3/3",
        "prune",
        "cluster",
        "qat",
    ]


@pytest.mark.parametrize(
    "kwargs, names",
    [
        ({"distill_from": "teacher"}, ["distill"]),
        ({"distill_from": "teacher", "qat": True}, ["qat"]),
        ({"distill_from": "teacher", "cluster": 4, "structure": "2:4"}, ["prune", "cluster", "distill"]),
        ({"qat": True, "cluster": 4}, ["cluster", "qat"]),
    ],
)
def test_distillation_is_a_stage_only_without_qat(kwargs, names):
    teacher = {"distill_from": keras.Sequential()} if "distill_from" in kwargs else {}
    arguments = {key: None for key in EVERYTHING} | {"qat": False} | kwargs | teacher
    assert [stage.name for stage in build_stages(arguments)] == names


def test_compress_runs_the_stages_in_the_declared_order(digits, digits_model, monkeypatch):
    (x, y), _ = digits
    seen = []

    def spy(self, model, stages, context):
        seen.append([stage.name for stage in stages])
        raise Stop  # before any training

    monkeypatch.setattr(Runner, "run", spy)
    for kwargs in ({"qat": True, "cluster": 8, "prune": 0.5}, {"prune": 0.5, "qat": True, "cluster": 8}):
        with pytest.raises(Stop):
            tfnas.compress(digits_model, x, y, **kwargs)
    assert seen == [["prune", "cluster", "qat"]] * 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"prune": 0.5, "cluster": 1}, "number of clusters >= 2"),
        ({"prune": 0.5, "cluster": True, "qat": True}, "number of clusters >= 2"),
        ({"structure": "2:4", "cluster": 0}, "number of clusters >= 2"),
    ],
)
def test_every_stage_is_checked_before_any_training(digits, digits_model, monkeypatch, kwargs, message):
    (x, y), _ = digits
    fits = []
    monkeypatch.setattr(FineTuning, "fit", lambda self, model, callbacks: fits.append(model) or 0.0)
    with pytest.raises(TfnasInputError, match=message):
        tfnas.compress(digits_model, x, y, **kwargs)
    assert not fits, "a stage was fine-tuned before every stage was checked"


class ZeroHead(Stage):
    """A custom stage: zeros and freezes the head's smallest weights; counts its callback's epochs."""

    name = "zero_head"

    def __init__(self) -> None:
        self.epochs = []
        self.stripped = False

    def apply(self, model, context):
        kernel, bias = model.get_layer("head").get_weights()
        kernel[np.abs(kernel) < np.median(np.abs(kernel))] = 0.0
        model.get_layer("head").set_weights([kernel, bias])
        model.get_layer("head").trainable = False
        context.skipped[self.name] = {"hidden": "not the head"}
        context.changed[self.name] = ["head"]
        return model

    def callbacks(self):
        import tf_keras

        return [tf_keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: self.epochs.append(epoch))]

    def strip(self, model, context):
        self.stripped = True
        return model


def test_a_custom_stage_runs_through_the_runner():
    import tf_keras

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(keras.layers.Dense(8, name="hidden")(inputs)))
    loss = tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    stage = ZeroHead()
    context = StageContext(x, y, Task("classification"), fit_steps=2, architecture=model)
    working, reports = Runner(FineTuning(x, y, loss, 1e-3, epochs=2, batch_size=32)).run(model, [stage], context)
    assert isinstance(working, tf_keras.Model) and stage.stripped and stage.epochs == [0, 1]
    assert [report.stage for report in reports] == ["float", "zero_head"]
    assert reports[1].nonzero_params < reports[0].nonzero_params and reports[1].compression_rate > 0
    assert context.done == ["zero_head"] and context.skipped == {"zero_head": {"hidden": "not the head"}}
    assert context.layers_changed() == {"head"}


def test_a_stage_must_say_how_it_changes_the_model():
    class Nothing(Stage):
        name = "nothing"

    with pytest.raises(TypeError, match="apply"):
        Nothing()
