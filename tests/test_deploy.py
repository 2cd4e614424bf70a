"""From a search to int8 files on both runtimes: `SearchResult`'s compress / export / verify / deploy_front."""

from __future__ import annotations

import os

import pytest
import yaml

import tfnas
from tfnas.errors import TfnasInputError


@pytest.mark.slow
def test_search_to_deployed_front(digits, tmp_path):
    (x, y), (x_test, y_test) = digits
    result = tfnas.search(x, y, constraints={"max_macs": 20_000}, max_trials=3, epochs=4, directory=str(tmp_path),
                          project_name="deploy", seed=0, verbose=0)
    deployed = result.deploy_front(x, y, x_test, y_test, top=2, compress_kwargs={"prune": 0.5, "qat": True, "epochs": 1})
    assert 1 <= len(deployed) <= 2 and any(d.on_front for d in deployed)
    for d in deployed:
        assert os.path.exists(d.path) and d.path.startswith(str(tmp_path))
        assert d.macs <= 20_000 and d.micro_value is not None and d.arena_total_bytes > d.arena_head_bytes
        assert d.arena_head_bytes == d.predicted_peak_ram_bytes
    assert [d.macs for d in deployed] == sorted(d.macs for d in deployed)
    yaml.safe_dump(result.to_dict())

    teacher = result.candidate("most_accurate")
    compressed = result.compress(x, y, candidate=result.pareto[0].trial_id, distill_from="most_accurate", epochs=1)
    assert compressed.stages[-1].stage == "distill" and teacher.trial_id in [t.trial_id for t in result.pareto]
    report = result.export(str(tmp_path / "best.tflite"), representative_data=x[:100], c_array=True)
    checked = result.verify(report.path, x_test, y_test)
    assert checked.float_value is not None and checked.micro_value is not None
    with pytest.raises(TfnasInputError, match="No completed candidate 'nope'"):
        result.candidate("nope")


def test_deploy_candidate_compares_the_file_with_its_fine_tuned_float_twin(digits, digits_model, tmp_path):
    from types import SimpleNamespace

    from tfnas.deploy import deploy_candidate
    from tfnas.deploy import read_deployed
    from tfnas.deploy import write_deployed
    from tfnas.task import Task

    (x, y), (x_test, y_test) = digits
    candidate = SimpleNamespace(trial_id="7", metrics={"macs": 1234.0}, model=lambda: digits_model)
    done = deploy_candidate(
        candidate, str(tmp_path / "c.tflite"), x, y, x_test, y_test,
        compress_kwargs={"prune": 0.5, "qat": True, "epochs": 1}, latency_runs=2,
    )
    fine_tuned = Task("classification").quality(done.compressed.keras_model, x_test, y_test)
    assert done.record.float_value == pytest.approx(fine_tuned)  # not the search model's figure before compression
    assert done.record.trial_id == "7" and done.record.macs == 1234.0 and done.record.micro_value is not None
    write_deployed(str(tmp_path), [done.record])
    assert read_deployed(str(tmp_path)) == [done.record]


def test_deploy_never_fine_tunes_or_chooses_on_the_test_split(digits, digits_model, tmp_path, monkeypatch):
    """Compression decides recovery and `max_drop` steps on validation data: deploy must not hand it the test split."""
    from types import SimpleNamespace

    import tfnas.deploy

    (x, y), (x_test, y_test) = digits
    seen = {}

    def spy(model, x_fit, y_fit, **kwargs):
        seen.update(kwargs, n=len(x_fit))
        raise RuntimeError("stop here")

    monkeypatch.setattr(tfnas.deploy, "compress", spy)
    candidate = SimpleNamespace(trial_id="1", metrics={}, model=lambda: digits_model)
    with pytest.raises(RuntimeError, match="stop here"):
        tfnas.deploy.deploy_candidate(candidate, str(tmp_path / "c.tflite"), x, y, x_test, y_test,
                                      compress_kwargs={"prune": 0.5, "max_drop": 0.01})
    assert "validation_data" not in seen and seen["n"] == len(x) and seen["max_drop"] == 0.01
