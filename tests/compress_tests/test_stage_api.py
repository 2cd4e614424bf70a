"""Stages as objects: `compress(model, x, y, stages=[Prune(0.5), QAT()])`, and the keyword form as sugar for it."""

from __future__ import annotations

import dataclasses
import inspect

import keras
import numpy as np
import pytest

import tfnas
from tfnas.compress import QAT
from tfnas.compress import Cluster
from tfnas.compress import Distill
from tfnas.compress import LowRank
from tfnas.compress import Prune
from tfnas.compress import PruneChannels
from tfnas.compress import stages_from_kwargs
from tfnas.compress.options import CompressOptions
from tfnas.compress.plan import KEYWORDS
from tfnas.compress.runner import FineTuning
from tfnas.errors import TfnasInputError
from tfnas.testing.tiny import tiny_data
from tfnas.testing.tiny import tiny_model


def described(stages):
    return [(type(stage), stage.get_config()) for stage in stages]


TEACHER = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2)])


@pytest.mark.parametrize(
    "kwargs, stages",
    [
        ({"prune": 0.5, "qat": True}, [Prune(0.5), QAT()]),
        ({"qat": True, "cluster": 8, "structure": "2:4", "keep": ["a"]}, [Prune(None, "2:4", ["a"]), Cluster(8, ["a"]), QAT()]),
        ({"lowrank": 0.25, "channels": 0.5, "channel_steps": 3, "channel_criterion": "l2"},
         [LowRank(0.25), PruneChannels(0.5, steps=3, criterion="l2")]),
        ({"target": {"max_macs": 800}, "channel_allocation": "sensitivity"},
         [PruneChannels(target={"max_macs": 800}, allocation="sensitivity")]),
        ({"distill_from": TEACHER, "temperature": 2.0, "distill_alpha": 0.5, "prune": {"hidden": 0.5}},
         [Prune({"hidden": 0.5}), Distill(TEACHER, 2.0, 0.5)]),
    ],
)  # fmt: skip
def test_the_keyword_form_builds_the_same_stage_list(kwargs, stages):
    assert described(stages_from_kwargs(**kwargs)) == described(stages)


def test_both_forms_compress_to_the_same_weights():
    x, y = tiny_data()
    runs = [
        tfnas.compress(tiny_model(), x, y, prune=0.5, epochs=2, seed=3),
        tfnas.compress(tiny_model(), x, y, stages=[Prune(0.5)], epochs=2, seed=3),
    ]
    assert [s.stage for s in runs[0].stages] == [s.stage for s in runs[1].stages] == ["float", "prune"]
    for a, b in zip(runs[0].keras_model.get_weights(), runs[1].keras_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert runs[0].settings == runs[1].settings and runs[1].settings["prune"] == 0.5
    assert runs[1].sparsity["hidden"] == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: Prune(1.5), r"Received: sparsity=1\.5"),
        (lambda: Prune({"hidden": 0.0}), r"prune\['hidden'\] must be a sparsity .* Received: sparsity=0\.0"),
        (lambda: Prune(), "Prune needs a sparsity"),
        (lambda: Prune(0.5, structure="3:4"), "structure='3:4' is not supported"),
        (lambda: Cluster(1), "Received: number_of_clusters=1"),
        (lambda: Cluster(True), "Received: number_of_clusters=True"),
        (lambda: LowRank(1.5), r"Received: rank=1\.5"),
        (lambda: PruneChannels(), "Received: share=None, target=None"),
        (lambda: PruneChannels(1.0), r"Received: share=1\.0"),
        (lambda: PruneChannels(0.5, steps=0), "Received: steps=0"),
        (lambda: PruneChannels(0.5, criterion="entropy"), "Received: criterion='entropy'"),
        (lambda: PruneChannels(target={"max_macz": 5}), "Did you mean 'max_macs'"),
        (lambda: Distill("teacher"), "You passed an object of type: str"),
        (lambda: Distill(TEACHER, temperature=0), "Received: temperature=0"),
        (lambda: Distill(TEACHER, alpha=2.0), r"Received: alpha=2\.0"),
    ],
)
def test_each_stage_checks_its_arguments_when_built(build, match):
    with pytest.raises(TfnasInputError, match=match):
        build()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"stages": [Prune(0.5)], "prune": 0.5}, r"not both. Received: stages=\[Prune\(sparsity=0\.5.*\)\] and prune=0\.5"),
        ({"stages": [QAT()], "keep": ["stem"], "temperature": 2.0}, r"and keep=\['stem'\], temperature=2\.0"),
        ({"stages": [QAT(), Prune(0.5)]}, "Prune must come before QAT"),
        ({"stages": [Prune(0.5), Prune(0.3)]}, "holds Prune twice"),
        ({"stages": [Prune(0.5), "qat"]}, r"Received: 'qat' in stages="),
        ({"stages": Prune(0.5)}, "stages must be a list"),
        ({"stages": []}, r"Nothing to do: pass stages=\[\.\.\.\]"),
        ({"stages": [Prune(0.5)], "epochs": 0}, "Received: epochs=0"),
    ],
)
def test_bad_stage_lists_fail_before_any_training(kwargs, match, monkeypatch):
    fits = []
    monkeypatch.setattr(FineTuning, "fit", lambda self, model, callbacks: fits.append(model) or 0.0)
    x, y = tiny_data()
    with pytest.raises(TfnasInputError, match=match):
        tfnas.compress(tiny_model(), x, y, **kwargs)
    assert not fits


def test_keyword_defaults_are_declared_once():
    """compress's signature is its data, `stages`, the shared options and the stage keywords, with the same defaults."""
    parameters = inspect.signature(tfnas.compress).parameters
    options = {field.name: field.default for field in dataclasses.fields(CompressOptions)}
    assert list(parameters)[:4] == ["model", "x", "y", "stages"]
    assert set(parameters) == {"model", "x", "y", "stages"} | set(options) | set(KEYWORDS)
    assert {name: parameters[name].default for name in [*options, *KEYWORDS]} == {**options, **KEYWORDS}


def test_the_stages_are_reachable_from_the_function_and_the_package():
    import tfnas.compress as package

    assert callable(tfnas.compress) and tfnas.compress.Prune is Prune is package.Prune
    assert {tfnas.compress.QAT, tfnas.compress.Cluster, tfnas.compress.LowRank} == {QAT, Cluster, LowRank}
    assert tfnas.compress.PruneChannels is PruneChannels and tfnas.compress.Distill is Distill
    assert repr(PruneChannels(target={"max_macs": 800}, steps=1)).startswith("PruneChannels(share=None, target={'max_macs': 800}")
