"""The only place that touches TF-MOT's private internals (`tensorflow_model_optimization.python...`).

TF-MOT's public API clusters a layer (`cluster_weights`) but cannot say
beforehand whether it can: the registry `cluster_weights` consults is
private. tfnas asks it while planning, so a layer TF-MOT cannot cluster is
listed with the reason instead of failing mid-way. Checked against the
versions in `CHECKED` (`tfnas._versions` warns once when the installed ones
differ); when a TF-MOT release moves the registry, this module is the one to
change.

Importing this module imports no TF-MOT: importing TF-MOT points `tf.keras`
at tf_keras for the whole process, so it is imported only inside the
functions, through `tfnas._compat.tfmot`.
"""

from __future__ import annotations

from typing import Any

from tfnas import _compat
from tfnas import _versions

CHECKED = {"tensorflow-model-optimization": "0.8.1"}


def clustering_registry() -> Any:
    """TF-MOT's `ClusteringRegistry`: `supports(layer)` says whether `cluster_weights` can cluster a tf_keras layer."""
    _versions.check(CHECKED, __name__)
    _compat.tfmot()
    from tensorflow_model_optimization.python.core.clustering.keras.clustering_registry import ClusteringRegistry

    return ClusteringRegistry
