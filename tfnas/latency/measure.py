"""Times micro-models on the device they will run on, with only LiteRT and numpy installed.

Run it where the models will run (an Arm Linux board, a Raspberry Pi, this
workstation):

    python -m tfnas.latency.measure KERNELS_DIR --threads 1 --out timings.csv

then fit the profile anywhere with `tfnas calibrate OUT.json --from timings.csv`.
Nothing on this path imports TensorFlow or Keras (`tfnas`,
`tfnas.latency` and this module import lazily), so `pip install
ai-edge-litert numpy` and a copy of the `tfnas` package are all a board needs.
Each model runs on LiteRT's default delegates (XNNPACK on CPU) at the given
threads: `warmup` untimed `invoke()`s, then `runs` timed ones in `blocks` blocks
(each at least `BLOCK_S` long). The latency kept is the fastest block's median,
as `timeit` keeps the fastest repeat: on a shared machine a burst of other work
slows a whole block of a microsecond model, and the fastest block is the figure
that repeats (measured on this 2-core VM under load: 83-90% of repeated timings
within 5% of each other, against 63-70% for the median of all runs). The 5th and
95th percentiles are of all runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import sys
import time
from importlib import metadata
from typing import Any

import numpy as np

from tfnas.errors import TfnasInputError

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "tfnas-kernels"
FEATURE_PREFIX = "f_"
MODEL = "MODEL"  # a multi-op model timed whole; its row carries its ops as JSON
BLOCKS = 5  # timed blocks per model; the fastest block's median is the latency
BLOCK_S = 0.004  # least seconds a block runs, so a microsecond model's block spans more than one burst
COLUMNS = (
    "file",
    "kind",
    "ms",
    "p5",
    "p95",
    "runs",
    "blocks",
    "threads",
    "machine",
    "cpu",
    "litert_version",
)


def device_info() -> dict[str, str]:
    """Machine, CPU model and LiteRT version of this device, as a profile records them."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.lower().startswith(("model name", "hardware"))]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        version = metadata.version("ai-edge-litert")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "machine": f"{platform.system()}-{platform.release()} {platform.machine()}",
        "cpu": cpu,
        "litert_version": version,
    }


def time_model(
    path: str,
    threads: int = 1,
    runs: int = 30,
    warmup: int = 5,
    max_seconds: float = 3.0,
    blocks: int = BLOCKS,
) -> dict[str, float]:
    """Milliseconds of one `invoke()` of a `.tflite` file on LiteRT's default delegates (see `summarize`).

    Inputs are random values of the input dtype. `runs` timed `invoke()`s
    are split into `blocks` blocks of at least `BLOCK_S` seconds each. A slow
    model runs fewer times (at least one per block) so one file takes about
    `max_seconds` at most.
    """
    from ai_edge_litert import interpreter as litert

    from tfnas import _compat

    with _compat.stderr_captured():  # XNNPACK's "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        interp = litert.Interpreter(model_path=path, num_threads=threads)
        interp.allocate_tensors()
    rng = np.random.default_rng(0)
    for detail in interp.get_input_details():
        dtype = np.dtype(detail["dtype"])
        low, high = (np.iinfo(dtype).min, np.iinfo(dtype).max) if dtype.kind in "iu" else (-1, 1)
        interp.set_tensor(detail["index"], rng.uniform(low, high, size=detail["shape"]).astype(dtype))
    start = time.perf_counter()
    for _ in range(max(warmup, 1)):
        interp.invoke()
    first = (time.perf_counter() - start) / max(warmup, 1)
    blocks = max(1, blocks)
    per_block = max(1, math.ceil(min(runs, max_seconds / max(first, 1e-9)) / blocks))
    timed = []
    for _ in range(blocks):
        times: list[float] = []
        block_start = time.perf_counter()
        while len(times) < per_block or time.perf_counter() - block_start < BLOCK_S:
            start = time.perf_counter()
            interp.invoke()
            times.append(time.perf_counter() - start)
        timed.append(np.asarray(times) * 1e3)
    return summarize(timed)


