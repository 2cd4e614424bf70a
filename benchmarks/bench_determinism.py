"""What `tfnas.search(seed=...)`'s repeatability costs: TensorFlow op determinism on vs off.

Question (issue 13): `seed=` turns on `tf.config.experimental.enable_op_determinism()`
while a search runs, so that it repeats exactly on one machine. How
much slower are the trials, and does a run repeat without it?

Each configuration runs twice, each run in a fresh process: digits, the default space and recipe,
`--trials` x `--epochs`, seed 0. "off" is the same call with TensorFlow's
`enable_op_determinism` replaced by a no-op, so Keras is still seeded.

Run: `python benchmarks/bench_determinism.py [--trials 8 --epochs 10]`.
Writes `benchmarks/results/bench_determinism.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

RESULTS = os.path.join(os.path.dirname(__file__), "results")

CHILD = r"""
import json, sys, time
from tensorflow.python.framework import config
if sys.argv[1] == "off":
    config.enable_op_determinism = lambda: None
import tfnas
from tfnas.demo import load_digits_images
(x, y), _ = load_digits_images()
start = time.perf_counter()
result = tfnas.search(x, y, constraints={"max_macs": 10_000}, max_trials=int(sys.argv[2]), epochs=int(sys.argv[3]),
                      seed=0, directory=sys.argv[4], project_name="run", overwrite=True, verbose=0)
print(json.dumps({
    "seconds": time.perf_counter() - start,
    "fit_seconds": sum(t.metrics["fit_seconds"] for t in result.completed),
    "trials": [[t.hyperparameters, t.metrics["val_accuracy"], t.metrics["val_loss"]] for t in result.trials],
}))
"""


def run(mode: str, trials: int, epochs: int) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, mode, str(trials), str(epochs), directory], capture_output=True, text=True, check=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    rows = {}
    for mode in ("on", "off"):
        first, second = run(mode, args.trials, args.epochs), run(mode, args.trials, args.epochs)
        rows[mode] = {
            "fit_seconds": [first["fit_seconds"], second["fit_seconds"]],
            "search_seconds": [first["seconds"], second["seconds"]],
            "repeats_exactly": first["trials"] == second["trials"],
            "proposals_repeat": [t[0] for t in first["trials"]] == [t[0] for t in second["trials"]],
        }
    on, off = (statistics.median(rows[m]["fit_seconds"]) for m in ("on", "off"))
    print(f"{'op determinism':>15} {'fit s (median)':>15} {'search s':>9} {'same proposals':>15} {'same metrics':>13}")
    for mode in ("on", "off"):
        r = rows[mode]
        print(f"{mode:>15} {statistics.median(r['fit_seconds']):>15.1f} {statistics.median(r['search_seconds']):>9.1f} "
              f"{str(r['proposals_repeat']):>15} {str(r['repeats_exactly']):>13}")
    print(f"training time with op determinism: {on / off:.2f}x without")
    with open(os.path.join(RESULTS, "bench_determinism.json"), "w") as f:
        json.dump({"trials": args.trials, "epochs": args.epochs, "rows": rows, "ratio_fit_on_off": on / off}, f, indent=1)


if __name__ == "__main__":
    main()
