"""Fine-tuning to recovery (`epochs=None`), distillation from the original, and the `max_drop` accuracy floor."""

from __future__ import annotations

import types

import keras
import numpy as np
import pytest

import tfnas
from tfnas import _compat
from tfnas.compress import Stage
from tfnas.compress.floor import Rung
from tfnas.compress.floor import between
from tfnas.compress.floor import choose
from tfnas.compress.floor import target_steps
from tfnas.compress.recovery import CAP_PER_CUT
from tfnas.compress.recovery import MIN_CAP
from tfnas.compress.recovery import RAMP_EPOCHS
from tfnas.compress.recovery import Recovery
from tfnas.compress.recovery import stopper
from tfnas.compress.result import StageReport
from tfnas.compress.runner import FineTuning
from tfnas.cost import profile
from tfnas.errors import TfnasInputError
from tfnas.task import Task
from tfnas.testing.tiny import tiny_data
from tfnas.testing.tiny import tiny_model


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"prune": 0.5, "max_drop": 1.0}, r"max_drop must lie in \[0, 1\).*Received: max_drop=1\.0"),
        ({"prune": 0.5, "max_drop": -0.01}, r"Received: max_drop=-0\.01"),
        ({"prune": [0.7, 0.5], "max_drop": 0.01}, r"strictly increasing.*Received: prune=\[0\.7, 0\.5\]"),
        ({"prune": [0.5, 0.5], "max_drop": 0.01}, r"strictly increasing"),
        ({"channels": [], "max_drop": 0.01}, r"Received: channels=\[\]"),
        ({"prune": [0.5, 0.7]}, r"pass max_drop= as well"),
        ({"prune": [0.5, 0.7], "channels": [0.2, 0.4], "max_drop": 0.01}, "Pass one list of strengths"),
        ({"prune": [0.5, 1.5], "max_drop": 0.01}, r"Received: sparsity=1\.5"),
        ({"prune": 0.5, "validation_split": None}, r"epochs=None .* no validation data"),
        ({"prune": 0.5, "validation_split": 0}, r"pass validation_data=\(x_val, y_val\) or validation_split"),
        ({"prune": 0.5, "tolerance": 1.0}, r"Received: tolerance=1\.0"),
        ({"prune": 0.5, "patience": 0}, r"Received: patience=0"),
    ],
)
def test_bad_floor_and_recovery_input_fails_before_any_fine_tuning(kwargs, match, monkeypatch):
    fits = []
    monkeypatch.setattr(FineTuning, "fit", lambda self, model, callbacks, epochs=None: fits.append(model) or 0.0)
    x, y = tiny_data()
    with pytest.raises(TfnasInputError, match=match):
        tfnas.compress(tiny_model(), x, y, **kwargs)
    assert not fits


def _callback(baseline: float, baseline_loss: float, cut: float = 0.0, patience: int = 3):
    """The stopper on a tiny tf_keras model whose weights do not change between epochs."""
    tfk = _compat.tf_keras()
    model = tfk.Sequential([tfk.Input((6,)), tfk.layers.Dense(2)])
    x, y = tiny_data()
    stop = stopper(Recovery(baseline, baseline_loss, patience=patience), cut, x, y, Task.resolve("classification"))
    stop.set_model(model)
    return stop, model


def _epochs_until_stop(stop, model, limit: int = 100) -> int:
    for epoch in range(limit):
        stop.on_epoch_end(epoch)
        if model.stop_training:
            break
    stop.on_train_end()
    return stop.epochs


def test_a_stage_stops_as_soon_as_it_recovers_but_not_before_the_ramp():
    stop, model = _callback(baseline=0.0, baseline_loss=1e9)  # anything is as good as this original
    assert _epochs_until_stop(stop, model) == RAMP_EPOCHS and stop.reason == "recovered"


def test_a_stage_that_does_not_improve_stops_after_patience_epochs():
    stop, model = _callback(baseline=1.0, baseline_loss=0.0, cut=1.0, patience=2)  # never recovers; loss never improves
    assert _epochs_until_stop(stop, model) == RAMP_EPOCHS + 2 and stop.reason == "plateau"


