"""The only place that chooses between Keras 3 (`keras`) and Keras 2 (`tf_keras`).

keras-tuner builds and trains Keras 3 models; TF-MOT only accepts tf_keras
models. Search-space builders take the Keras module as a parameter, so the
same architecture can be built with either. Nothing here imports TF-MOT, and
nothing here reads `tf.keras` (importing TF-MOT repoints it to tf_keras).
"""

from __future__ import annotations

import os
from types import ModuleType

# Keep TensorFlow's C++ start-up chatter out of the user's way. Only a default:
# a value the user set wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
