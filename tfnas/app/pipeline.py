"""A config run from end to end: search, final training, then compress, export and verify the chosen candidate.

`tfnas search CONFIG` and `tfnas demo` both run through here, so the demo
is exactly what a config with `compression` and `export` sections does.
Each stage leaves its files in the run directory: `result.yaml`,
`front.png` and `history.png` (with matplotlib), the `.tflite` file, its C
array and `report.yaml`.
"""

from __future__ import annotations

import os
import time
from typing import Any

import yaml

from tfnas import distributed
from tfnas.app.config import SCHEMA
from tfnas.app.config import Config
from tfnas.app.export_metadata import check_metadata
from tfnas.app.export_metadata import export_metadata
from tfnas.app.sources import load_data
from tfnas.arguments import check_arguments
from tfnas.arguments import unknown_key
from tfnas.deploy import deploy_candidate
from tfnas.deploy import write_deployed
from tfnas.errors import TfnasInputError
from tfnas.finalize import FinalCandidate
from tfnas.image_files import FileImages
from tfnas.result import SearchResult
from tfnas.rewards.resolve import REWARDS
from tfnas.search import search

SCHEMA_EXPORT_DEFAULTS = {key: field["default"] for key, field in SCHEMA["export"].items()}


def search_kwargs(config: Config) -> dict[str, Any]:
    """The keyword arguments of `tfnas.search` a config gives (all but the data), every argument checked."""
    from tfnas.oracles import DEFAULT_ORACLE

    kwargs = dict(config.search)
    kwargs.update(
        validation_split=config.data["validation_split"],
        task=config.data["task"],
        space=build_space(config.space, config.path),
        reward=build_reward(config.reward, config.path),
        constraints={k: v for k, v in config.constraints.items() if v is not None},
        oracle=build_oracle({**config.oracle, "name": config.oracle["name"] or DEFAULT_ORACLE}, config.path),
        training=build_training(config.training),
        device=config.device_path,
    )
    if config.compression is not None:
        build_compression(config.compression, config.path)  # every stage argument is checked here, before the search
    if config.export is not None:
        check_metadata(config.export.get("metadata"))
    return kwargs


def build_compression(section: dict[str, Any], path: str | None = None) -> dict[str, Any]:
    """The `compression` section as arguments of `tfnas.compress`: its stage keys as `stages`, the rest as they are.

    The stage keys (`prune`, `qat`, `channels`, ...) go through
    `tfnas.compress.stages_from_kwargs`, the one builder of the keyword
    form, so `compression: {prune: 0.5, qat: true}` runs
    `stages=[Prune(0.5), QAT()]`; each stage checks its arguments there.
    `candidate` (which model to compress) is left out. With `max_drop` (and
    a list of strengths, `prune: [0.5, 0.7, 0.8]`) the keys stay keywords,
    since `tfnas.compress` builds one stage list per step; every step's stages are built here all the same.
    """
    from tfnas.compress.floor import check_ladder
    from tfnas.compress.plan import KEYWORDS
    from tfnas.compress.plan import stages_from_kwargs

    options = {key: value for key, value in section.items() if value is not None and key != "candidate"}
    keywords = {key: options.pop(key) for key in list(options) if key in KEYWORDS}
    ladder = check_ladder(keywords, options.get("max_drop"))
    name, values = ladder if ladder is not None else ("prune", [keywords.get("prune")])
    steps = [stages_from_kwargs(**{**keywords, name: value}) for value in values]
    stages = steps[0]
    if options.get("max_drop") is not None and stages:
        return {**options, **keywords}
    if not stages:
        raise TfnasInputError(
            f"'compression' in {_name(path)} asks for no stage: add e.g. `prune: 0.5`, `qat: true`, `channels: 0.5` or "
            "`target: {max_macs: 8000}`, or leave the section out."
        )
    return {**options, "stages": stages}


def build_training(section: dict[str, Any]) -> Any:
    """The `training` section as a `tfnas.Training` (its checks name the bad value before any training)."""
    from tfnas.training import Training

    return Training.from_any({k: v for k, v in section.items() if v is not None})


def build_space(section: dict[str, Any], path: str | None = None) -> Any:
    """A space name, or an `EdgeSpace` with the section's ranges (lists become tuples of choices)."""
    from tfnas.spaces.resolve import SPACES

    name, ranges = section["name"], {k: v for k, v in section.items() if k != "name"}
    if not ranges:
        return name
    if name not in SPACES:
        raise TfnasInputError(f"'space.name' must be one of {sorted(SPACES)} to set ranges (not {name!r}: 'auto' takes none).")
    cls = SPACES[name]
    for key in ranges:
        if key not in cls.RANGES:
            raise unknown_key(f"space.{key}", [f"space.{k}" for k in cls.RANGES], _name(path))
    kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in ranges.items()}
    return cls(**kwargs)


def build_reward(section: dict[str, Any], path: str | None = None) -> Any:
    """`pareto`, `mnasnet` or `linear` (`tfnas.rewards.resolve.REWARDS`) with the section's arguments."""
    cls = REWARDS[section["name"]]
    kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in section.items() if k != "name"}
    check_arguments(cls, kwargs, "reward", _name(path))
    return cls(**kwargs)


