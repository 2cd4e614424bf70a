"""A small tfnas search that distributed tests and benchmarks run as a chief and as workers.

Digits as 64-feature vectors, the MLP space under 3,000 MACs (`--max-macs`). Options make
trials last a known time (a sleep per epoch, so the CPU stays free), fail
exactly one trial across all workers (the worker that removes the marker file)
and append a line to a log file each time a model starts training (`--train-log`,
so a resume test can count trainings); `--stall-worker ID` makes that worker
never end its first trial (it trains no further than `on_train_begin`, its
heartbeat still beating) until the test kills it.
The chief writes the `SearchResult` it returned to `chief_result.json`.
`--oneshot` runs the one-shot oracle on noisy 1-D signals instead (a DS-CNN 1-D
supernet under `--max-macs`), and each training logs whether the model
starts from the chief's supernet weights ("inherited") or not ("fresh").
"""

import argparse
import json
import os
import time
from typing import TYPE_CHECKING
from typing import Any

import keras

import tfnas
from tfnas.demo import load_digits_images

if TYPE_CHECKING:
    from tfnas.spaces import DSCNN1DSpace


class _SlowAndFailOnce(keras.callbacks.Callback):
    def __init__(self, epoch_sleep: float, fail_marker: str | None, train_log: str | None = None, stall: bool = False):
        super().__init__()
        self.epoch_sleep = epoch_sleep
        self.fail_marker = fail_marker
        self.train_log = train_log
        self.stall = stall

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.train_log:
            with open(self.train_log, "a") as f:
                f.write(f"{os.getpid()}\n")
        while self.stall:  # held until killed: the chief still hears this worker's heartbeat
            time.sleep(0.5)
        if self.fail_marker:
            try:
                os.remove(self.fail_marker)  # atomic: exactly one trial of one worker wins
            except FileNotFoundError:
                return
            raise tfnas.TrialFailedError("deliberate failure for the test")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        time.sleep(self.epoch_sleep)


class _InheritLog(keras.callbacks.Callback):
    """Appends "inherited" or "fresh" to `path`: whether the stem starts as the chief's supernet's slice."""

    def __init__(self, space: "DSCNN1DSpace", project_dir: str, path: str):
        super().__init__()
        self.space, self.project_dir, self.path = space, project_dir, path

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        import numpy as np

        from tfnas.oneshot import Supernet
        from tfnas.oneshot.checkpoint import load_weights
        from tfnas.oneshot.frame import narrow

        with open(os.path.join(self.project_dir, "oracle.json")) as f:
            frame = json.load(f)["tfnas"]["oneshot"]["frame"]
        supernet = Supernet(narrow(self.space, frame))
        load_weights(os.path.join(self.project_dir, "oneshot", "supernet"), supernet)
        kernel = self.model.get_layer("stem_conv").get_weights()[0]
        start = (supernet.stem_conv.kernel.shape[0] - kernel.shape[0]) // 2
        shared = np.asarray(supernet.stem_conv.kernel)[start : start + kernel.shape[0], :, : kernel.shape[2]]
        with open(self.path, "a") as f:
            f.write(("inherited" if np.array_equal(kernel, shared) else "fresh") + "\n")


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
    parser.add_argument("--stall-worker", default=None, help="the tuner id of a worker that never ends its first trial")
    parser.add_argument("--oneshot", action="store_true", help="the one-shot oracle on 1-D signals (DS-CNN 1-D)")
    args = parser.parse_args(argv)
    if args.oneshot:
        return _oneshot(args)
    (x, y), _ = load_digits_images()
    x, y = x[:360].reshape(360, -1), y[:360]
    result = tfnas.search(
        x, y, space="mlp", constraints={"max_macs": args.max_macs}, max_trials=args.max_trials, epochs=args.epochs,
        max_draws=args.max_draws, seed=1, directory=args.directory, project_name="dist", worker_timeout=args.worker_timeout,
        callbacks=[_SlowAndFailOnce(args.epoch_sleep, args.fail_marker, args.train_log, _stalls(args))],
    )
    if tfnas.distributed.is_chief():
        result.summary()
        with open(os.path.join(args.directory, "chief_result.json"), "w") as f:
            json.dump(result.to_dict(), f)


def _stalls(args: argparse.Namespace) -> bool:
    return args.stall_worker is not None and os.environ.get("KERASTUNER_TUNER_ID") == args.stall_worker


def _oneshot(args: argparse.Namespace) -> None:
    from tfnas.spaces import DSCNN1DSpace
    from tfnas.testing.signals import noisy_sines

    x, y = noisy_sines(300, 0)
    space = DSCNN1DSpace(filters=(8, 16), num_blocks=(1, 2), kernel_sizes=(3, 5), stem_filters=(8, 16))
    callbacks = [_SlowAndFailOnce(args.epoch_sleep, None, args.train_log, _stalls(args))]
    if args.train_log:
        space_for_check = space.configure((40, 1), 3, "classification")
        callbacks.append(_InheritLog(space_for_check, os.path.join(args.directory, "dist"), args.train_log + ".inherit"))
    result = tfnas.search(
        x, y, space=space, oracle={"name": "oneshot", "supernet_epochs": 2, "num_ranked": 20, "population_size": 5},
        constraints={"max_macs": args.max_macs}, max_trials=args.max_trials, epochs=args.epochs, seed=0,
        directory=args.directory, project_name="dist", worker_timeout=args.worker_timeout, callbacks=callbacks,
    )
    if tfnas.distributed.is_chief():
        with open(os.path.join(args.directory, "chief_result.json"), "w") as f:
            json.dump(result.to_dict(), f)


if __name__ == "__main__":
    main()
