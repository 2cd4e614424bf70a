"""Seconds per sandwich step of a 96x96x3 MobileNet supernet: eager (sliced) vs compiled (masked, one graph).

Question (issue 29, item 2): the MobileNet family's supernet trained one
sliced sub-network at a time, eagerly; `tfnas.oneshot.masked2d` runs the
whole sandwich step as one graph in a fixed frame. How much faster is it on
a CPU? Target: at least 5x.

Setup, per space (each narrowed to one frame, as the one-shot oracle does):
- "default": `MobileNetSpace()`'s ranges, stem stride 2, stage stride 2.
- "wide": a deeper, wider space of what `MobileNetSpace` holds today
  (stem 16/32, 3-5 stages of 1-3 blocks, 16-96 channels, kernels 3/5/7,
  expansions 1/3/6), stem stride 2, stage stride 2.
- 96x96x3 random inputs, 10 classes, batch `--batch` (32, `train_supernet`'s
  default); the step trains the largest, the smallest and 2 random
  sub-networks (`train_supernet`'s default `num_random=2`), the same draws
  for both steps; the optimizer is the search's (`Training().optimizer`).
- eager: `sandwich_step` with `GraphApply` (what `train_supernet` ran for
  these supernets: eager forward and backward, the update as a graph);
  compiled: `CompiledSandwich2D`. Each has its own supernet and optimizer.
- After `--warmup` steps of each (the compiled one's first traces the graph:
  its seconds are reported), `--rounds` rounds each time one eager step and
  one compiled step, alternating which goes first; the ratio is the median
  of the per-round ratios (both steps of a round see the same machine load:
  the machine is shared), and the table gives the median seconds of each.

Result (2026-12-06, 2 shared cores, load average ~3.8, `results/bench_supernet2d.json`): the target is
NOT met at 96 px. default: eager median 5.6 s (2.8-19.7), compiled 5.6 s (4.9-5.7), ratio 1.1x
(0.5-3.5); wide: eager 29.9 s, compiled 14.8 s, ratio 2.0x (0.5-2.6); tracing the graph took 56 s and
135 s. At 96 px the step is compute-bound: the masked graph runs every sub-network at the largest's
widths and kernels, and both weight sets of a block whose space has expansion 1 and above 1, so it
does ~3x the eager step's arithmetic and only saves its Python overhead. The same step on 8x8 inputs
(the default space, same frame, overhead-bound) measured eager 3.9 s vs compiled 0.11 s (30x).

Run: `python benchmarks/bench_supernet2d.py` (writes
`benchmarks/results/bench_supernet2d.json` and prints a table).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import keras
import numpy as np

from tfnas.oneshot import random_subnet
from tfnas.oneshot import smallest
from tfnas.oneshot import supernet_for
from tfnas.oneshot.compiled import compilable
from tfnas.oneshot.masked2d import CompiledSandwich2D
from tfnas.oneshot.sandwich import GraphApply
from tfnas.oneshot.sandwich import sandwich_step
from tfnas.spaces import MobileNetSpace
from tfnas.training import Training

FRAME = {"stem_strides": (2,), "strides": (2,)}
SPACES = {
    "default": {},
    "wide": {"stem_filters": (16, 32), "num_stages": (3, 4, 5), "blocks": (1, 2, 3), "filters": (16, 32, 64, 96),
             "kernel_sizes": (3, 5, 7), "expansions": (1, 3, 6)},
}
RESULT = os.path.join(os.path.dirname(__file__), "results", "bench_supernet2d.json")


def _setup(ranges: dict, batch: int, seed: int) -> tuple:
    """Two supernets with the same weights, their optimizers and steps, a batch and the step's sub-networks."""
    space = MobileNetSpace(**{**ranges, **FRAME}).configure((96, 96, 3), 10, "classification")
    steps = []
    for compiled in (False, True):
        keras.utils.set_random_seed(seed)
        supernet = supernet_for(space)
        assert compilable(supernet)
        optimizer = Training().optimizer(3e-3, 1000, 100)
        optimizer.build(supernet.trainable_variables)
        steps.append(CompiledSandwich2D(supernet, optimizer, 3) if compiled else (supernet, GraphApply(optimizer)))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, 96, 96, 3)).astype("float32")
    y = rng.integers(0, 10, batch)
    return space, steps, x, y, rng


def _time(step, students) -> float:
    began = time.perf_counter()
    step(students)
    return time.perf_counter() - began


def bench(name: str, ranges: dict, batch: int, warmup: int, rounds: int, seed: int) -> dict:
    """The timings of one space."""
    space, (eager, compiled), x, y, rng = _setup(ranges, batch, seed)
    draws = [[smallest(space), random_subnet(space, rng), random_subnet(space, rng)] for _ in range(warmup + rounds)]
    run = {
        "eager": lambda s: sandwich_step(eager[0], eager[1], x, y, s),
        "compiled": lambda s: compiled(x, y, s),
    }
    first = {kind: _time(step, draws[0]) for kind, step in run.items()}
    for i in range(1, warmup):
        for step in run.values():
            step(draws[i])
    times: dict[str, list[float]] = {"eager": [], "compiled": []}
    for i in range(rounds):
        order = ("eager", "compiled") if i % 2 == 0 else ("compiled", "eager")
        for kind in order:
            times[kind].append(_time(run[kind], draws[warmup + i]))
    ratios = [e / c for e, c in zip(times["eager"], times["compiled"], strict=True)]
    return {
        "space": name, "ranges": {k: list(v) for k, v in {**space.ranges}.items() if k in {*ranges, *FRAME}},
        "batch": batch, "subnets_per_step": 4, "first_step_s": first,
        "eager_s": times["eager"], "compiled_s": times["compiled"],
        "eager_median_s": statistics.median(times["eager"]), "compiled_median_s": statistics.median(times["compiled"]),
        "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", nargs="+", default=list(SPACES), choices=list(SPACES))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=RESULT)
    args = parser.parse_args()
    rows = [bench(name, SPACES[name], args.batch, args.warmup, args.rounds, args.seed) for name in args.spaces]
    print(f"{'space':8} {'eager s/step':>13} {'compiled s/step':>16} {'ratio (median, min-max)':>26} {'trace s':>8}")
    for row in rows:
        print(f"{row['space']:8} {row['eager_median_s']:13.3f} {row['compiled_median_s']:16.3f} "
              f"{row['ratio_median']:11.1f}x ({row['ratio_min']:.1f}-{row['ratio_max']:.1f}) "
              f"{row['first_step_s']['compiled']:8.1f}")
    meta = {"cpu_count": os.cpu_count(), "machine": platform.machine(), "load_average": os.getloadavg(),
            "keras": keras.__version__}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
