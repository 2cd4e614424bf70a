"""The parser of LiteRT's benchmark tools, on output this machine's `litert-benchmark` printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tfnas.errors import TfnasInputError
from tfnas.latency.benchmark_output import parse_benchmark_output

DATA = Path(__file__).parent / "data"
# The layout of Android's benchmark_model summary (tensorflow/lite/tools/benchmark/README.md), microseconds.
ANDROID = """STARTING!
Num threads: [1]
Graph: [/data/local/tmp/kernels/conv_2d_00000.tflite]
Loaded model /data/local/tmp/kernels/conv_2d_00000.tflite
The input model file size (MB): 0.1
Initialized session in 5.685ms.
Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
count=23 first=24000 curr=21000 min=20500 max=24000 avg=21600 std=900
Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
count=50 first=21100 curr=20800 min=20400 max=22900 avg=21050.5 std=420
Inference timings in us: Init: 5685, First inference: 24000, Warmup (avg): 21600, Inference (avg): 21050.5
"""


def test_litert_benchmark_output_matches_its_json():
    parsed = parse_benchmark_output((DATA / "litert_benchmark_output.txt").read_text())
    latency = json.loads((DATA / "litert_benchmark_result.json").read_text())["latency"]
    assert parsed["ms"] == latency["median_ms"]
    for key in ("avg", "min", "max", "p5", "p95"):
        assert parsed[key] == latency[f"{key}_ms"]
    assert parsed["runs"] == latency["num_runs"]
    assert parsed["threads"] == 1


def test_android_benchmark_model_output():
    parsed = parse_benchmark_output(ANDROID)
    assert parsed["ms"] == pytest.approx(21.0505)  # the "Inference (avg)" of the timed runs, in ms
    assert parsed["runs"] == 50 and parsed["min"] == pytest.approx(20.4) and parsed["threads"] == 1


def test_output_without_timings_is_refused():
    with pytest.raises(TfnasInputError, match="No inference timing"):
        parse_benchmark_output("ERROR: Could not open model\n")
