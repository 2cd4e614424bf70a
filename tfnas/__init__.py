"""tfnas: hardware-aware neural architecture search for phones and microcontrollers.

Keras 3 models in and out; keras-tuner proposes and trains, tfnas's Oracle
scores accuracy against cost under hard limits. Importing tfnas does not
import TF-MOT and does not change what `tf.keras` is.

The public names below are imported on first use (PEP 562), so `import tfnas`
and the `tfnas` command start without TensorFlow: a config file with a typo is
refused in well under a second. `_EXPORTS` is the one place each is declared.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from tfnas import _compat  # first: its `import_quietly` keeps TensorFlow's start-up lines out of the user's way

__version__ = "0.1.0"

_EXPORTS = {
    "BridgeMismatchError": "tfnas.errors",
    "Candidate": "tfnas.candidate",
    "CompressionResult": "tfnas.compress",
    "Constraints": "tfnas.constraints",
    "ConversionError": "tfnas.errors",
    "DistributedSearchError": "tfnas.errors",
    "EdgeTuner": "tfnas.tuner",
    "ExportReport": "tfnas.export",
    "FinalCandidate": "tfnas.finalize",
    "InfeasibleSearchError": "tfnas.errors",
    "MicroRunError": "tfnas.errors",
    "SearchResult": "tfnas.result",
    "Task": "tfnas.task",
    "Training": "tfnas.training",
    "TfnasError": "tfnas.errors",
    "TfnasInputError": "tfnas.errors",
    "TfnasVersionWarning": "tfnas.errors",
    "TrialFailedError": "tfnas.errors",
    "VerifyReport": "tfnas.verify",
    "compress": "tfnas.compress",
    "deploy_front": "tfnas.deploy",
    "export": "tfnas.export",
    "search": "tfnas.search",
    "verify": "tfnas.verify",
}
_SUBPACKAGES = ("cost", "distributed", "metadata", "oracles", "pareto", "rewards", "spaces")

# Functions named like the module that holds them: importing `tfnas.search` (the module) must not
# rebind `tfnas.search` (the function), as the import system does for every submodule it loads.
_FUNCTIONS = ("compress", "export", "search", "verify")

__all__ = sorted([*_EXPORTS, *_SUBPACKAGES])


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FUNCTIONS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return _compat.import_quietly(f"tfnas.{name}")
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tfnas' has no attribute {name!r}")
    value = getattr(_compat.import_quietly(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


sys.modules[__name__].__class__ = _Package
