"""The `tfnas` console script."""

from __future__ import annotations

import argparse
import os
import sys
import time

import yaml


def main(argv: list[str] | None = None) -> int:
    """Entry point of `tfnas`; returns the exit status."""
    parser = argparse.ArgumentParser(prog="tfnas", description="Hardware-aware NAS for phones and microcontrollers.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="search the built-in digits data under 20k MACs and print the front")
    demo.add_argument("--output", default="tfnas_demo", help="output folder (default: tfnas_demo)")
    demo.add_argument("--max-trials", type=int, default=12)
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--max-macs", type=int, default=20_000)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--overwrite", action="store_true", help="start afresh instead of resuming")
    launch = commands.add_parser(
        "launch", help="run a search script as a keras-tuner chief and N workers on this machine",
        description="Runs COMMAND (a script that calls tfnas.search(), or `tfnas demo`) once as the chief and "
        "once per worker, with keras-tuner's KERASTUNER_* variables. Workers killed by a signal are restarted "
        "and train their unfinished trial again. Run the same command again to resume.",
    )
    launch.add_argument("--workers", type=int, default=2, help="worker processes here (default: 2)")
    launch.add_argument("--host", default="127.0.0.1", help="address the chief binds and workers dial (default: 127.0.0.1)")
    launch.add_argument("--port", type=int, default=0, help="the chief's port (default: a free one)")
    launch.add_argument("--no-chief", dest="chief", action="store_false", help="run only workers (the chief is elsewhere)")
    launch.add_argument("--worker-prefix", default="tuner", help="worker ids are PREFIX0, PREFIX1, ... (default: tuner)")
    launch.add_argument("--first-worker", type=int, default=0, help="number of the first worker, for ids unique across machines")
    launch.add_argument("--max-restarts", type=int, default=3, help="restarts of each killed worker (default: 3)")
    launch.add_argument("program", nargs=argparse.REMAINDER, help="SCRIPT.py [ARGS], or tfnas demo [ARGS]")
    args = parser.parse_args(argv)
    if args.command == "launch":
        return run_launch(args)
    return run_demo(args)


def run_launch(args: argparse.Namespace) -> int:
    """Runs `tfnas launch`."""
    from tfnas.errors import TfnasInputError
    from tfnas.launch import launch

    try:
        return launch(
            args.program, workers=args.workers, host=args.host, port=args.port, chief=args.chief,
            worker_prefix=args.worker_prefix, first_worker=args.first_worker, max_restarts=args.max_restarts,
        )
    except TfnasInputError as e:
        print(f"tfnas launch: {e}", file=sys.stderr)
        return 2


def run_demo(args: argparse.Namespace) -> int:
    """Searches digits, reports test accuracy of the front, writes `result.yaml`."""
    import tfnas
    from tfnas.demo import load_digits_images

    (x_train, y_train), (x_test, y_test) = load_digits_images()
    start = time.perf_counter()
    result = tfnas.search(
        x_train, y_train, constraints={"max_macs": args.max_macs}, max_trials=args.max_trials,
        epochs=args.epochs, directory=args.output, project_name="digits", overwrite=args.overwrite, seed=args.seed,
    )
    if tfnas.distributed.is_worker():
        return 0  # under `tfnas launch`, the chief reports
    print(f"\nTest accuracy of the Pareto front (digits, {len(x_test)} held-out images):")
    print(f"{'trial':>6} {'macs':>8} {'val_acc':>8} {'test_acc':>9}")
    report = result.to_dict()
    report["test_accuracy"] = {}
    for candidate in result.pareto:
        _, accuracy = candidate.model().evaluate(x_test, y_test, verbose=0)
        report["test_accuracy"][candidate.trial_id] = float(accuracy)
        print(f"{candidate.trial_id:>6} {int(candidate.metrics['macs']):>8,} {candidate.metrics['val_accuracy']:>8.4f} {accuracy:>9.4f}")
    path = os.path.join(args.output, "result.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(report, f, sort_keys=False)
    print(f"\nDone in {time.perf_counter() - start:.0f}s. Report: {path}; models: {result.project_dir}/trial_*/model.keras")
    return 0


if __name__ == "__main__":
    sys.exit(main())
