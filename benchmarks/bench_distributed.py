"""Distributed search throughput: trials per hour with 1 and 2 workers of `tfnas launch` on this machine.

Question: how many trials an hour does a search train with one process, with a
chief and 1 worker, and with a chief and 2 workers, and what should one expect
with more workers or machines?

Setup: the demo's digits images (1,347 training images, 8x8), the
MobileNet-style space under 20k MACs, the evolution strategy, 8 trials x 15
epochs, the same seed in every run. Configurations run interleaved, `--repeats`
times each; the table shows medians.

Figures:
- wall trials/h: trials / wall time of the whole command, process start-up
  (TensorFlow import, ~5-10 s a process) and the chief's constraint checks included;
- steady trials/h: trials / (last `model.fit` end - first `model.fit` start),
  from timestamps every process writes (start-up excluded);
- chief s/proposal: time the Oracle spends in `populate_space` per trial (drawing,
  building and profiling candidates until one is feasible): the chief's serial
  work, which bounds how many workers it can keep busy.

Run: `python benchmarks/bench_distributed.py [--trials 8 --epochs 15 --repeats 2]`.
Writes `benchmarks/results/bench_distributed.json`. `os.getloadavg()` is
recorded at start and end: other jobs on the machine slow every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CONFIGS = {"1 process (no chief)": None, "chief + 1 worker": 1, "chief + 2 workers": 2}
MAX_MACS = 20_000
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "bench_distributed.json")


def run_search(directory: str, trials: int, epochs: int) -> None:
    """The search every process runs (as a plain process, the chief or a worker)."""
    import time as clock

    import keras

    import tfnas
    from tfnas.demo import load_digits_images
    from tfnas.oracles import EvolutionOracle

    tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "local")

    class Timeline(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = clock.time()

        def on_train_end(self, logs=None):
            _append(os.path.join(directory, "timeline.jsonl"), {"tuner": tuner_id, "start": self.start, "end": clock.time()})

    class TimedEvolution(EvolutionOracle):
        def populate_space(self, trial_id):
            start = clock.perf_counter()
            response = super().populate_space(trial_id)
            _append(os.path.join(directory, "proposals.jsonl"), {"seconds": clock.perf_counter() - start})
            return response

    (x, y), _ = load_digits_images()
    oracle = TimedEvolution(max_trials=trials, constraints={"max_macs": MAX_MACS}, seed=1)
    tfnas.search(x, y, oracle=oracle, epochs=epochs, seed=1, directory=directory, project_name="bench",
                 callbacks=[Timeline()], verbose=0)


def _append(path: str, record: dict) -> None:
    with open(path, "a") as f:  # one short line per write: appends from several processes do not interleave
        f.write(json.dumps(record) + "\n")


def _read(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def measure(workers: int | None, trials: int, epochs: int) -> dict:
    """Runs one search (plain, or under `tfnas launch --workers N`) and returns its figures."""
    directory = tempfile.mkdtemp(prefix="bench_distributed_")
    search = [__file__, "--search", directory, "--trials", str(trials), "--epochs", str(epochs)]
    command = [sys.executable, *search] if workers is None else [
        sys.executable, "-m", "tfnas", "launch", "--workers", str(workers), *search
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    timeline = _read(os.path.join(directory, "timeline.jsonl"))
    proposals = _read(os.path.join(directory, "proposals.jsonl"))
    span = max(r["end"] for r in timeline) - min(r["start"] for r in timeline)
    fit = sum(r["end"] - r["start"] for r in timeline)
    shutil.rmtree(directory, ignore_errors=True)
    return {
        "trials": len(timeline),
        "wall_seconds": wall,
        "wall_trials_per_hour": 3600 * len(timeline) / wall,
        "steady_trials_per_hour": 3600 * len(timeline) / span,
        "fit_seconds_per_trial": fit / len(timeline),
        "chief_seconds_per_proposal": statistics.median(r["seconds"] for r in proposals),
        "trials_per_worker": {t: sum(r["tuner"] == t for r in timeline) for t in sorted({r["tuner"] for r in timeline})},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--search", metavar="DIRECTORY", help=argparse.SUPPRESS)  # what each process runs
    args = parser.parse_args()
    if args.search:
        run_search(args.search, args.trials, args.epochs)
        return
    load_start = os.getloadavg()
    runs = {name: [] for name in CONFIGS}
    for repeat in range(args.repeats):
        for name, workers in CONFIGS.items():
            runs[name].append(measure(workers, args.trials, args.epochs))
            print(f"repeat {repeat + 1}/{args.repeats} {name}: {runs[name][-1]}", flush=True)
    load_end = os.getloadavg()
    keys = ("wall_trials_per_hour", "steady_trials_per_hour", "fit_seconds_per_trial", "chief_seconds_per_proposal")
    medians = {name: {k: statistics.median(r[k] for r in rs) for k in keys} for name, rs in runs.items()}
    base = medians["1 process (no chief)"]["steady_trials_per_hour"]
    print(f"\n{args.trials} trials x {args.epochs} epochs, digits, MobileNet-style space under {MAX_MACS} MACs, "
          f"{os.cpu_count()} CPU cores; medians of {args.repeats}")
    print(f"{'configuration':<22} {'wall trials/h':>13} {'steady trials/h':>15} {'vs 1 process':>12} "
          f"{'fit s/trial':>11} {'chief s/proposal':>16}")
    for name, m in medians.items():
        print(f"{name:<22} {m['wall_trials_per_hour']:>13.0f} {m['steady_trials_per_hour']:>15.0f} "
              f"{m['steady_trials_per_hour'] / base:>11.2f}x {m['fit_seconds_per_trial']:>11.2f} "
              f"{m['chief_seconds_per_proposal']:>16.3f}")
    print(f"load average (1, 5, 15 min): start {load_start}, end {load_end}")
    single = medians["1 process (no chief)"]
    beyond = {
        "chief_proposals_per_hour": 3600 / single["chief_seconds_per_proposal"],
        "trials_per_hour_per_worker": 3600 / single["fit_seconds_per_trial"],
    }
    beyond["workers_before_chief_bound"] = beyond["chief_proposals_per_hour"] / beyond["trials_per_hour_per_worker"]
    print(
        f"Beyond this machine: the chief proposes one trial at a time, ~{beyond['chief_proposals_per_hour']:.0f} an hour "
        f"here; a worker with a free core trains ~{beyond['trials_per_hour_per_worker']:.0f} of these trials an hour, so "
        f"about {beyond['workers_before_chief_bound']:.0f} such workers keep the chief busy. Below that, throughput grows "
        "with the number of workers that have their own cores; longer trials raise that number in proportion."
    )
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(
            {
                "setup": {"trials": args.trials, "epochs": args.epochs, "repeats": args.repeats, "max_macs": MAX_MACS,
                          "cpu_count": os.cpu_count(), "date": time.strftime("%Y-%m-%d")},
                "loadavg_start": load_start,
                "loadavg_end": load_end,
                "medians": medians,
                "beyond": beyond,
                "runs": runs,
            },
            f,
            indent=2,
        )
    print(f"Wrote {RESULTS}")


if __name__ == "__main__":
    main()
