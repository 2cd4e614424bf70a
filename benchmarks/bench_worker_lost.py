"""A distributed worker killed for good: how much longer does the search take than an undisturbed one?

Question: with a chief and 2 workers, one worker SIGKILLed at its first
training and never restarted, does the chief still finish every trial, within
`worker_timeout` plus one trial of the undisturbed run's wall time (issue 17)?

Setup: `tfnas/testing/distributed_search.py` (digits as vectors, the MLP space,
seed 1), `--trials` trials x `--epochs` epochs with a 1 s sleep per epoch (so a
trial outlasts start-up noise), `--worker-timeout` seconds. The undisturbed and
the disturbed configurations run interleaved, `--repeats` times each; the
table shows each run and the medians. "one trial" is the undisturbed run's
median `fit_seconds` per trial.

Run: `python benchmarks/bench_worker_lost.py [--trials 4 --epochs 3 --worker-timeout 6 --repeats 2]`.
Writes `benchmarks/results/bench_worker_lost.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile

from tfnas.result import SearchResult
from tfnas.testing.processes import run_distributed

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "bench_worker_lost.json")


def one_run(args: argparse.Namespace, kill: bool) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        train_log = os.path.join(directory, "train.log")
        script_args = [
            "--max-trials", str(args.trials), "--epochs", str(args.epochs), "--epoch-sleep", "1.0",
            "--worker-timeout", str(args.worker_timeout), "--train-log", train_log,
        ]
        run = run_distributed(directory, script_args, workers=2, kill_first_worker=kill)
        result = SearchResult.load(os.path.join(directory, "dist"))
        return {
            "killed": kill, "wall_seconds": run["wall_seconds"], "chief_exit": run["returncodes"]["chief"],
            "completed": len(result.completed), "rerun": result.rerun,
            "fit_seconds": statistics.median(c.metrics["fit_seconds"] for c in result.completed) if result.completed else None,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--worker-timeout", type=float, default=6.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    runs = [one_run(args, kill) for _ in range(args.repeats) for kill in (False, True)]
    calm = [r for r in runs if not r["killed"]]
    hit = [r for r in runs if r["killed"]]
    calm_wall = statistics.median(r["wall_seconds"] for r in calm)
    one_trial = statistics.median(r["fit_seconds"] for r in calm)
    bound = calm_wall + args.worker_timeout + one_trial
    print(f"{'run':<28} {'wall s':>7} {'completed':>9} {'re-run':>7} {'chief exit':>10}")
    for r in runs:
        name = "tuner0 killed for good" if r["killed"] else "undisturbed"
        print(f"{name:<28} {r['wall_seconds']:>7.1f} {r['completed']:>9} {len(r['rerun']):>7} {r['chief_exit']:>10}")
    hit_wall = statistics.median(r["wall_seconds"] for r in hit)
    print(
        f"median wall: undisturbed {calm_wall:.1f}s, killed {hit_wall:.1f}s; bound = undisturbed + worker_timeout "
        f"{args.worker_timeout:g}s + one trial {one_trial:.1f}s = {bound:.1f}s -> {'within' if hit_wall <= bound else 'OVER'}"
    )
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump({"args": vars(args), "runs": runs, "undisturbed_wall": calm_wall, "killed_wall": hit_wall,
                   "one_trial_seconds": one_trial, "bound": bound, "within": hit_wall <= bound}, f, indent=1)
    print(f"Wrote {RESULTS}")


if __name__ == "__main__":
    main()
