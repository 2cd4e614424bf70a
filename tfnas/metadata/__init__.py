"""TFLite metadata (schema `M001`) an Android app binds to: written by `tfnas.export`, read by `read`."""

from tfnas.metadata.read import read
from tfnas.metadata.spec import Metadata
from tfnas.metadata.write import attach

__all__ = [
    "Metadata",
    "attach",
    "read",
]
