"""The bodies of the `tfnas` sub-commands: search, export, verify, report, demo and calibrate.

Each takes the parsed arguments and returns the exit status. Bad input
raises `TfnasInputError`; `tfnas.app.cli` prints it prefixed with the command
and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import yaml

from tfnas import _compat
from tfnas.app.config import Config
from tfnas.app.config import load_config
from tfnas.app.config import parse_config
from tfnas.app.sources import load_data
from tfnas.app.sources import source_from_argument
from tfnas.errors import TfnasInputError


def search_command(args: argparse.Namespace) -> int:
    """`tfnas search CONFIG`: search, then compress/export/verify when the config has those sections."""
    config = load_config(args.config)
    for key in ("max_trials", "epochs"):
        if getattr(args, key) is not None:
            config.search[key] = getattr(args, key)
    if args.overwrite:
        config.search["overwrite"] = True
    return _run(config, output_dir=config.run_dir)


def demo_command(args: argparse.Namespace) -> int:
    """`tfnas demo`: digits under a MACs limit, final training, QAT, int8 with a C array, checked on both runtimes."""
    config = parse_config(
        {
            "data": {"source": "digits"},
            "constraints": {"max_macs": args.max_macs},
            "search": {
                "max_trials": args.max_trials, "epochs": args.epochs, "seed": args.seed, "directory": args.output,
                "project_name": "digits", "overwrite": args.overwrite,
            },
            "final": {"top": 1, "seeds": 1, "epochs": args.final_epochs},
            # QAT only: TFLite Micro runs no sparse kernels, so unstructured pruning would not shrink the file it runs
            "compression": {"qat": True, "epochs": args.compress_epochs},
            "export": {"quantization": "int8", "c_array": True, "filename": "digits.tflite"},
        }
    )
    return _run(config, output_dir=args.output)


def export_command(args: argparse.Namespace) -> int:
    """`tfnas export RUN_DIR --trial ID`: one trial's model as a `.tflite` file (and C array)."""
    export = _compat.import_quietly("tfnas.export").export

    result = _load_result(args.run_dir)
    candidate = result.candidate(args.trial)
    representative = None
    if args.data:
        (x, _), _ = load_data(*source_from_argument(args.data))
        representative = x[:200]
    elif args.quantization == "int8":
        raise TfnasInputError(
            "int8 needs representative inputs: pass --data CONFIG.yaml (or a source such as digits or data.npz)."
        )
    output = args.output or os.path.join(args.run_dir, "export", f"trial_{candidate.trial_id}.tflite")
    report = export(
        candidate, output, quantization=args.quantization, representative_data=representative, c_array=args.c_array,
        target=args.target,
    )
    print(f"Wrote {report.path}: {report.bytes:,} bytes ({report.quantization}, {report.target}), ops {', '.join(report.ops)}")
    if report.c_source:
        print(f"C array: {report.c_source}, {report.c_header}")
    print(f"Report: {report.report_path}")
    return 0


def verify_command(args: argparse.Namespace) -> int:
    """`tfnas verify MODEL.tflite --data SOURCE`: accuracy on LiteRT and TFLite Micro on the source's test part."""
    verify = _compat.import_quietly("tfnas.verify").verify
    from tfnas.data import in_memory
    from tfnas.deploy import VERIFY_BYTES

    if args.trial and not args.run_dir:
        raise TfnasInputError("--trial names a trial of a run: pass --run-dir RUN_DIR too.")
    _, (x_test, y_test) = load_data(*source_from_argument(args.data))
    model = _load_result(args.run_dir).candidate(args.trial).model() if args.run_dir else None
    report = verify(args.model, *in_memory(x_test, y_test, VERIFY_BYTES), model=model, device=args.device)
    report.summary()
    return 0