def summarize(blocks: list[np.ndarray]) -> dict[str, float]:
    """The timing of one model from its blocks of per-run milliseconds.

    "ms" is the fastest block's median; "median" the median of all runs;
    "p5"/"p95" their percentiles; "runs" and "blocks" the counts.
    """
    runs = np.concatenate(blocks)
    return {
        "ms": float(min(np.median(block) for block in blocks)),
        "median": float(np.median(runs)),
        "p5": float(np.percentile(runs, 5)),
        "p95": float(np.percentile(runs, 95)),
        "runs": int(runs.size),
        "blocks": len(blocks),
    }


def read_manifest(directory: str) -> dict[str, Any]:
    """The manifest of a kernel directory (what `tfnas calibrate --kernels DIR` wrote).

    Raises:
        TfnasInputError: there is none, or it is not a tfnas kernel manifest.
    """
    path = os.path.join(directory, MANIFEST)
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise TfnasInputError(f"{path!r} is not a readable kernel manifest ({e}): write the kernels with "
                              "`tfnas calibrate OUT.json --kernels DIR`.") from e  # fmt: skip
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != MANIFEST_FORMAT
        or not isinstance(manifest.get("kernels"), list)
    ):
        raise TfnasInputError(f"{path!r} is not a tfnas kernel manifest (format {MANIFEST_FORMAT!r} with a 'kernels' list).")
    return manifest


def measure(
    directory: str,
    threads: int = 1,
    runs: int = 30,
    warmup: int = 5,
    files: set[str] | None = None,
    blocks: int = BLOCKS,
) -> list[dict[str, Any]]:
    """Times the micro-models of a kernel directory; one row per file: `COLUMNS` plus "f_<feature>" columns.

    Args:
        directory: What `tfnas calibrate --kernels DIR` wrote (`.tflite` files and `manifest.json`).
        threads: LiteRT interpreter threads.
        runs: Timed `invoke()`s per file.
        warmup: Untimed `invoke()`s before them.
        files: Only these file names (all of the manifest when None).
        blocks: Blocks the runs are split into; the fastest block's median is kept.
    """
    if threads < 1 or runs < 1 or warmup < 0 or blocks < 1:
        raise TfnasInputError(
            "threads, runs and blocks must be >= 1, warmup >= 0. "
            f"Received: threads={threads}, runs={runs}, warmup={warmup}, blocks={blocks}"
        )
    info = device_info()
    rows = []
    for entry in read_manifest(directory)["kernels"]:
        if files is not None and entry["file"] not in files:
            continue
        timing = time_model(os.path.join(directory, entry["file"]), threads, runs, warmup, blocks=blocks)
        row: dict[str, Any] = {
            "file": entry["file"],
            "kind": entry["kind"],
            **timing,
            "threads": threads,
            **info,
        }
        if "ops" in entry:
            row["ops"] = json.dumps(entry["ops"])
        row.update({FEATURE_PREFIX + name: value for name, value in entry.get("features", {}).items()})
        rows.append(row)
    return rows


def write_csv(rows: list[dict[str, Any]], path: str) -> None:
    """Writes measured rows as CSV (the header is the union of their columns, `COLUMNS` first)."""
    extra = sorted({key for row in rows for key in row} - set(COLUMNS))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[*COLUMNS, *extra])
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    """`python -m tfnas.latency.measure DIR [--threads N] [--runs R] [--warmup W] --out CSV`."""
    parser = argparse.ArgumentParser(prog="python -m tfnas.latency.measure", description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="kernel directory written by `tfnas calibrate --kernels DIR`")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--blocks", type=int, default=BLOCKS, help="timed blocks per model; the fastest one's median is kept")
    parser.add_argument("--out", required=True, help="CSV to write")
    args = parser.parse_args(argv)
    try:
        rows = measure(args.directory, args.threads, args.runs, args.warmup, blocks=args.blocks)
    except TfnasInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    write_csv(rows, args.out)
    print(f"timed {len(rows)} micro-models at {args.threads} thread(s): {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
