"""Cost model: MACs, FLOPs, parameters, int8 `.tflite` size and TFLite Micro arena of a Keras 3 model.

`profile(model)` is fast (no conversion, no tracing) so a search can profile
every candidate before training it; `profiler_flops(model)` is the slow
TensorFlow-profiler reference its FLOPs are measured against.
"""

from tfnas.cost.profiler import profiler_flops
from tfnas.cost.report import COST_METRICS
from tfnas.cost.report import DEVICE_METRICS
from tfnas.cost.report import CostReport
from tfnas.cost.report import LayerCost
from tfnas.cost.report import profile

__all__ = ["COST_METRICS", "CostReport", "DEVICE_METRICS", "LayerCost", "profile", "profiler_flops"]
