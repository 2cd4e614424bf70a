"""Seconds per sandwich step of a 96x96x3 MobileNet supernet: eager (sliced) vs compiled (one graph: masked or sliced).

Question (issue 29, item 2): the MobileNet family's supernet trained one
sliced sub-network at a time, eagerly; `tfnas.oneshot.masked2d` runs the
whole sandwich step as one graph in a fixed frame, every sub-network either
as the masked largest (`sliced=False`) or at its own sizes with shapes known
at run time (`tfnas.oneshot.sliced2d`, the default). How much faster is it
on a CPU? Target: at least 5x.

Setup, per space (each narrowed to one frame, as the one-shot oracle does):
- "default": `MobileNetSpace()`'s ranges, stem stride 2, stage stride 2.
- "wide": a deeper, wider space of what `MobileNetSpace` holds
  (stem 16/32, 3-5 stages of 1-3 blocks, 16-96 channels, kernels 3/5/7,
  expansions 1/3/6), stem stride 2, stage stride 2.
- 96x96x3 random inputs, 10 classes, batch `--batch` (32, `train_supernet`'s
  default); the step trains the largest, the smallest and 2 random
  sub-networks (`train_supernet`'s default `num_random=2`), the same draws
  for every kind; the optimizer is the search's (`Training().optimizer`).
- eager: `sandwich_step` with `GraphApply` (what `train_supernet` ran for
  these supernets: eager forward and backward, the update as a graph, traced
  once per set of variables updated); masked and sliced: `CompiledSandwich2D`.
  Each has its own supernet and optimizer.
- After `--warmup` steps of each (the compiled ones' first traces the graph:
  its seconds are reported), `--rounds` rounds each time one step of each
  kind, each kind first in turn; the ratios are medians of per-round ratios
  (the steps of a round see the same machine load: the machine is shared).
  "no new eager trace" keeps the rounds whose eager step reused an update
  graph: what the eager step costs once every set of variables has been
  updated before (a long run's steady state).

Result (2026-12-06, pinned to one core, the other running another benchmark,
`results/bench_supernet2d_s6_core0.json`, 12 rounds):

| space | eager | masked | sliced | eager/sliced (range) | no new eager trace | first sliced step |
|---|---|---|---|---|---|---|
| default | 2.14 s | 3.73 s | 1.09 s | 1.8x (1.4-8.4) | 2.00 s: 1.7x | 81 s |
| wide | 17.2 s | 10.0 s | 2.97 s | 5.6x (1.5-6.7) | 4.38 s: 1.6x | 154 s |

The 5x target is met only against the eager step as it ran, on the wide
space, where 9 of 12 eager steps traced a new update graph (14-21 s each);
once eager reuses its graphs, the sliced step is 1.6-1.7x faster. At 96 px
the step is compute-bound: the sliced graph does the eager step's
arithmetic (a graph traced for each of 4 fixed draws of the default space,
forward and backward only, took 0.8-1.1 s a step in a separate run), and the
masked one about 3x more (every sub-network at the largest's widths and
kernels), so it is slower than eager there. On 8x8 inputs (overhead-bound)
the masked step measured 30x (eager 3.9 s vs 0.11 s).

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
KINDS = ("eager", "masked", "sliced")
RESULT = os.path.join(os.path.dirname(__file__), "results", "bench_supernet2d.json")


def _setup(ranges: dict, batch: int, seed: int) -> tuple:
    """Two supernets with the same weights, their optimizers and steps, a batch and the step's sub-networks."""
    space = MobileNetSpace(**{**ranges, **FRAME}).configure((96, 96, 3), 10, "classification")
    steps = []
    for kind in KINDS:
        keras.utils.set_random_seed(seed)
        supernet = supernet_for(space)
        assert compilable(supernet)
        optimizer = Training().optimizer(3e-3, 1000, 100)
        optimizer.build(supernet.trainable_variables)
        steps.append((supernet, GraphApply(optimizer)) if kind == "eager"
                     else CompiledSandwich2D(supernet, optimizer, 3, sliced=kind == "sliced"))
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
    space, (eager, masked, sliced), x, y, rng = _setup(ranges, batch, seed)
    draws = [[smallest(space), random_subnet(space, rng), random_subnet(space, rng)] for _ in range(warmup + rounds)]
    run = {
        "eager": lambda s: sandwich_step(eager[0], eager[1], x, y, s),
        "masked": lambda s: masked(x, y, s),
        "sliced": lambda s: sliced(x, y, s),
    }
    first = {kind: _time(step, draws[0]) for kind, step in run.items()}
    for i in range(1, warmup):
        for step in run.values():
            step(draws[i])
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    traced = []  # per round: whether the eager step traced a new update graph (a set of variables not updated before)
    for i in range(rounds):
        for kind in KINDS[i % 3:] + KINDS[: i % 3]:  # each kind goes first in turn
            graphs = len(eager[1]._graphs)  # noqa: SLF001
            times[kind].append(_time(run[kind], draws[warmup + i]))
            if kind == "eager":
                traced.append(len(eager[1]._graphs) > graphs)  # noqa: SLF001
    row = {
        "space": name, "ranges": {k: list(v) for k, v in {**space.ranges}.items() if k in {*ranges, *FRAME}},
        "batch": batch, "subnets_per_step": 4, "first_step_s": first,
        **{f"{kind}_s": times[kind] for kind in KINDS},
        **{f"{kind}_median_s": statistics.median(times[kind]) for kind in KINDS},
    }
    for kind in ("masked", "sliced"):
        ratios = [e / c for e, c in zip(times["eager"], times[kind], strict=True)]
        row[f"{kind}_ratio_median"] = statistics.median(ratios)
        row[f"{kind}_ratio_range"] = [min(ratios), max(ratios)]
        # The rounds whose eager step reused an update graph: the eager step's cost once every set of variables has
        # been updated before (a long run's steady state).
        steady = [r for r, new in zip(ratios, traced, strict=True) if not new]
        row[f"{kind}_ratio_median_no_trace"] = statistics.median(steady) if steady else None
    row["eager_traced"] = traced
    steady_eager = [t for t, new in zip(times["eager"], traced, strict=True) if not new]
    row["eager_median_no_trace_s"] = statistics.median(steady_eager) if steady_eager else None
    return row


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
    print(f"{'space':8} {'kind':7} {'s/step':>7} {'eager/this (median, min-max)':>30} {'no new eager trace':>19} "
          f"{'first step s':>13}")
    for row in rows:
        for kind in KINDS:
            ratio = steady = ""
            if kind != "eager":
                low, high = row[f"{kind}_ratio_range"]
                ratio = f"{row[f'{kind}_ratio_median']:.1f}x ({low:.1f}-{high:.1f})"
                steady = f"{row[f'{kind}_ratio_median_no_trace'] or float('nan'):.1f}x"
            elif row["eager_median_no_trace_s"] is not None:
                steady = f"{row['eager_median_no_trace_s']:.3f} s"
            print(f"{row['space']:8} {kind:7} {row[f'{kind}_median_s']:7.3f} {ratio:>30} {steady:>19} "
                  f"{row['first_step_s'][kind]:13.1f}")
    meta = {"cpu_count": os.cpu_count(), "machine": platform.machine(), "load_average": os.getloadavg(),
            "keras": keras.__version__}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
