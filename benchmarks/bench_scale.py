"""A one-shot search on a folder of 96x96x3 images, to int8 files verified on LiteRT: wall time per phase, accuracy, MACs, bytes.

Question (issue 29, Done means): does a one-shot search on a 96x96x3 image
folder of 2,000 images with `max_trials=10` finish on 2 cores in under 30
minutes and hand back int8 files verified on LiteRT?

Data (offline, no download; synthetic, not photos): scikit-learn's 8x8
digits (1,797 images, 10 classes) drawn as 96x96x3 PNG files, each glyph
upscaled (bilinear) to a random side of 40-80 px at a random place, in a
random colour on a random darker background with noise; `--images` files,
the digits reused in a seeded order when more are asked for. The folder is
read as `tfnas search CONFIG` reads it (`tfnas.app.sources.load_data`):
a seeded, stratified 20% test split held out from the search; the search
then holds out 20% of the rest for validation. Images stream from disk
(`tfnas.image_files.FileImages`).

Search: `tfnas.search(..., oracle="oneshot", max_trials=10, epochs=--epochs)`
on a MobileNet space narrowed for a 96 px budget (`SPACE` below: stride-2
stem and stages, 2-3 stages of 1-2 blocks, 16-32 channels, expansions 1/3/6,
kernels 3/5), its frame given (`FRAME`: the oracle's "auto" frame costs
about 100 s of profiling here) and `num_ranked` sub-networks ranked, under
`max_macs` (`--max-macs`). The model chosen by validation is the most
accurate on the validation front (`result.candidate("most_accurate")`);
`result.deploy_front` exports the `--top` most accurate front models as int8
files (calibrated on training images) and verifies each on LiteRT and
TFLite Micro on the test split.

Phases: folder (writing the PNG files, not part of a user's run), load
(headers checked, split), supernet (training), ranking, other preparation,
trials (fine-tuning the ranked sub-networks), deploy (int8 export and
verification of `--top` files).

    python benchmarks/bench_scale.py                         # the full run: 2,000 images, max_trials=10
    python benchmarks/bench_scale.py --images 300 --max-trials 2 --epochs 2 --num-ranked 20 --out bench_scale_small
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from typing import Any

import numpy as np

SPACE = {
    "stem_filters": (8, 16), "stem_strides": (2,), "num_stages": (2, 3), "blocks": (1, 2), "filters": (16, 24, 32),
    "kernel_sizes": (3, 5), "expansions": (1, 3, 6), "strides": (2,), "skip": (True,), "head": ("gap",),
    "dropout": (0.0, 0.1), "learning_rate": (1e-3, 3e-3),
}
FRAME = {"stem_strides": 2, "strides": 2}
DATA_NAME = "sklearn digits 8x8 upscaled to 96x96x3 (random size 40-80 px, place, colours, noise): synthetic"


def make_folder(root: str, images: int, size: int, seed: int) -> None:
    """`images` PNG files of `size` px under `root/digit_<label>/` (see the module docstring)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(digits.target)) for _ in range(-(-images // len(digits.target)))])
    for i, index in enumerate(order[:images]):
        label = int(digits.target[index])
        glyph = Image.fromarray((digits.images[index] * (255.0 / 16.0)).astype(np.uint8))
        side = int(rng.integers(40, 81))
        alpha = np.asarray(glyph.resize((side, side), Image.BILINEAR), np.float32)[..., None] / 255.0
        canvas = np.zeros((size, size, 1), np.float32)
        top, left = (int(v) for v in rng.integers(0, size - side + 1, 2))
        canvas[top : top + side, left : left + side] = alpha
        background = rng.uniform(0, 120, 3) + rng.normal(0, 12, (size, size, 3))
        foreground = rng.uniform(120, 255, 3)
        pixels = np.clip(background * (1 - canvas) + foreground * canvas, 0, 255).astype(np.uint8)
        folder = os.path.join(root, f"digit_{label}")
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(pixels).save(os.path.join(folder, f"{i:05d}.png"))


def run(args: argparse.Namespace, work: str) -> dict[str, Any]:
    """Writes the folder, searches, deploys; returns the figures."""
    import tfnas
    from tfnas.app.sources import load_data
    from tfnas.spaces import MobileNetSpace

    phases: dict[str, float] = {}
    began = time.perf_counter()
    root = os.path.join(work, "images")
    make_folder(root, args.images, args.size, args.seed)
    phases["folder"] = time.perf_counter() - began
    began = time.perf_counter()
    (x, y), (x_test, y_test) = load_data({"source": root, "test_split": 0.2, "seed": args.seed})
    x.cache_dir = x_test.cache_dir = work
    phases["load"] = time.perf_counter() - began
    oracle = {"name": "oneshot", "num_ranked": args.num_ranked, "frame": FRAME}
    began = time.perf_counter()
    result = tfnas.search(
        x, y, space=MobileNetSpace(**SPACE), oracle=oracle, constraints={"max_macs": args.max_macs},
        max_trials=args.max_trials, epochs=args.epochs, directory=os.path.join(work, "runs"), project_name="scale",
        seed=args.seed, verbose=1,
    )
    search_seconds = time.perf_counter() - began
    shot = result.oneshot
    phases["supernet"] = float(shot["supernet_seconds"])
    phases["ranking"] = float(shot["ranking_seconds"])
    phases["other preparation"] = float(shot["prepare_seconds"]) - phases["supernet"] - phases["ranking"]
    phases["trials"] = search_seconds - float(shot["prepare_seconds"])
    result.evaluate(x_test, y_test)
    began = time.perf_counter()
    deployed = result.deploy_front(x, y, x_test, y_test, top=args.top)
    phases["deploy"] = time.perf_counter() - began
    chosen = result.candidate("most_accurate")
    return {
        "data": DATA_NAME, "images": args.images, "size": args.size, "train_val_images": len(y),
        "test_images": len(y_test), "seed": args.seed, "max_trials": args.max_trials, "epochs": args.epochs,
        "num_ranked": args.num_ranked, "max_macs": args.max_macs, "space": {k: list(v) for k, v in SPACE.items()},
        "frame": FRAME, "phases_seconds": phases, "total_seconds": sum(phases.values()),
        "total_without_folder_seconds": sum(v for k, v in phases.items() if k != "folder"),
        "oneshot": {k: v for k, v in shot.items() if k != "frame"}, "completed_trials": len(result.completed),
        "chosen_trial": chosen.trial_id, "trials": [_trial(t) for t in result.completed],
        "deployed": [_deployed(d) for d in deployed],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "affinity": sorted(os.sched_getaffinity(0))},
    }


def _trial(trial: Any) -> dict[str, Any]:
    keys = ("val_accuracy", "test_accuracy", "macs", "params", "fit_seconds")
    return {"trial_id": trial.trial_id, **{k: float(trial.metrics[k]) for k in keys if k in trial.metrics}}


def _deployed(record: Any) -> dict[str, Any]:
    keys = ("trial_id", "macs", "float_value", "litert_value", "micro_value", "bytes", "on_front")
    return {k: getattr(record, k) for k in keys}


def print_table(row: dict[str, Any]) -> None:
    print(f"\n{row['data']}")
    print(f"{row['images']} images ({row['train_val_images']} search, {row['test_images']} test), max_trials="
          f"{row['max_trials']}, epochs={row['epochs']}, num_ranked={row['num_ranked']}, max_macs={row['max_macs']:,}, "
          f"seed {row['seed']}, cores {row['host']['affinity']}")
    print("\n| phase | seconds |\n|---|---|")
    for name, seconds in row["phases_seconds"].items():
        print(f"| {name} | {seconds:.0f} |")
    print(f"| total (without the folder) | {row['total_without_folder_seconds']:.0f} |")
    print("\n| trial | chosen | val acc (float) | test acc (float) | int8 LiteRT test acc | int8 TFLM test acc | MACs | bytes |")
    print("|---|---|---|---|---|---|---|---|")
    files = {d["trial_id"]: d for d in row["deployed"]}
    for trial in row["trials"]:
        d = files.get(trial["trial_id"], {})
        cells = [f"{d[k]:.4f}" if d.get(k) is not None else "-" for k in ("litert_value", "micro_value")]
        print(f"| {trial['trial_id']} | {'yes' if trial['trial_id'] == row['chosen_trial'] else ''} | "
              f"{trial.get('val_accuracy', float('nan')):.4f} | {trial.get('test_accuracy', float('nan')):.4f} | "
              f"{cells[0]} | {cells[1]} | {trial.get('macs', 0):,.0f} | {d.get('bytes', '-')} |")
    print(f"\npeak RSS {row['peak_rss_mib']:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--max-trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--num-ranked", type=int, default=300)
    parser.add_argument("--max-macs", type=int, default=10_000_000)
    parser.add_argument("--top", type=int, default=3, help="front models exported and verified")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench_scale", help="results/<out>.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        row = run(args, work)
    print_table(row)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", f"{args.out}.json")
    with open(path, "w") as f:
        json.dump(row, f, indent=1)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
