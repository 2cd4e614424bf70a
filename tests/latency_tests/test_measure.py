"""`python -m tfnas.latency.measure` times micro-models with LiteRT and numpy only: TensorFlow cannot be imported."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tfnas.cost.latency import DeviceProfile
from tfnas.errors import TfnasInputError
from tfnas.latency import sampling
from tfnas.latency.calibration import profile_from_csv
from tfnas.latency.measure import measure
from tfnas.latency.measure import summarize
from tfnas.latency.measure import write_csv

ROOT = Path(__file__).resolve().parents[2]


def _blocked_env(tmp_path: Path) -> dict[str, str]:
    """PYTHONPATH with `tensorflow`, `keras` and `tf_keras` packages whose import raises, then the worktree."""
    for name in ("tensorflow", "keras", "tf_keras"):
        (tmp_path / "blocked" / name).mkdir(parents=True)
        (tmp_path / "blocked" / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed on this device')\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "blocked"), str(ROOT)])
    return env


def test_measure_runs_without_tensorflow(kernel_dir, tmp_path):
    env = _blocked_env(tmp_path)
    check = subprocess.run(
        [sys.executable, "-c", "import tensorflow"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    assert check.returncode != 0 and "not installed" in check.stderr
    out = tmp_path / "timings.csv"
    args = [
        sys.executable,
        "-m",
        "tfnas.latency.measure",
        kernel_dir,
        "--threads",
        "1",
        "--runs",
        "5",
        "--warmup",
        "1",
        "--out",
        str(out),
    ]
    result = subprocess.run(
        args,
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert {row["kind"] for row in rows} == set(sampling.KINDS) | {sampling.OVERHEAD}
    # the fastest block's median is never above the median of all runs (were every block's above it, so were most runs)
    assert all(float(row["p5"]) <= float(row["median"]) <= float(row["p95"]) for row in rows)
    assert all(0 < float(row["ms"]) <= float(row["median"]) for row in rows)
    assert all(row["threads"] == "1" and "f_macs" in row for row in rows)


def test_a_slow_burst_does_not_move_the_latency():
    steady = [np.full(12, 1.0) + 0.01 * np.arange(12) for _ in range(2)]
    bursts = [np.full(12, 1.6) for _ in range(3)]  # other work slowed three of five blocks
    timing = summarize(steady + bursts)
    assert timing["ms"] == pytest.approx(1.055)  # the steady blocks' median
    assert timing["median"] == pytest.approx(1.6)  # where the median of all runs lands
    assert (timing["runs"], timing["blocks"]) == (60, 5)


def test_calibrate_keeps_the_harness_it_was_given(tmp_path):
    from tfnas.latency.calibration import calibrate

    out = tmp_path / "p.json"
    profile = calibrate(out, budget_s=0, kernels=["ADD"], initial=2, runs=7, warmup=2, blocks=3, compositions=0)
    assert (profile.runs, profile.warmup, profile.blocks, profile.op_discount_ms) == (7, 2, 3, 0.0)
    assert DeviceProfile.load(out).blocks == 3
    assert all(row["ms"] > 0 for row in profile.samples["ADD"])


def test_measure_refuses_a_folder_without_manifest(tmp_path):
    with pytest.raises(TfnasInputError, match="manifest"):
        measure(str(tmp_path))


def test_profile_from_the_csv_of_another_device(kernel_dir, tmp_path):
    rows = measure(kernel_dir, threads=1, runs=3, warmup=1)
    write_csv(rows, str(tmp_path / "t.csv"))
    profile = profile_from_csv(tmp_path / "t.csv", tmp_path / "p.json")
    assert sum(map(len, profile.samples.values())) == len(rows) - 1  # the OVERHEAD row sets the overhead
    overhead = next(row["ms"] for row in rows if row["kind"] == sampling.OVERHEAD)
    assert profile.overhead_ms == pytest.approx(overhead)
    assert DeviceProfile.load(tmp_path / "p.json") == profile


def test_csv_mixing_thread_counts_is_refused(kernel_dir, tmp_path):
    rows = measure(
        kernel_dir,
        threads=1,
        runs=2,
        warmup=0,
        files={"add_00003.tflite", "mean_00005.tflite"},
    )
    rows[1]["threads"] = 2
    write_csv(rows, str(tmp_path / "t.csv"))
    with pytest.raises(TfnasInputError, match="mixes thread counts"):
        profile_from_csv(tmp_path / "t.csv")


def test_kernel_set_for_another_device_round_trips_through_csv(tmp_path):
    from tfnas.latency.calibration import write_kernel_set

    folder = str(tmp_path / "k")
    written = write_kernel_set(folder, kernels=["ADD", "MEAN"], per_kind=2, compositions=1)
    assert written == 1 + 2 * 2 + 1  # the overhead model, two shapes of each kernel, one whole model
    rows = measure(folder, threads=1, runs=2, warmup=0)
    write_csv(rows, str(tmp_path / "t.csv"))
    profile = profile_from_csv(tmp_path / "t.csv")
    assert profile.kernels() == ["ADD", "MEAN"] and len(profile.compositions) == 1
    kinds = [kind for kind, features in profile.compositions[0]["ops"]]
    assert "CONV_2D" in kinds and "FULLY_CONNECTED" in kinds  # the whole model's ops, with their features
    assert profile.op_discount_ms >= 0


@pytest.mark.parametrize("slowdown, warns", [(1.02, False), (1.5, True)])
def test_calibration_times_kernels_again_and_warns_when_the_machine_was_busy(tmp_path, monkeypatch, slowdown, warns):
    import warnings

    from tfnas.latency import calibration
    from tfnas.latency import repeatability

    first: dict[str, float] = {}

    def timed(*args, **kwargs):  # the calibration's own timings, remembered
        rows = measure(*args, **kwargs)
        first.update({row["file"]: row["ms"] for row in rows})
        return rows

    def busy(folder, threads, runs, warmup, files, blocks):  # the second timing, while other work slows the machine
        return [{"file": name, "ms": first[name] * slowdown} for name in sorted(files)]

    monkeypatch.setattr(calibration, "measure", timed)
    monkeypatch.setattr(repeatability, "measure", busy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        profile = calibration.calibrate(tmp_path / "p.json", budget_s=0, kernels=["ADD", "MEAN"], initial=3, runs=5,
                                        compositions=0)
    assert profile.repeatability["n"] == 6
    assert profile.repeatability["within_10"] == (0.0 if warns else 1.0)
    assert any("busy while calibrating" in str(w.message) for w in caught) == warns
    assert DeviceProfile.load(tmp_path / "p.json").repeatability == profile.repeatability
