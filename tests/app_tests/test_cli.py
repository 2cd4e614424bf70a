"""The `tfnas` console script: search from a config, resume, report, export, verify, demo, help, bad input."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import pytest
import yaml

from tfnas.app.cli import main
from tfnas.testing.processes import child_env

COMMANDS = ("search", "export", "verify", "report", "demo", "launch")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-trial, 1-epoch digits search run by `tfnas search`, and its config path."""
    folder = tmp_path_factory.mktemp("cli")
    config = folder / "tiny.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data": {"source": "digits"},
                "space": {"name": "mobilenet", "kernel_sizes": [3], "num_stages": [1], "expansions": [1, 2]},
                "constraints": {"max_macs": 20000},
                "oracle": "random",
                "search": {
                    "max_trials": 2,
                    "epochs": 1,
                    "seed": 0,
                    "directory": str(folder / "runs"),
                    "project_name": "tiny",
                    "verbose": 0,
                },
            }
        )
    )
    assert main(["search", str(config)]) == 0
    return str(config), str(folder / "runs" / "tiny")


def _trial_files(run_dir: str) -> dict[str, float]:
    return {path: os.path.getmtime(path) for path in glob.glob(os.path.join(run_dir, "trial_*", "model.keras"))}


def test_search_writes_result_and_plots_and_resumes_without_training(tiny_run):
    config, run_dir = tiny_run
    with open(os.path.join(run_dir, "result.yaml")) as f:
        result = yaml.safe_load(f)
    assert len(result["trials"]) == 2 and result["constraints"] == {"max_macs": 20000}
    assert all(t["metrics"]["macs"] <= 20000 for t in result["trials"])
    assert os.path.getsize(os.path.join(run_dir, "front.png")) > 0 and os.path.getsize(os.path.join(run_dir, "history.png")) > 0
    before = _trial_files(run_dir)
    assert len(before) == 2
    assert main(["search", config]) == 0
    assert _trial_files(run_dir) == before  # same trials, none trained again


def test_report_prints_the_front_and_writes_plots(tiny_run, capsys):
    _, run_dir = tiny_run
    os.remove(os.path.join(run_dir, "front.png"))
    assert main(["report", run_dir]) == 0
    out = capsys.readouterr().out
    assert "Search: 2 trained" in out and "Pareto front" in out
    assert os.path.exists(os.path.join(run_dir, "front.png"))


def test_report_keeps_the_deployed_int8_point(tiny_run, tmp_path, capsys, monkeypatch):
    import tfnas.plot
    from tfnas.deploy import DeployedCandidate
    from tfnas.deploy import write_deployed

    _, run_dir = tiny_run
    record = DeployedCandidate(
        trial_id="0", macs=1000.0, float_value=0.9, compressed_value=None, litert_value=0.91, micro_value=0.91, bytes=9000,
        gzip_bytes=7000, weight_zeros=0.0, arena_total_bytes=5000, arena_head_bytes=4000, predicted_peak_ram_bytes=4000,
        path=str(tmp_path / "m.tflite"),
    )
    write_deployed(run_dir, [record])
    drawn = []
    plot_front = tfnas.plot.plot_front
    monkeypatch.setattr(
        tfnas.plot, "plot_front", lambda result, **kw: drawn.append(list(result.deployed)) or plot_front(result, **kw)
    )
    try:
        assert main(["report", run_dir]) == 0
    finally:
        os.remove(os.path.join(run_dir, "deployed.yaml"))
    assert drawn == [[record]]  # front.png redrawn with the int8 point
    with open(os.path.join(run_dir, "result.yaml")) as f:
        assert yaml.safe_load(f)["deployed"][0]["micro_value"] == 0.91


def test_export_and_verify_a_trial(tiny_run, tmp_path, capsys):
    config, run_dir = tiny_run
    trial = yaml.safe_load(open(os.path.join(run_dir, "result.yaml")))["best"]
    output = str(tmp_path / "m.tflite")
    assert main(["export", run_dir, "--trial", trial, "--output", output, "--c-array", "--data", config]) == 0
    assert (
        os.path.getsize(output) > 0 and os.path.exists(str(tmp_path / "m_data.c")) and os.path.exists(str(tmp_path / "m_data.h"))
    )
    capsys.readouterr()
    assert main(["verify", output, "--data", "digits", "--run-dir", run_dir, "--trial", trial]) == 0
    out = capsys.readouterr().out
    assert "accuracy on 450 samples: float 0." in out and "TFLite Micro 0." in out and "TFLite Micro arena" in out


