"""The YAML run configuration: its schema as plain data, validation with key paths, and `Config`.

A config file names the data, the search space, the reward, the hard limits,
the strategy, the budget, and optionally the compression and export of the
best candidate. It is read with `yaml.safe_load` and checked against
`SCHEMA` before TensorFlow is imported or anything is trained, so a misspelt
key fails in well under a second with its path and the nearest valid key, not
after an hour. (This module imports only modules that import no TensorFlow;
the arguments of the space, reward and oracle a section names are checked
against their classes by `tfnas.app.pipeline`, still before any training.)

Example (`examples/digits.yaml`):

```yaml
data: {source: digits}
constraints: {max_macs: 20000}
search: {max_trials: 12, epochs: 30, directory: tfnas_runs, project_name: digits}
training: {schedule: cosine, label_smoothing: 0.1}
final: {top: 1, seeds: 1}
compression: {prune: 0.5, qat: true, epochs: 5}
export: {quantization: int8, c_array: true}
```
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from typing import Any

import yaml

from tfnas.arguments import unknown_key
from tfnas.constraints import FLOAT_LIMITS
from tfnas.constraints import Constraints
from tfnas.errors import TfnasInputError
from tfnas.export.api import TARGETS
from tfnas.export.convert import QUANTIZATIONS
from tfnas.rewards.resolve import REWARDS
from tfnas.task import TASKS

ANY_KEY = "*"  # in a section: other keys are keyword arguments, checked against the class `name` picks
SCALAR = "_scalar"  # in a section: the key a bare value fills (`space: mobilenet` -> `space: {name: mobilenet}`)
REQUIRED = "required"
NUMBER = (int, float)

SCHEMA: dict[str, dict[str, Any]] = {
    "data": {
        SCALAR: "source",
        "source": {"type": str, "default": REQUIRED, "help": "digits, mnist1d, or a .npz, .npy, .csv file or an image folder"},
        "x_key": {"type": str, "default": "x"},
        "y_key": {"type": str, "default": "y"},
        "x_test_key": {"type": str, "default": "x_test"},
        "y_test_key": {"type": str, "default": "y_test"},
        "y_file": {"type": str, "default": None, "help": "labels .npy next to a .npy source"},
        "x_test_file": {"type": str, "default": None},
        "y_test_file": {"type": str, "default": None},
        "label_column": {"type": str, "default": "label", "help": "CSV column holding the labels"},
        "image_size": {"type": list, "default": None, "help": "[height, width] images are resized to"},
        "color_mode": {"type": str, "allowed": ("grayscale", "rgb", "rgba"), "default": "rgb"},
        "test_split": {"type": float, "default": 0.25, "help": "share held out for testing when the source has no test part"},
        "validation_split": {"type": float, "default": 0.2},
        "task": {"type": str, "allowed": TASKS, "default": None},
        "seed": {"type": int, "default": 0},
    },
    "space": {SCALAR: "name", "name": {"type": str, "default": "auto"}, ANY_KEY: "ranges of the space"},
    "reward": {
        SCALAR: "name",
        "name": {"type": str, "allowed": tuple(REWARDS), "default": "pareto"},
        ANY_KEY: "arguments of the reward class",
    },
    "constraints": {f.name: {"type": NUMBER if f.name in FLOAT_LIMITS else int, "default": None}
                    for f in dataclasses.fields(Constraints)},  # fmt: skip
    "device": {  # the device latency is predicted on: `device: phone.json` (made by `tfnas calibrate phone.json`)
        SCALAR: "profile",
        "profile": {"type": str, "default": None, "help": "a device profile JSON, relative to the config's folder"},
    },
    "oracle": {
        SCALAR: "name",
        "name": {"type": str, "default": None, "help": "a strategy of tfnas.oracles.ORACLES; None: tfnas.search's default"},
        ANY_KEY: "arguments of the oracle class",
    },
    "search": {
        "max_trials": {"type": int, "default": 20},
        "epochs": {"type": int, "default": 10},
        "batch_size": {"type": int, "default": 32},
        "seed": {"type": int, "default": None},
        "directory": {"type": str, "default": "tfnas_runs"},
        "project_name": {"type": str, "default": "search"},
        "overwrite": {"type": bool, "default": False},
        "verbose": {"type": int, "default": 1},
    },
    "training": {  # the fields of tfnas.Training; None keeps its default (checked by it before any training)
        "schedule": {"type": str, "default": None, "help": "cosine, plateau or constant"},
        "warmup_epochs": {"type": int, "default": None},
        "patience": {"type": int, "default": None},
        "label_smoothing": {"type": float, "default": None},
        "weight_decay": {"type": float, "default": None},
        "batch_size": {"type": int, "default": None},
        "shift": {"type": float, "default": None},
        "noise": {"type": float, "default": None},
        "final_epochs": {"type": int, "default": None},
    },
    "final": {  # SearchResult.finalize: retrain the most accurate front candidates on training + validation
        "top": {"type": int, "default": 1},
        "epochs": {"type": int, "default": None, "help": "None: training.final_epochs, else 3x search.epochs"},
        "seeds": {"type": int, "default": 1},
    },
    "compression": {  # stage keys build tfnas.compress's stages (`pipeline.build_compression`); the rest are shared
        "candidate": {"type": str, "default": None, "help": "best (default), most_accurate, or a trial id"},
        "prune": {"type": (float, dict, list), "default": None, "help": "a list of sparsities to try needs max_drop"},
        "structure": {"type": str, "default": None},
        "cluster": {"type": int, "default": None},
        "qat": {"type": bool, "default": False},
        "lowrank": {"type": NUMBER, "default": None},
        "channels": {"type": (float, dict, list), "default": None,
                     "help": "share of filters channel pruning removes (a list of shares to try needs max_drop)"},
        "channel_criterion": {"type": str, "allowed": ("l1", "l2", "bn", "taylor"), "default": None},
        "channel_allocation": {"type": str, "allowed": ("uniform", "sensitivity"), "default": None},
        "channel_steps": {"type": int, "default": None},
        "target": {"type": dict, "default": None, "help": "cost limits channel pruning meets, e.g. {max_macs: 8000}"},
        "epochs": {"type": int, "default": None, "help": "None: each stage fine-tunes until it recovers"},
        "tolerance": {"type": float, "default": None, "help": "recovered: within this of the original (validation)"},
        "patience": {"type": int, "default": None, "help": "epochs without improvement before a stage stops"},
        "distill": {"type": bool, "default": None, "help": "fine-tune on the original model's softened outputs too"},
        "max_drop": {"type": float, "default": None, "help": "accuracy floor: the strongest step within it is kept"},
        "batch_size": {"type": int, "default": 32},
        "learning_rate": {"type": float, "default": None},
        "keep": {"type": list, "default": None},
        "seed": {"type": int, "default": 0},
    },
    "export": {
        "quantization": {"type": str, "allowed": QUANTIZATIONS, "default": "int8"},
        "c_array": {"type": bool, "default": False},
        "strip_names": {"type": bool, "default": False, "help": "drop tensor names from the file (saves flash)"},
        "target": {"type": str, "allowed": TARGETS, "default": None},
        "filename": {"type": str, "default": "model.tflite", "help": "written in the run directory"},
        "verify": {"type": bool, "default": True, "help": "run the file on LiteRT and TFLite Micro"},
        "metadata": {"type": (bool, dict), "default": None,
                     "help": "TFLite metadata for Android apps: true, false or its fields; default: on for target litert"},
    },
}
OPTIONAL_SECTIONS = ("final", "compression", "export")  # absent: that stage does not run


@dataclasses.dataclass
class Config:
    """A validated run configuration: one dict per section, every default filled in.

    `final`, `compression` and `export` are None when the file leaves them
    out (those stages then do not run). `path` is the file it came from; data paths are
    relative to its folder, the run `directory` to the working directory
    (keras-tuner's convention).
    """

    data: dict[str, Any]
    space: dict[str, Any]
    reward: dict[str, Any]
    constraints: dict[str, Any]
    oracle: dict[str, Any]
    search: dict[str, Any]
    training: dict[str, Any] = dataclasses.field(default_factory=dict)
    final: dict[str, Any] | None = None
    compression: dict[str, Any] | None = None
    export: dict[str, Any] | None = None
    device: dict[str, Any] = dataclasses.field(default_factory=lambda: {"profile": None})
    path: str | None = None

    @property
    def base_dir(self) -> str:
        """The folder data paths are relative to."""
        return os.path.dirname(os.path.abspath(self.path)) if self.path else os.getcwd()

    @property
    def device_path(self) -> str | None:
        """The device profile's path (relative to the config's folder), or None without a `device` section."""
        profile = self.device.get("profile") if self.device else None
        return os.path.join(self.base_dir, profile) if profile else None

    @property
    def run_dir(self) -> str:
        """The search's run directory, `directory/project_name`."""
        return os.path.join(self.search["directory"], self.search["project_name"])

    def to_dict(self) -> dict[str, Any]:
        """The sections as plain data (what `to_yaml` writes and `parse_config` reads back)."""
        sections = {name: getattr(self, name) for name in SCHEMA}
        return {name: dict(value) for name, value in sections.items() if value is not None}

    def to_yaml(self) -> str:
        """The config as YAML text, every default written out."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def load_config(path: str) -> Config:
    """Reads and validates a YAML config file.

    Raises:
        TfnasInputError: a missing file, a YAML syntax error (with its line),
            an unknown key (with the nearest valid one), a value of the wrong
            type or outside the allowed values (with its key path).
    """
    if not os.path.isfile(path):
        raise TfnasInputError(f"No config file at {path!r}: pass the path of a YAML file such as examples/digits.yaml.")
    with open(path) as f:
        text = f.read()
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise TfnasInputError(f"YAML syntax error in {path}{where}: {problem}. Fix the YAML there.") from None
    return parse_config(raw, path)


def parse_config(raw: Any, path: str | None = None) -> Config:
    """Validates a config given as a dict (what `yaml.safe_load` returns) and fills in the defaults."""
    name = os.path.basename(path) if path else "the config"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise TfnasInputError(f"{name} must be a mapping of sections ({', '.join(SCHEMA)}). Received: {type(raw).__name__}")
    for key in raw:
        if key not in SCHEMA:
            raise unknown_key(str(key), list(SCHEMA), name)
    if "data" not in raw:
        raise TfnasInputError(f"{name} has no 'data' section: add e.g. `data: {{source: digits}}`.")
    sections: dict[str, Any] = {}  # section -> its checked dict, or None for an optional section left out
    for section, schema in SCHEMA.items():
        if section in OPTIONAL_SECTIONS and raw.get(section) is None:
            sections[section] = None
            continue
        sections[section] = _section(section, raw.get(section), schema, name)
    return Config(**sections, path=path)


def _section(section: str, value: Any, schema: dict[str, Any], name: str) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        if SCALAR not in schema:
            raise TfnasInputError(f"'{section}' in {name} must be a mapping of keys. Received: {value!r}")
        value = {schema[SCALAR]: value}
    fields = {k: v for k, v in schema.items() if k not in (ANY_KEY, SCALAR)}
    result = {}
    for key, item in value.items():
        if key in fields:
            result[key] = _check(f"{section}.{key}", item, fields[key], name)
        elif ANY_KEY in schema:
            result[key] = item  # checked against the class `name` picks, when it is built
        else:
            raise unknown_key(f"{section}.{key}", [f"{section}.{k}" for k in fields], name)
    for key, field in fields.items():
        if key not in result:
            if field["default"] == REQUIRED:
                raise TfnasInputError(f"'{section}.{key}' is missing in {name}: {field.get('help', 'add it')}.")
            result[key] = field["default"]
    return result


def _check(key_path: str, value: Any, field: dict[str, Any], name: str) -> Any:
    """Checks one value's type and allowed values; ints are accepted where floats are."""
    if value is None:
        return None
    types = field["type"] if isinstance(field["type"], tuple) else (field["type"],)
    accepted = types + ((int,) if float in types else ())
    if isinstance(value, bool) and bool not in types or not isinstance(value, accepted):
        expected = " or ".join(_TYPE_NAMES[t] for t in types)
        raise TfnasInputError(
            f"'{key_path}' in {name} must be {expected}. Received: {key_path}={value!r} ({type(value).__name__})"
        )
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    allowed = field.get("allowed")
    if allowed is not None and value not in allowed:
        close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise TfnasInputError(f"'{key_path}' in {name} must be one of {list(allowed)}. Received: {value!r}.{hint}")
    return value


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list", dict: "a mapping"}
