"""Errors of tfnas: which ones stop a search, which ones fail one trial, which ones reject input.

keras-tuner decides what happens to a trial from the class of the error it
raised (`keras_tuner.errors`): a `FatalError` stops the search, a
`FailedTrialError` fails only that trial. tfnas errors follow the same split
and add `TfnasInputError` for bad input, raised before any training starts.
Every message names the problem and the fix.
"""

from __future__ import annotations

import keras_tuner as kt


class TfnasError(Exception):
    """Base class of every error tfnas raises on purpose."""


class TfnasInputError(TfnasError, ValueError):
    """Bad input (data, arguments, config): raised before any training starts."""


class InfeasibleSearchError(TfnasError, kt.errors.FatalError):
    """No candidate in the search space meets the hard constraints."""


class TrialFailedError(TfnasError, kt.errors.FailedTrialError):
    """One trial failed (for example its loss became NaN); the search goes on."""


class DistributedSearchError(TfnasError, RuntimeError):
    """A chief/worker search cannot go on (the chief is unreachable, the run directory is not shared, ...)."""
