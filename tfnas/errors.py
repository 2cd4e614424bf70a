"""Errors of tfnas: which ones stop a search, which ones fail one trial, which ones reject input.

keras-tuner decides what happens to a trial from the class of the error it
raised (`keras_tuner.errors`): a `FatalError` stops the search, a
`FailedTrialError` fails only that trial. tfnas errors follow the same split
and add `TfnasInputError` for bad input, raised before any training starts.
Every message names the problem and the fix.

The two classes keras-tuner must recognise subclass its error classes.
Importing keras-tuner imports Keras and TensorFlow (seconds), and importing
this module must not, or a config file with a typo would take seconds to be
refused: so they are declared statically for type checkers and readers
(under `TYPE_CHECKING`) and made at run time, with the same bases and
docstrings, on first use (the module's `__getattr__`, from
`_KERAS_TUNER_ERRORS`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any


class TfnasError(Exception):
    """Base class of every error tfnas raises on purpose."""


class TfnasInputError(TfnasError, ValueError):
    """Bad input (data, arguments, config): raised before any training starts."""


class DistributedSearchError(TfnasError, RuntimeError):
    """A chief/worker search cannot go on (the chief is unreachable, the run directory is not shared, ...)."""


class BridgeMismatchError(TfnasError):
    """The tf_keras rebuild of a Keras 3 model (for TF-MOT) does not compute what the Keras 3 model computes."""


class ConversionError(TfnasError):
    """The TFLite converter rejected the model."""


class MicroRunError(TfnasError, RuntimeError):
    """TFLite Micro failed or crashed on the model."""


class TfnasVersionWarning(UserWarning):
    """An installed library is not the version whose private parts a tfnas compat module was checked against.

    Said once per process and library. Silence it with
    `warnings.filterwarnings("ignore", category=tfnas.TfnasVersionWarning)`.
    """


_KERAS_TUNER_ERRORS = {
    "InfeasibleSearchError": ("FatalError", "No candidate in the search space meets the hard constraints."),
    "TrialFailedError": ("FailedTrialError", "One trial failed (for example its loss became NaN); the search goes on."),
}

if TYPE_CHECKING:  # the run-time classes are made by `__getattr__`, with these bases and docstrings
    import keras_tuner as kt

    class InfeasibleSearchError(TfnasError, kt.errors.FatalError):
        """No candidate in the search space meets the hard constraints."""

    class TrialFailedError(TfnasError, kt.errors.FailedTrialError):
        """One trial failed (for example its loss became NaN); the search goes on."""


def __getattr__(name: str) -> Any:
    """`InfeasibleSearchError` (a keras-tuner `FatalError`) and `TrialFailedError` (a `FailedTrialError`)."""
    if name not in _KERAS_TUNER_ERRORS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import keras_tuner as kt

    base, doc = _KERAS_TUNER_ERRORS[name]
    cls = type(name, (TfnasError, getattr(kt.errors, base)), {"__doc__": doc, "__module__": __name__})
    globals()[name] = cls  # created once: later imports get the same class
    return cls
