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
    args = parser.parse_args(argv)
    return run_demo(args)


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