def test_the_cap_grows_with_the_cut():
    recovery = Recovery(1.0, 0.0)
    assert recovery.cap(0.0) == MIN_CAP < recovery.cap(0.5) == MIN_CAP + CAP_PER_CUT // 2 < recovery.cap(0.9)
    stop, model = _callback(baseline=1.0, baseline_loss=0.0, cut=0.0, patience=100)
    assert _epochs_until_stop(stop, model) == MIN_CAP and stop.reason == "cap"


def test_epochs_none_reports_the_epochs_and_why_each_stage_stopped():
    x, y = tiny_data()
    result = tfnas.compress(tiny_model(), x, y, prune=0.5, patience=1, batch_size=16)
    prune = result.stages[1]
    assert prune.stage == "prune" and prune.stop_reason in ("recovered", "plateau", "cap")
    assert RAMP_EPOCHS <= prune.epochs <= Recovery(0.0, 0.0).cap(0.5)
    assert result.settings["epochs"] is None and result.stages[0].stop_reason == ""
    fixed = tfnas.compress(tiny_model(), x, y, prune=0.5, epochs=1, batch_size=16)
    assert (fixed.stages[1].epochs, fixed.stages[1].stop_reason) == (1, "epochs")


@pytest.mark.parametrize("distill, width", [(True, 3), (False, 1)])
def test_distill_fine_tunes_on_the_original_models_outputs(distill, width, monkeypatch):
    seen = []
    monkeypatch.setattr(FineTuning, "fit", lambda self, model, callbacks, epochs=None: seen.append(self.targets) or 0.0)
    x, y = tiny_data()
    result = tfnas.compress(tiny_model(), x, y, prune=0.5, distill=distill, epochs=1)
    targets = np.asarray(seen[0])
    assert (targets.shape[1] if targets.ndim == 2 else 1) == width  # label, then the original's two probabilities
    if distill:
        assert np.allclose(targets[:, 1:].sum(axis=1), 1.0, atol=1e-5)
    assert result.settings["distill_original"] is distill


def _fake_result(value: float, bytes_: int, base: float = 0.9) -> types.SimpleNamespace:
    def report(stage, v):
        return StageReport(stage, "accuracy", v, 10, 10, 10, tflite_bytes=bytes_)

    stages = [report("float", base), report("prune", value)]
    return types.SimpleNamespace(stages=stages, final=stages[-1], notes=[], tried=[], settings={"qat": True},
                                 calibration_data=np.zeros((1, 6), np.float32), task="classification")


def test_the_floor_keeps_the_strongest_step_within_max_drop_and_stops_at_the_first_beyond():
    values = {0.5: 0.895, 0.7: 0.892, 0.8: 0.70, 0.9: 0.899}  # 0.9 would pass, but 0.8 broke the floor first
    ran = []

    def run(stages):
        ran.append(stages[0])
        return _fake_result(values[stages[0]], int(1000 * (1 - stages[0])))

    chosen = choose("original", [Rung(s, [s]) for s in values], run, 0.01, Task.resolve("classification"))
    assert ran == [0.5, 0.7, 0.8] and chosen.final.value == 0.892
    assert [(t.strength, t.within) for t in chosen.tried] == [(0.5, True), (0.7, True), (0.8, False)]
    assert chosen.tried[2].drop == pytest.approx(0.2) and "kept step 0.7" in chosen.notes[-1]


def test_after_the_first_step_beyond_the_floor_the_floor_bisects_towards_it():
    ran = []

    def run(stages):
        ran.append(stages[0])
        return _fake_result(0.895 if stages[0] <= 0.7 else 0.70, int(1000 * (1 - stages[0])))

    rungs = [Rung(s, [s]) for s in (0.5, 0.8, 0.9)]
    chosen = choose("original", rungs, run, 0.01, Task.resolve("classification"), make=lambda s: Rung(s, [s]))
    assert ran == pytest.approx([0.5, 0.8, 0.65, 0.725])  # 0.65 held, 0.725 broke: 0.65 is kept, 0.9 never tried
    assert chosen.final.value == 0.895 and chosen.tried[2].within and not chosen.tried[3].within
    assert "kept step 0.65" in chosen.notes[-1]
    assert between({"max_macs": 400}, {"max_macs": 100}) == {"max_macs": 200} and between(0.5, 0.5) is None