def test_export_int8_without_data_and_unknown_trial_exit_2(tiny_run, capsys):
    _, run_dir = tiny_run
    trial = yaml.safe_load(open(os.path.join(run_dir, "result.yaml")))["best"]
    assert main(["export", run_dir, "--trial", trial]) == 2
    assert capsys.readouterr().err.startswith("tfnas export: int8 needs representative inputs: pass --data")
    assert main(["export", run_dir, "--trial", "99", "--data", "digits"]) == 2
    assert "No completed candidate '99'" in capsys.readouterr().err
    assert main(["report", run_dir + "_missing"]) == 2
    assert capsys.readouterr().err.startswith("tfnas report: No search in")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: tfnas " + command in capsys.readouterr().out


def test_bad_config_exits_2_with_the_message(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {source: digits}\nsearch: {max_trails: 3}\n")
    assert main(["search", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "tfnas search: Unknown key 'search.max_trails' in bad.yaml; did you mean 'search.max_trials'?"
    assert main(["verify", str(tmp_path / "none.tflite"), "--data", str(tmp_path / "none.npz")]) == 2
    assert capsys.readouterr().err.startswith("tfnas verify: No data at")


def test_console_script_gives_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {source: digits}\nsearch:\n  epochs: [1\n")
    run = subprocess.run(
        [sys.executable, "-m", "tfnas", "search", str(bad)], capture_output=True, text=True, env=child_env(), timeout=300
    )
    assert run.returncode == 2
    assert "tfnas search: YAML syntax error in" in run.stderr and "line 4" in run.stderr
    assert "Traceback" not in run.stderr


def test_misspelt_key_is_refused_in_one_line_before_tensorflow_loads(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {source: digits}\nsearch: {max_trails: 3}\n")
    code = (
        f"import sys; from tfnas.app.cli import main; rc = main(['search', {str(bad)!r}]); print(rc, 'tensorflow' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), timeout=300)
    assert run.stdout.split() == ["2", "False"]
    assert run.stderr == "tfnas search: Unknown key 'search.max_trails' in bad.yaml; did you mean 'search.max_trials'?\n"


@pytest.mark.slow
def test_demo_prints_only_its_own_lines(tmp_path):
    """`tfnas demo` as a user runs it: nothing on stderr, and no TensorFlow, absl or Keras line on stdout."""
    run = subprocess.run(
        [sys.executable, "-m", "tfnas", "demo", "--output", str(tmp_path / "demo"), "--max-trials", "1", "--epochs", "1",
         "--compress-epochs", "1"],
        capture_output=True, text=True, env=child_env(), timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stderr == "", run.stderr[-3000:]
    assert not [line for line in run.stdout.splitlines() if line.startswith(("I0000", "W0000", "E0000", "WARNING:", "Epoch "))]


@pytest.mark.slow
def test_demo_end_to_end(tmp_path, capsys, monkeypatch):
    import tfnas.plot

    drawn = []  # the int8 points each front plot drew
    plot_front = tfnas.plot.plot_front
    monkeypatch.setattr(
        tfnas.plot,
        "plot_front",
        lambda result, **kw: drawn.append(list(getattr(result, "deployed", []))) or plot_front(result, **kw),
    )
    output = str(tmp_path / "demo")
    args = ["demo", "--output", output, "--max-trials", "2", "--epochs", "2", "--final-epochs", "2", "--compress-epochs", "1"]
    assert main(args) == 0
    for name in ("digits.tflite", "digits_data.c", "digits_data.h", "front.png", "history.png", "report.yaml"):
        assert os.path.getsize(os.path.join(output, name)) > 0, name
    report = yaml.safe_load(open(os.path.join(output, "report.yaml")))
    # these arguments with search and final-training seeds 0-9 (the demo fixes the latter at 0): TFLite Micro
    # 93.11-97.33% (mean 94.96, std 1.33 points: mean - 3 std = 90.9%); oneDNN off gave the same on seeds 0-4
    assert report["export"]["quantization"] == "int8" and report["verify"]["micro_value"] > 0.9
    assert report["compression"]["qat"] is True and report["compression"]["prune"] is None
    assert report["final_training"] == {"epochs": 2, "seed": 0}  # the deployed model is the retrained one
    assert os.path.exists(os.path.join(output, "digits", "final.yaml"))
    saved = yaml.safe_load(open(os.path.join(output, "digits", "result.yaml")))
    assert all(0 < t["metrics"]["test_accuracy"] <= 1 for t in saved["trials"] if t["status"] == "COMPLETED")
    assert saved["final"][0]["epochs"] == 2 and saved["final"][0]["test_scores"]
    assert drawn[0] == [] and [d.micro_value for d in drawn[-1]] == [
        report["verify"]["micro_value"]
    ]  # front.png redrawn with the int8 file
    out = capsys.readouterr().out
    assert "LiteRT int8" in out and "TFLM int8" in out