def calibrate_command(args: argparse.Namespace) -> int:
    """`tfnas calibrate OUT.json`: measure this machine's kernels (or fit another device's CSV) into a device profile.

    `--kernels DIR` only writes the micro-models, to time on another device
    with `python -m tfnas.latency.measure DIR --out CSV`; `--from CSV` fits
    the profile from that CSV; `--add KIND` measures kernel types into an
    existing profile.
    """
    from tfnas import latency

    if args.kernels:
        count = latency.write_kernel_set(args.kernels, kernels=args.add or None, compositions=args.compositions)
        print(f"Wrote {count} micro-models to {args.kernels}. On the device: `python -m tfnas.latency.measure "
              f"{args.kernels} --threads {args.threads} --out timings.csv`, then `tfnas calibrate OUT.json --from timings.csv`.")
        return 0
    if not args.out:
        raise TfnasInputError("Pass the profile to write: `tfnas calibrate OUT.json` (or --kernels DIR to write micro-models).")
    if args.from_csv:
        profile = latency.profile_from_csv(args.from_csv, args.out)
    else:
        profile = latency.calibrate(args.out, threads=args.threads, quantization=args.quantization, budget_s=args.budget_s,
                                    kernels=args.add or None, compositions=args.compositions)  # fmt: skip
    kernels = sum(len(rows) for rows in profile.samples.values())
    worst = max(profile.fit_errors.items(), key=lambda item: item[1].get("mape", 0.0), default=("-", {"mape": 0.0}))
    print(f"Wrote {args.out}: {kernels} micro-models of {len(profile.kernels())} kernel types on "
          f"{profile.cpu or profile.machine}, {profile.threads} thread(s), LiteRT {profile.litert_version}; "
          f"worst cross-validated error {worst[0]} {100 * worst[1]['mape']:.1f}%.")  # fmt: skip
    return 0


def report_command(args: argparse.Namespace) -> int:
    """`tfnas report RUN_DIR`: the summary of a finished or partial run, its plots (with deployed files) and result.yaml."""
    result = _load_result(args.run_dir)
    result.summary()
    print("Wrote " + ", ".join(_pipeline().write_search_files(result)))
    deployed = os.path.join(args.run_dir, "report.yaml")
    if os.path.exists(deployed):
        with open(deployed) as f:
            _print_table(yaml.safe_load(f))
    return 0


def _run(config: Config, output_dir: str) -> int:
    pipeline = _pipeline()
    start = time.perf_counter()
    search_kwargs = pipeline.search_kwargs(config)  # every argument checked before the data is read
    data = load_data(config.data, config.base_dir)
    result = pipeline.run_search(config, data, files_dir=output_dir, kwargs=search_kwargs)
    if pipeline.distributed.is_worker():
        return 0  # under `tfnas launch`, the chief compresses, exports and reports
    pipeline.finalize(config, result, data)  # test figures for the trials, and the final training when configured
    result.summary(counts=config.search["verbose"] < 1)  # a verbose search ended with the counts line already
    searched = time.perf_counter() - start
    if config.compression is None and config.export is None:
        print(f"\nDone in {searched:.0f}s. Run directory: {result.project_dir} (result.yaml, front.png, history.png)")
        return 0
    if not result.completed:
        raise TfnasInputError(f"No trial completed in {result.project_dir}: nothing to compress or export. Raise max_trials.")
    report = pipeline.deploy(config, result, data, output_dir)
    _print_table(report)
    files = sorted(f for f in os.listdir(output_dir) if os.path.isfile(os.path.join(output_dir, f)) and not f.startswith("."))
    print(
        f"\nDone in {time.perf_counter() - start:.0f}s (search and final training {searched:.0f}s). In {output_dir}: "
        f"{', '.join(files)}"
    )
    return 0


def _print_table(report: dict[str, Any]) -> None:
    """The deployed candidate in one row: cost, float and int8 accuracy on both runtimes, file and arena bytes."""
    check = report.get("verify") or {}

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.2f}%"

    def count(value: int | None) -> str:
        return "n/a" if value is None else f"{int(value):,}"

    print("\nTest accuracy (test split, never seen by the search) of the deployed model:")
    print(f"{'candidate':>9} {'MACs':>8} {'float':>9} {'LiteRT int8':>11} {'TFLM int8':>9} {'bytes':>8} {'arena':>7}")
    print(
        f"{report['candidate']:>9} {count(report['metrics'].get('macs')):>8} {pct(check.get('float_value')):>9} "
        f"{pct(check.get('litert_value')):>11} {pct(check.get('micro_value')):>9} {count(report['export']['bytes']):>8} "
        f"{count(check.get('arena_total_bytes')):>7}"
    )


def _pipeline() -> Any:
    """`tfnas.app.pipeline`, imported with TensorFlow's start-up lines hidden."""
    return _compat.import_quietly("tfnas.app.pipeline")


def _load_result(run_dir: str) -> Any:
    if not os.path.exists(os.path.join(run_dir, "oracle.json")):
        raise TfnasInputError(
            f"No search in {run_dir!r} (oracle.json is missing): pass the run directory, directory/project_name "
            "of the config (e.g. tfnas_runs/digits)."
        )
    return _pipeline().SearchResult.load(run_dir)
