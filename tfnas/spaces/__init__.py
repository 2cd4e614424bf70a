"""Search spaces: keras-tuner HyperModels whose models run in int8 on TFLite Micro."""

from __future__ import annotations

from tfnas.spaces.base import EdgeSpace
from tfnas.spaces.dscnn1d import DSCNN1DSpace
from tfnas.spaces.mlp import MLPSpace
from tfnas.spaces.mobilenet import MobileNetSpace
from tfnas.spaces.resolve import SPACES
from tfnas.spaces.resolve import FunctionSpace
from tfnas.spaces.resolve import get_space

__all__ = [
    "DSCNN1DSpace",
    "EdgeSpace",
    "FunctionSpace",
    "MLPSpace",
    "MobileNetSpace",
    "SPACES",
    "get_space",
]
