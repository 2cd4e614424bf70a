"""The `tfnas` console script."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def main(argv: list[str] | None = None) -> int:
    """Entry point of `tfnas`; returns the exit status (2 for bad input, with the message on stderr)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "launch":
        return run_launch(args)
    from tfnas.app import commands
    from tfnas.errors import TfnasInputError

    body = {
        "search": commands.search_command, "export": commands.export_command, "verify": commands.verify_command,
        "report": commands.report_command, "demo": commands.demo_command, "calibrate": commands.calibrate_command,
    }[args.command]
    try:
        return body(args)
    except TfnasInputError as e:
        print(f"tfnas {args.command}: {e}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    """The `tfnas` argument parser and its sub-commands."""
    parser = argparse.ArgumentParser(prog="tfnas", description="Hardware-aware NAS for phones and microcontrollers.")
    commands = parser.add_subparsers(dest="command", required=True)
    search = commands.add_parser(
        "search", help="run the search a YAML config describes (then compress, export, verify if it says so)",
        description="Runs tfnas.search() as CONFIG says; running it again resumes. Writes result.yaml, front.png and "
        "history.png into the run directory (directory/project_name), and with `compression`/`export` sections the "
        ".tflite file, its C array and report.yaml. See examples/digits.yaml.",
    )
    search.add_argument("config", help="the YAML config file")
    search.add_argument("--max-trials", type=int, help="override search.max_trials")
    search.add_argument("--epochs", type=int, help="override search.epochs")
    search.add_argument("--overwrite", action="store_true", help="start afresh instead of resuming")
    export = commands.add_parser("export", help="write one trial of a run as a .tflite file (and a C array)")
    export.add_argument("run_dir", help="the run directory (directory/project_name)")
    export.add_argument("--trial", required=True, help="the trial id (see `tfnas report RUN_DIR`)")
    export.add_argument("--output", help="the .tflite path (default: RUN_DIR/export/trial_ID.tflite)")
    export.add_argument("--quantization", default="int8", help="int8 (default), float16, dynamic or float32")
    export.add_argument("--c-array", action="store_true", help="also write NAME_data.c and NAME_data.h")
    export.add_argument("--target", choices=("micro", "litert"), help="micro checks TFLite Micro's kernels (default for int8)")
    export.add_argument("--data", help="a config file or a source (digits, mnist1d, a .npz ...) for int8 calibration")
    verify = commands.add_parser("verify", help="run a .tflite file on LiteRT and TFLite Micro and report accuracy")
    verify.add_argument("model", help="the .tflite file")
    verify.add_argument(
        "--data", required=True, help="a config file or a source (digits, mnist1d, a .npz ...); its test part is used"
    )
    verify.add_argument("--run-dir", help="with --trial: the run whose float model is compared")
    verify.add_argument("--trial", help="the trial id of the float model (default: the best)")
    verify.add_argument("--device", help="a device profile JSON: also time the file as it was calibrated")
    _add_calibrate(commands)
    report = commands.add_parser("report", help="print the Pareto front of a finished or partial run and write its plots")
    report.add_argument("run_dir", help="the run directory (directory/project_name)")
    demo = commands.add_parser(
        "demo",
        help="search digits under 10k MACs, retrain the most accurate, QAT it, export int8 + C array, verify on both runtimes",
    )
    demo.add_argument("--output", default="tfnas_demo", help="output folder (default: tfnas_demo)")
    demo.add_argument("--max-trials", type=int, default=20)
    demo.add_argument("--epochs", type=int, default=20)
    demo.add_argument("--final-epochs", type=int, default=60, help="epochs of the final training of the chosen candidate")
    demo.add_argument("--compress-epochs", type=int, default=5, help="fine-tuning epochs per compression stage")
    demo.add_argument("--max-macs", type=int, default=10_000)
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
    return parser


def _add_calibrate(commands: Any) -> None:
    """The `tfnas calibrate` sub-command."""
    calibrate = commands.add_parser(
        "calibrate", help="measure this machine's kernels into a device profile (latency prediction)",
        description="Times single-kernel .tflite micro-models on LiteRT and fits one regressor per kernel type into a "
        "device profile JSON, for tfnas.search(device=...), tfnas.cost.profile(device=...) and tfnas.verify(device=...).",
    )
    calibrate.add_argument("out", nargs="?", help="the profile JSON to write")
    calibrate.add_argument("--threads", type=int, default=1, help="LiteRT interpreter threads (default: 1)")
    calibrate.add_argument("--quantization", default="int8", choices=("int8", "float16", "float32"),
                           help="of the models to predict (int8: the only one measured for now)")  # fmt: skip
    calibrate.add_argument("--budget-s", type=float, default=None, help="wall-clock seconds to spend (default: 900)")
    calibrate.add_argument("--kernels", metavar="DIR", help="only write the micro-models to DIR, to time on another device")
    calibrate.add_argument("--from", dest="from_csv", metavar="CSV", help="fit from `python -m tfnas.latency.measure`'s CSV")
    calibrate.add_argument("--compositions", type=int, default=None, help="whole models to time, to fit what ops cost "
                           "inside a model (default: 48; 0 with --add)")  # fmt: skip
    calibrate.add_argument("--add", action="append", metavar="KIND", help="measure only this kernel type (repeatable), "
                           "adding it to OUT.json when that profile has the same threads")  # fmt: skip


def run_launch(args: argparse.Namespace) -> int:
    """Runs `tfnas launch`."""
    from tfnas.app.launch import launch
    from tfnas.errors import TfnasInputError

    try:
        return launch(
            args.program, workers=args.workers, host=args.host, port=args.port, chief=args.chief,
            worker_prefix=args.worker_prefix, first_worker=args.first_worker, max_restarts=args.max_restarts,
        )
    except TfnasInputError as e:
        print(f"tfnas launch: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
