"""A small tfnas search that distributed tests and benchmarks run as a chief and as workers.

Digits as 64-feature vectors, the MLP space under 3,000 MACs (`--max-macs`). Options make
trials last a known time (a sleep per epoch, so the CPU stays free), fail
exactly one trial across all workers (the worker that removes the marker file)
and append a line to a log file each time a model starts training (`--train-log`,
so a resume test can count trainings).
The chief writes the `SearchResult` it returned to `chief_result.json`.
"""

import argparse
import json
import os
import time

import keras

import tfnas
from tfnas.demo import load_digits_images


class _SlowAndFailOnce(keras.callbacks.Callback):
    def __init__(self, epoch_sleep: float, fail_marker: str | None, train_log: str | None = None):
        super().__init__()
        self.epoch_sleep = epoch_sleep
        self.fail_marker = fail_marker
        self.train_log = train_log

    def on_train_begin(self, logs=None):
        if self.train_log:
            with open(self.train_log, "a") as f:
                f.write(f"{os.getpid()}\n")
        if self.fail_marker:
            try:
                os.remove(self.fail_marker)  # atomic: exactly one trial of one worker wins
            except FileNotFoundError:
                return
            raise tfnas.TrialFailedError("deliberate failure for the test")

    def on_epoch_end(self, epoch, logs=None):
        time.sleep(self.epoch_sleep)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--max-trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--epoch-sleep", type=float, default=0.0)
    parser.add_argument("--fail-marker", default=None)
    parser.add_argument("--max-macs", type=int, default=3000)
    parser.add_argument("--max-draws", type=int, default=100)
    parser.add_argument("--train-log", default=None)
    parser.add_argument("--worker-timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    (x, y), _ = load_digits_images()
    x, y = x[:360].reshape(360, -1), y[:360]
    result = tfnas.search(
        x, y, space="mlp", constraints={"max_macs": args.max_macs}, max_trials=args.max_trials, epochs=args.epochs,
        max_draws=args.max_draws, seed=1, directory=args.directory, project_name="dist", worker_timeout=args.worker_timeout,
        callbacks=[_SlowAndFailOnce(args.epoch_sleep, args.fail_marker, args.train_log)],
    )
    if tfnas.distributed.is_chief():
        result.summary()
        with open(os.path.join(args.directory, "chief_result.json"), "w") as f:
            json.dump(result.to_dict(), f)


if __name__ == "__main__":
    main()
