"""A config run from end to end: search, then compress, export and verify the chosen candidate.

`tfnas search CONFIG` and `tfnas demo` both run through here, so the demo
is exactly what a config with `compression` and `export` sections does.
Each stage leaves its files in the run directory: `result.yaml`,
`front.png` and `history.png` (with matplotlib), the `.tflite` file, its C
array and `report.yaml`.
"""

from __future__ import annotations

import inspect
import os
import time
from typing import Any

import yaml

from tfnas.config import Config
from tfnas.config import unknown_argument
from tfnas.deploy import DeployedCandidate
from tfnas.errors import TfnasInputError
from tfnas.result import SearchResult
from tfnas.sources import load_data


def search_kwargs(config: Config) -> dict[str, Any]:
    """The keyword arguments of `tfnas.search` a config gives (all but the data)."""
    kwargs = dict(config.search)
    kwargs.update(
        validation_split=config.data["validation_split"],
        task=config.data["task"],
        space=build_space(config.space, config.path),
        reward=build_reward(config.reward, config.path),
        constraints={k: v for k, v in config.constraints.items() if v is not None},
        oracle=config.oracle["name"],
    )
    return kwargs


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
            raise unknown_argument(f"space.{key}", [f"space.{k}" for k in cls.RANGES], _name(path))
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in ranges.items()})


def build_reward(section: dict[str, Any], path: str | None = None) -> Any:
    """`pareto`, `mnasnet` or `linear` with the section's arguments."""
    from tfnas.rewards import Linear
    from tfnas.rewards import MnasNet
    from tfnas.rewards import Pareto

    cls = {"pareto": Pareto, "mnasnet": MnasNet, "linear": Linear}[section["name"]]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in section.items() if k != "name"}
    _check_arguments(cls, kwargs, "reward", path)
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise TfnasInputError(f"reward {section['name']!r}: {e}. See the arguments of tfnas.rewards.{cls.__name__}.") from None


def build_oracle(section: dict[str, Any], path: str | None = None, **search_args: Any) -> Any:
    """The oracle's name, or an instance with the section's arguments; names come from `tfnas.oracles.ORACLES`."""
    from tfnas.oracles import ORACLES

    name = section["name"]
    if name not in ORACLES:
        raise unknown_argument(f"oracle.name={name}", [f"oracle.name={k}" for k in sorted(ORACLES)], _name(path))
    kwargs = {k: v for k, v in section.items() if k != "name"}
    if not kwargs:
        return name
    for key in set(kwargs) & set(search_args):
        raise TfnasInputError(f"Set {key} in the 'search' section (or 'constraints', 'reward'), not in 'oracle'.")
    _check_arguments(ORACLES[name], kwargs, "oracle", path)
    return ORACLES[name](**search_args, **kwargs)


def run_search(config: Config, data: tuple | None = None, files_dir: str | None = None, **overrides: Any) -> SearchResult:
    """Runs `tfnas.search` as the config says (re-running resumes) and writes result.yaml and the plots.

    The files go into the run directory, and also into `files_dir` when it is another folder.
    """
    import keras_tuner as kt

    import tfnas
    from tfnas.cost.constraints import Constraints
    from tfnas.rewards import get_reward

    (x, y), _ = data if data is not None else load_data(config.data, config.base_dir)
    kwargs = {**search_kwargs(config), **overrides}
    if len(config.oracle) > 1:  # arguments for the strategy: build it here with the search's objective
        regression = kwargs["task"] == "regression" or (kwargs["task"] is None and y.dtype.kind == "f")
        objective = kt.Objective("val_loss", "min") if regression else kt.Objective("val_accuracy", "max")
        kwargs["oracle"] = build_oracle(
            config.oracle, config.path, objective=objective, max_trials=kwargs["max_trials"], seed=kwargs["seed"],
            reward=get_reward(kwargs["reward"]), constraints=Constraints.from_any(kwargs["constraints"]),
        )
    else:
        build_oracle(config.oracle, config.path)
    result = tfnas.search(x, y, **kwargs)
    if not tfnas.distributed.is_worker():
        write_search_files(result)
        if files_dir and os.path.abspath(files_dir) != os.path.abspath(result.project_dir):
            write_search_files(result, files_dir, yaml_file=False)
    return result


def write_search_files(result: SearchResult, folder: str | None = None, yaml_file: bool = True) -> list[str]:
    """Writes result.yaml, and front.png and history.png when matplotlib is installed; returns the paths.

    The folder defaults to the run directory.
    """
    folder = folder or result.project_dir
    os.makedirs(folder, exist_ok=True)
    paths = [os.path.join(folder, "result.yaml")] if yaml_file else []
    if yaml_file:
        with open(paths[0], "w") as f:
            yaml.safe_dump(result.to_dict(), f, sort_keys=False)
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        return paths
    import matplotlib.pyplot as plt

    for name, plot in (("front.png", result.plot), ("history.png", result.plot_history)):
        if result.completed:
            plt.close(plot(os.path.join(folder, name)))
            paths.append(os.path.join(folder, name))
    return paths


def deploy(config: Config, result: SearchResult, data: tuple, output_dir: str) -> dict[str, Any]:
    """Compresses (when configured), exports and verifies the chosen candidate; writes and returns report.yaml's content."""
    import tfnas

    (x, y), (x_test, y_test) = data
    options = dict(config.compression or {})
    which = options.pop("candidate", None)
    which = None if which in (None, "best") else which
    candidate = result.candidate(which)
    start = time.perf_counter()
    source: Any = candidate
    if config.compression is not None:
        source = result.compress(x, y, candidate=candidate, validation_data=(x_test, y_test), **_drop_none(options))
    export_options = dict(config.export or {"quantization": "int8", "c_array": False, "target": None, "filename": "model.tflite", "verify": True})
    path = os.path.join(output_dir, export_options["filename"])
    exported = tfnas.export(
        source, path, quantization=export_options["quantization"], c_array=export_options["c_array"],
        target=export_options["target"], representative_data=x[:200],
    )
    report: dict[str, Any] = {
        "candidate": candidate.trial_id,
        "hyperparameters": candidate.hyperparameters,
        "metrics": candidate.metrics,
        "compression": config.compression,
        "export": exported.to_dict(),
    }
    if export_options["verify"]:
        check = tfnas.verify(path, x_test, y_test, model=candidate.model())
        report["verify"] = check.to_dict()
        if check.micro_value is not None:  # front.png gains the int8 file's point, measured on TFLite Micro
            compressed = source if config.compression is not None else None
            result.deployed = [DeployedCandidate.measured(candidate, compressed, exported, check)]
            write_search_files(result, output_dir, yaml_file=False)
    report["deploy_seconds"] = time.perf_counter() - start
    with open(os.path.join(output_dir, "report.yaml"), "w") as f:
        yaml.safe_dump(report, f, sort_keys=False)
    return report


def _check_arguments(cls: type, kwargs: dict[str, Any], section: str, path: str | None) -> None:
    parameters = {}
    for klass in cls.__mro__:  # an oracle's own arguments and its base classes'
        if "__init__" in vars(klass):
            parameters.update(inspect.signature(klass.__init__).parameters)
    names = [n for n, p in parameters.items() if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    for key in kwargs:
        if key not in names:
            raise unknown_argument(f"{section}.{key}", [f"{section}.{n}" for n in names], _name(path))


def _drop_none(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}


def _name(path: str | None) -> str:
    return os.path.basename(path) if path else "the config"

