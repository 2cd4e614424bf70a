"""Reads the timings that LiteRT's benchmark tools print, for micro-models timed on a phone.

On Android the Python interpreter is not at hand; LiteRT's `benchmark_model`
binary is. For each micro-model of a kernel directory:

    adb push KERNELS_DIR /data/local/tmp/kernels
    adb shell /data/local/tmp/benchmark_model --graph=/data/local/tmp/kernels/conv_2d_00000.tflite \\
        --num_threads=1 --warmup_runs=5 --num_runs=50 > conv_2d_00000.txt

and `parse_benchmark_output(text)` reads each output (`tfnas.latency.calibration.rows_from_outputs` turns a
folder of them into the rows a profile is fitted from). Two formats are read: `benchmark_model`'s
("Inference timings in us: ... Inference (avg): 14575.2" and its "count=50 first=... min=... max=...
avg=... std=..." lines, microseconds) and the summary that `litert-benchmark`
(`ai_edge_litert.tools.benchmark_litert_model`) prints ("Inference (median): 0.01 ms", milliseconds).
"""

from __future__ import annotations

import re

from tfnas.errors import TfnasInputError

_LITERT = re.compile(r"^Inference \((avg|min|max|median|std|p5|p95)\):\s*([0-9.]+) ms", re.MULTILINE)
_LITERT_THREADS = re.compile(r"Num threads:\s*(\d+)")
_ANDROID_AVG = re.compile(r"Inference \(avg\):\s*([0-9.eE+]+)")
_ANDROID_COUNT = re.compile(r"count=(\d+)(?: first=\d+)? curr=\d+ min=(\d+) max=(\d+) avg=([0-9.eE+]+) std=(\d+)")
_ANDROID_THREADS = re.compile(r"(?:Num threads|num_threads):?\s*\[?(\d+)\]?")


def parse_benchmark_output(text: str) -> dict[str, float]:
    """Milliseconds per inference from the text output of `litert-benchmark` or Android's `benchmark_model`.

    Args:
        text: Everything the tool printed (log lines around the results are ignored).

    Returns:
        A dict with "ms" (the median when the tool prints one, else the average), "avg", and where printed
        "min", "max", "std", "p5", "p95", "runs" and "threads".

    Raises:
        TfnasInputError: the text holds no inference timing of either tool.
    """
    found = dict(_LITERT.findall(text))
    if found:
        result = {key: float(value) for key, value in found.items()}
        result["ms"] = result.get("median", result["avg"])
        runs = re.search(r"Inference \(avg\):\s*[0-9.]+ ms \((\d+) runs\)", text)
        if runs:
            result["runs"] = float(runs.group(1))
        threads = _LITERT_THREADS.search(text)
        if threads:
            result["threads"] = float(threads.group(1))
        return result
    counts = _ANDROID_COUNT.findall(text)
    avg = _ANDROID_AVG.search(text)
    if not counts and not avg:
        raise TfnasInputError(
            "No inference timing found in the benchmark output: expected litert-benchmark's "
            "'Inference (median): X ms' or benchmark_model's 'Inference (avg): X' / 'count=N ... avg=X' lines."
        )
    result = {}
    if counts:  # the last "count=" line is the timed runs (the ones before are warm-up)
        count, low, high, mean, std = counts[-1]
        result = {"runs": float(count), "min": float(low) / 1e3, "max": float(high) / 1e3,
                  "avg": float(mean) / 1e3, "std": float(std) / 1e3}  # fmt: skip
    if avg:
        result["avg"] = float(avg.group(1)) / 1e3
    result["ms"] = result["avg"]
    threads = _ANDROID_THREADS.search(text)
    if threads:
        result["threads"] = float(threads.group(1))
    return result
