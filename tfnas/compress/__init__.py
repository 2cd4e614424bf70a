"""Compression of searched models with TF-MOT: pruning, clustering, QAT, distillation, low rank, channel pruning.

`compress(model, x, y, stages=[Prune(0.5), QAT()])`: the stages are objects,
each checking its arguments when built. TF-MOT only accepts tf_keras models,
so `bridge` carries Keras 3 models over and back; nothing here imports
TF-MOT until a function needs it.
"""

from tfnas.compress.architecture_stages import LowRank
from tfnas.compress.architecture_stages import PruneChannels
from tfnas.compress.bridge import to_keras3
from tfnas.compress.bridge import to_tf_keras
from tfnas.compress.pipeline import compress
from tfnas.compress.plan import stages_from_kwargs
from tfnas.compress.result import CompressionResult
from tfnas.compress.result import StageReport
from tfnas.compress.stage import Stage
from tfnas.compress.stage import StageContext
from tfnas.compress.stages import QAT
from tfnas.compress.stages import Cluster
from tfnas.compress.stages import Distill
from tfnas.compress.stages import Prune

__all__ = [
    "QAT",
    "Cluster",
    "CompressionResult",
    "Distill",
    "LowRank",
    "Prune",
    "PruneChannels",
    "Stage",
    "StageContext",
    "StageReport",
    "compress",
    "stages_from_kwargs",
    "to_keras3",
    "to_tf_keras",
]
