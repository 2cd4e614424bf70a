"""Compression of searched models with TF-MOT: pruning, clustering, QAT, distillation, low rank.

TF-MOT only accepts tf_keras models, so `bridge` carries Keras 3 models over
and back; nothing here imports TF-MOT until a function needs it.
"""

from tfnas.compress.bridge import to_keras3
from tfnas.compress.bridge import to_tf_keras
from tfnas.compress.pipeline import compress
from tfnas.compress.result import CompressionResult
from tfnas.compress.result import StageReport

__all__ = [
    "CompressionResult",
    "StageReport",
    "compress",
    "to_keras3",
    "to_tf_keras",
]