class Destroy(Stage):
    """Zeroes every weight and freezes the model: no fine-tuning can bring the accuracy back."""

    name = "destroy"

    def apply(self, model, context):
        for layer in model.layers:
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
            layer.trainable = False
        return model


def test_when_even_the_mildest_step_breaks_the_floor_the_original_comes_back_with_a_note(tmp_path):
    x, y = tiny_data()
    model = tiny_model()
    model.fit(x, y, epochs=30, verbose=0)
    result = tfnas.compress(model, x, y, stages=[Destroy()], max_drop=0.01, epochs=1, batch_size=16)
    assert result.model is model and result.keras_model is model and not result.quantization_aware
    assert len(result.tried) == 1 and not result.tried[0].within and result.tried[0].drop > 0.01
    assert [s.stage for s in result.stages] == ["float"] and "original model is returned" in result.notes[0]
    assert tfnas.export(result, str(tmp_path / "m.tflite")).bytes > 0


def test_a_target_with_max_drop_is_tried_in_steps_from_the_models_cost():
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(8, 3)(keras.layers.Conv2D(16, 3)(inputs)))
    macs = profile(model).macs
    steps = target_steps(model, {"max_macs": macs // 8, "max_params": 10**9})
    assert [s["max_params"] for s in steps] == [10**9] * 3  # a limit the model meets stays as it is
    assert macs > steps[0]["max_macs"] > steps[1]["max_macs"] > steps[2]["max_macs"] == macs // 8
    assert steps[0]["max_macs"] == pytest.approx(macs / 2, rel=0.01)


def test_the_compression_section_takes_the_floor_and_recovery_keys():
    from tfnas.app.config import parse_config
    from tfnas.app.pipeline import build_compression

    section = {"prune": [0.5, 0.7], "qat": True, "max_drop": 0.01, "tolerance": 0.005, "patience": 2, "distill": True}
    kwargs = build_compression(parse_config({"data": "digits", "compression": section}).compression)
    assert "stages" not in kwargs and kwargs["prune"] == [0.5, 0.7] and kwargs["qat"] is True
    assert (kwargs["max_drop"], kwargs["tolerance"], kwargs["patience"], kwargs["distill"]) == (0.01, 0.005, 2, True)
    assert "epochs" not in kwargs  # compress's default: fine-tuning to recovery
    bad_sections = [({"prune": [0.5, 0.7]}, "pass max_drop= as well"), ({"prune": [0.5, 2.0], "max_drop": 0.01}, "sparsity=2")]
    for bad, match in bad_sections:
        with pytest.raises(TfnasInputError, match=match):
            build_compression(parse_config({"data": "digits", "compression": bad}).compression)


def test_fine_tuning_starts_from_the_peak_rate_a_schedule_trained_the_model_at_not_where_it_ended(monkeypatch):
    rates = []
    monkeypatch.setattr(FineTuning, "fit", lambda self, model, callbacks, epochs=None: rates.append(self.learning_rate) or 0.0)
    x, y = tiny_data()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    scheduled, capped = tiny_model(), tiny_model()
    scheduled.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, 4)), loss)
    scheduled.fit(x, y, epochs=4, batch_size=len(x), verbose=0)  # the schedule has decayed to 0
    assert float(np.asarray(scheduled.optimizer.learning_rate)) == pytest.approx(0.0, abs=1e-9)
    capped.compile(keras.optimizers.Adam(1.0), loss)
    for model in (scheduled, capped):
        tfnas.compress(model, x, y, prune=0.5, epochs=1)
    assert rates == pytest.approx([2e-3, 3e-3])
