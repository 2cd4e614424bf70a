"""Warm starts: the hyperparameter values of earlier searches that a new search proposes first."""

from __future__ import annotations

import os
from typing import Any

from tfnas.candidate import ranked
from tfnas.errors import TfnasInputError
from tfnas.result import SearchResult

WARM_START_TOP = 5  # candidates taken from each earlier search's front


def warm_start_values(warm_start: Any) -> list[dict[str, Any]]:
    """Hyperparameter values to propose first: the most accurate front members of each earlier search.

    Args:
        warm_start: None, a `SearchResult`, a run directory
            (`directory/project_name`), or a list of those.

    Raises:
        TfnasInputError: a directory without a search, or another kind of object.
    """
    if warm_start is None:
        return []
    sources = warm_start if isinstance(warm_start, (list, tuple)) else [warm_start]
    values: list[dict[str, Any]] = []
    for source in sources:
        if isinstance(source, (str, os.PathLike)):
            try:
                source = SearchResult.load(os.fspath(source))
            except FileNotFoundError as e:
                raise TfnasInputError(
                    f"warm_start={os.fspath(source)!r}: {e} Pass a run directory (directory/project_name)."
                ) from None
        if not isinstance(source, SearchResult):
            raise TfnasInputError(
                f"warm_start={source!r} must be a SearchResult or a run directory (directory/project_name), or a list of them."
            )
        best = ranked(source.pareto, source.quality, source.direction)[:WARM_START_TOP]
        values.extend(dict(c.hyperparameters) for c in best)
    return values
