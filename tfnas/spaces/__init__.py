"""Search spaces: keras-tuner HyperModels whose models run in int8 on TFLite Micro."""

from __future__ import annotations

from tfnas.spaces.auto import ImageSpace
from tfnas.spaces.auto import SignalSpace
from tfnas.spaces.auto import SpectrogramSpace
from tfnas.spaces.base import EdgeSpace
from tfnas.spaces.cnn import CNN1DSpace
from tfnas.spaces.cnn import CNN2DSpace
from tfnas.spaces.dscnn1d import DSCNN1DSpace
from tfnas.spaces.dscnn2d import DSCNN2DSpace
from tfnas.spaces.family import FamilySpace
from tfnas.spaces.mlp import MLPSpace
from tfnas.spaces.mobilenet import MobileNetSpace
from tfnas.spaces.resolve import SPACES
from tfnas.spaces.resolve import FunctionSpace
from tfnas.spaces.resolve import get_space

__all__ = [
    "CNN1DSpace",
    "CNN2DSpace",
    "DSCNN1DSpace",
    "DSCNN2DSpace",
    "EdgeSpace",
    "FamilySpace",
    "FunctionSpace",
    "ImageSpace",
    "MLPSpace",
    "MobileNetSpace",
    "SPACES",
    "SignalSpace",
    "SpectrogramSpace",
    "get_space",
]
