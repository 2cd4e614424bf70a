"""Peak RSS of a small image-folder search: streamed from disk (`FileImages`) vs the same images as arrays.

Generates `--images` random RGB images of `--size` px (half PNG, half JPEG)
in four class folders, then runs each mode in its own process: load the
folder (`tfnas.app.sources.load_data`), search (`max_trials` trials of
`epochs` epochs), score the test split (`result.evaluate`). "memory" reads
the folder into numpy arrays first (`np.asarray`), as tfnas did before
image folders were streamed; "disk" streams with the decoded cache forced
into a file. Prints the peak RSS of each process and its growth over the
RSS after importing TensorFlow.

`--oracle oneshot` runs the one-shot search instead (the supernet trains,
ranks and fine-tunes batch by batch from the files: `tfnas.oneshot.inputs`)
on `bench_scale.SPACE` in its fixed frame: one supernet epoch (largest and
smallest), `--trials` - 2 fine-tunes of `--epochs` epochs, 20 sub-networks
ranked.

One-shot results (96x96x3, seed 0, `--trials 3 --epochs 1`, 2026-12-06): with batch norm
re-estimated in 64-sample chunks (`tfnas.training.estimate_batchnorm`), 300 images streamed peak
at 1,641 MiB (2,565 MiB with one 256-image call, the two run side by side, one per core), and
20,000 images streamed at 2,501 MiB, 2,328 MiB with every cache on disk (results/bench_image_folder_rss_s5_*.json).
Then, with the test split scored in bounded batches, 4 MiB prediction batches, ranking's validation
cache dropped before the trials and the sliced compiled step: 20,000 images streamed peak at
1,836 MiB, under the 2 GB target (results/bench_image_folder_rss_s6_oneshot20k.json; one core, the
other busy). Tracing and first running the compiled sandwich graph costs 0.65-0.9 GB whatever the
folder's size.

    python benchmarks/bench_image_folder_rss.py --images 2000 --size 96
    python benchmarks/bench_image_folder_rss.py --images 20000 --size 96 --oracle oneshot --trials 3 --modes streamed,disk --tag T
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_folder(root: str, images: int, size: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(images):
        label = i % 4
        folder = os.path.join(root, f"class_{label}")
        os.makedirs(folder, exist_ok=True)
        pixels = (rng.random((size, size, 3)) * 60 + label * 60).astype(np.uint8)
        Image.fromarray(pixels).save(os.path.join(folder, f"{i:06d}.{'png' if i % 2 else 'jpg'}"))


def search_kwargs(oracle: str) -> dict:
    """The search's space, oracle and limits: the default search, or a small one-shot search (see the docstring)."""
    if oracle != "oneshot":
        return {"constraints": {"max_macs": 2_000_000}}
    from bench_scale import FRAME
    from bench_scale import SPACE

    from tfnas.spaces import MobileNetSpace

    return {"space": MobileNetSpace(**SPACE), "constraints": {"max_macs": 10_000_000},
            "oracle": {"name": "oneshot", "supernet_epochs": 1, "num_random": 0, "num_ranked": 20, "population_size": 5,
                       "frame": FRAME}}


def run_mode(mode: str, root: str, directory: str, trials: int, epochs: int, oracle: str = "pso") -> dict:
    import tensorflow as tf  # noqa: F401  (imported first: the baseline RSS includes TensorFlow)

    import tfnas
    import tfnas.image_files as image_files
    from tfnas.app.sources import load_data

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if mode == "disk":
        image_files.MEMORY_CACHE_BYTES = 0
    (x, y), (x_test, y_test) = load_data({"source": root, "seed": 0})
    x.cache_dir = x_test.cache_dir = directory
    if mode == "memory":
        x, x_test = np.asarray(x), np.asarray(x_test)
    start = time.perf_counter()
    result = tfnas.search(x, y, max_trials=trials, epochs=epochs, directory=directory, project_name=mode, overwrite=True,
                          verbose=0, seed=0, **search_kwargs(oracle))
    result.evaluate(x_test, y_test)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "oracle": oracle, "base_mib": base, "peak_mib": peak, "growth_mib": peak - base,
            "seconds": time.perf_counter() - start, "completed": len(result.completed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--modes", default="memory,streamed,disk", help="comma-separated: memory, streamed, disk")
    parser.add_argument("--oracle", default="pso", help="pso (the default search) or oneshot")
    parser.add_argument("--tag", default=None, help="also write benchmarks/results/bench_image_folder_rss_<tag>.json")
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(run_mode(args.mode, args.root, os.path.join(args.root, "..", "runs"), args.trials, args.epochs,
                                  args.oracle)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as work:
        root = os.path.join(work, "images")
        make_folder(root, args.images, args.size)
        for mode in args.modes.split(","):
            command = [sys.executable, __file__, "--mode", mode, "--root", root, "--trials", str(args.trials),
                       "--epochs", str(args.epochs), "--oracle", args.oracle]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
            row = json.loads(out)
            rows.append({"images": args.images, "size": args.size, "trials": args.trials, "epochs": args.epochs, **row})
            print(f"{args.images} images {args.size}px {args.oracle} {mode:>8}: peak RSS {row['peak_mib']:7.0f} MiB, "
                  f"growth after import {row['growth_mib']:7.0f} MiB, {row['seconds']:.0f}s, {row['completed']} trials completed")
    if args.tag:
        out_path = Path(__file__).resolve().parent / "results" / f"bench_image_folder_rss_{args.tag}.json"
        out_path.write_text(json.dumps(rows, indent=1))
        print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