def build_oracle(section: dict[str, Any], path: str | None = None) -> str | dict[str, Any]:
    """The `oracle` section as `tfnas.search(oracle=...)` takes it (a name, or a dict with the strategy's arguments).

    Names come from `tfnas.oracles.ORACLES`; every argument is checked
    against the strategy's class here, so a misspelt one is reported with
    the config's key path before any training.
    """
    from tfnas.oracles import ORACLES

    name = section["name"]
    if name not in ORACLES:
        raise unknown_key(f"oracle.name={name}", [f"oracle.name={k}" for k in sorted(ORACLES)], _name(path))
    kwargs = {k: v for k, v in section.items() if k != "name"}
    if not kwargs:
        return name
    check_arguments(ORACLES[name], kwargs, "oracle", _name(path))
    return {"name": name, **kwargs}


def run_search(
    config: Config, data: tuple | None = None, files_dir: str | None = None, kwargs: dict[str, Any] | None = None
) -> SearchResult:
    """Runs `tfnas.search` as the config says (re-running resumes) and writes result.yaml and the plots.

    `kwargs` are `search_kwargs(config)` when the caller checked them
    already. The files go into the run directory, and also into `files_dir`
    when it is another folder.
    """
    kwargs = kwargs if kwargs is not None else search_kwargs(config)
    (x, y), _ = data if data is not None else load_data(config.data, config.base_dir)
    if isinstance(x, FileImages) and x.cache_dir is None:  # a large image folder's decoded cache goes next to the runs
        x.cache_dir = kwargs.get("directory") or "tfnas_runs"
    result = search(x, y, **kwargs)
    if not distributed.is_worker():
        write_search_files(result, files_dir)
    return result


def write_search_files(result: SearchResult, files_dir: str | None = None) -> list[str]:
    """Writes result.yaml, and front.png and history.png when matplotlib is installed, into the run directory.

    The pictures also go into `files_dir` when it is another folder. Returns the paths written.
    """
    paths = [os.path.join(result.project_dir, "result.yaml")]
    with open(paths[0], "w") as f:
        yaml.safe_dump(result.to_dict(), f, sort_keys=False)
    folders = [result.project_dir]
    if files_dir and os.path.abspath(files_dir) != os.path.abspath(result.project_dir):
        folders.append(files_dir)
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        return paths
    import matplotlib.pyplot as plt

    for folder in folders if result.completed else []:
        os.makedirs(folder, exist_ok=True)
        # searched with a device: the front against the predicted milliseconds, what the limit is on
        cost = "latency_ms" if any("latency_ms" in t.metrics for t in result.completed) else "macs"
        for name, plot in (("front.png", result.plot), ("history.png", result.plot_history)):
            plt.close(plot(os.path.join(folder, name), cost=cost))
            paths.append(os.path.join(folder, name))
    return paths


def finalize(config: Config, result: SearchResult, data: tuple) -> list:
    """Test figures for every trial (`result.evaluate`), then the `final` section's final training, if any.

    The test split is never seen by the search: these figures only report,
    they choose nothing. Writes `result.yaml` and the plots again with them.
    """
    (x, y), (x_test, y_test) = data
    if not result.completed:
        return []
    result.evaluate(x_test, y_test)
    final = []
    if config.final is not None:
        section = config.final
        final = result.finalize(
            x, y, top=section["top"], epochs=section["epochs"], seeds=section["seeds"], x_test=x_test, y_test=y_test
        )
    write_search_files(result)
    return final


def deploy(config: Config, result: SearchResult, data: tuple, output_dir: str) -> dict[str, Any]:
    """Compresses (when configured), exports and verifies the chosen candidate; writes and returns report.yaml's content.

    With a `final` section the candidate is the final training's first (the
    most accurate on validation, retrained on training + validation data);
    else the `compression.candidate` the config names. The deployed file's
    record joins the run directory's `deployed.yaml`, so `front.png`
    (redrawn here, and by `tfnas report` later) shows its int8 point.
    """
    (x, y), (x_test, y_test) = data
    which = (config.compression or {}).get("candidate")
    candidate = (
        result.final[0] if config.final is not None and result.final
        else result.candidate(None if which in (None, "best") else which)
    )
    export_options = dict(config.export or SCHEMA_EXPORT_DEFAULTS)
    start = time.perf_counter()
    done = deploy_candidate(
        candidate, os.path.join(output_dir, export_options["filename"]), x, y, x_test, y_test,
        compress_kwargs=(
            {**build_compression(config.compression, config.path), "training": build_training(config.training),
             "device": config.device_path}
            if config.compression is not None else None
        ),
        export_kwargs={
            **{k: export_options[k] for k in ("quantization", "c_array", "target", "strip_names")},
            "metadata": export_metadata(export_options.get("metadata"), export_options, config.data, config.base_dir,
                                        candidate, {k: v for k, v in config.constraints.items() if v is not None}),
        },
        verify_file=export_options["verify"], device=config.device_path,
    )
    report: dict[str, Any] = {
        "candidate": candidate.trial_id,
        "final_training": (
            {"epochs": candidate.epochs, "seed": candidate.seeds[0]} if isinstance(candidate, FinalCandidate) else None
        ),
        "hyperparameters": candidate.hyperparameters,
        "metrics": candidate.metrics,
        "compression": config.compression,
        "export": done.exported.to_dict(),
    }
    if done.verified is not None:
        report["verify"] = done.verified.to_dict()
        assert done.record is not None  # a verified file has its record
        result.deployed = [d for d in result.deployed if d.path != done.record.path] + [done.record]
        write_deployed(result.project_dir, result.deployed)
        write_search_files(result, output_dir)
    report["deploy_seconds"] = time.perf_counter() - start
    with open(os.path.join(output_dir, "report.yaml"), "w") as f:
        yaml.safe_dump(report, f, sort_keys=False)
    return report


def _name(path: str | None) -> str:
    return os.path.basename(path) if path else "the config"
