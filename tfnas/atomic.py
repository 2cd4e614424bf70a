"""Atomic files: a reader, a crash or a kill never sees half a file, nor a file from two writers.

Everything a search writes into its run directory (`oracle.json`, each
`trial.json`, `model.keras` and its record, `failure.txt`, the tuner's state)
is written to a temporary name beside its target, flushed to disk, and then
renamed over it. A rename within one folder is atomic on POSIX file systems,
so the target is always either the old file or the whole new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def replacing(path: str) -> Iterator[str]:
    """Yields a temporary path beside `path` (same extension); renames it over `path` when the block succeeds.

    Example:

    ```python
    with replacing("run/trial_0/model.keras") as tmp:
        model.save(tmp)          # a kill here leaves model.keras as it was
    ```
    """
    root, extension = os.path.splitext(path)
    temporary = f"{root}.tmp-{os.getpid()}{extension}"
    try:
        yield temporary
        with open(temporary, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_text(path: str, text: str) -> None:
    """Writes `text` to `path` atomically."""
    with replacing(path) as temporary, open(temporary, "w") as f:
        f.write(text)


def write_json(path: str, value: Any) -> str:
    """Writes `value` as JSON to `path` atomically; returns the text (as keras-tuner's `save_json` does)."""
    text = json.dumps(value)
    write_text(path, text)
    return text


def file_sha256(path: str) -> str:
    """The SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def values_sha256(values: dict[str, Any]) -> str:
    """The SHA-256 of hyperparameter values, independent of key order."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()
