"""The only place that chooses between Keras 3 (`keras`) and Keras 2 (`tf_keras`).

keras-tuner builds and trains Keras 3 models; TF-MOT only accepts tf_keras
models. Search-space builders take the Keras module as a parameter, so the
same architecture can be built with either. Nothing here imports TF-MOT, and
nothing here reads `tf.keras` (importing TF-MOT repoints it to tf_keras).
TF-MOT is imported through `tfmot()` only, which keeps TF-MOT's
`TF_USE_LEGACY_KERAS=1` out of the environment that child processes inherit.
"""

from __future__ import annotations

import logging
import os
from types import ModuleType

# Keep TensorFlow's C++ start-up chatter out of the user's way. Only a default:
# a value the user set wins. Lines TensorFlow writes before absl's C++ logging
# starts (e.g. "Could not find cuda drivers" from a CUDA build on a machine
# without a GPU) ignore this variable; nothing short of closing stderr hides them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# tfnas logs details to the `tfnas` logger; with no handler configured by the
# user, they go nowhere (not to stderr through logging's last resort).
logging.getLogger("tfnas").addHandler(logging.NullHandler())

import keras  # noqa: E402  (Keras 3, the public API of tfnas)


def keras3() -> ModuleType:
    """Returns the Keras 3 module that tfnas models use."""
    return keras


def tf_keras() -> ModuleType:
    """Returns the tf_keras (Keras 2) module, imported on first use."""
    import tf_keras as module

    return module


def is_keras3_model(model: object) -> bool:
    """True when `model` is a Keras 3 model (not a tf_keras one)."""
    return isinstance(model, keras.Model)


def tfmot() -> ModuleType:
    """Returns `tensorflow_model_optimization`, imported on first use.

    TF-MOT sets `TF_USE_LEGACY_KERAS=1` in `os.environ` when imported. That
    cannot be undone for this process (its `tf.keras` is tf_keras from then
    on), but it must not leak into child processes (TFLite Micro runs, search
    workers), so the variable is put back as it was.
    """
    before = os.environ.get("TF_USE_LEGACY_KERAS")
    import tensorflow_model_optimization as module

    if before is None:
        os.environ.pop("TF_USE_LEGACY_KERAS", None)
    else:
        os.environ["TF_USE_LEGACY_KERAS"] = before
    return module
