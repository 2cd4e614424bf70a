"""The only place that knows about Keras 3 (`keras`) vs Keras 2 (`tf_keras`), Keras's internals and TensorFlow's private switches.

keras-tuner builds and trains Keras 3 models; TF-MOT only accepts tf_keras
models. Search-space builders take the Keras module as a parameter, so the
same architecture can be built with either. Nothing here imports TF-MOT
until `tfmot()` is called, and nothing here reads `tf.keras` (importing
TF-MOT repoints it to tf_keras).

Importing this module imports no TensorFlow and changes nothing outside
tfnas: `tfnas` loads the rest of the library through `import_quietly`, which
keeps TensorFlow's start-up chatter out of the user's way. Only when tfnas
itself first imports TensorFlow does it set `TF_CPP_MIN_LOG_LEVEL=2` (hiding
the C++ INFO and WARNING lines), and only when the user has not set it: see
`quiet_tensorflow_logs`.

Checked against the versions in `CHECKED` (`tfnas._versions` warns once
when the installed ones differ).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from tfnas import _versions

CHECKED = {"keras": "3.15.1", "tf-keras": "2.21.0", "tensorflow": "2.21.0"}

# tfnas logs details to the `tfnas` logger; with no handler configured by the
# user, they go nowhere (not to stderr through logging's last resort).
logging.getLogger("tfnas").addHandler(logging.NullHandler())


def import_quietly(name: str) -> ModuleType:
    """Imports a module; the first import of TensorFlow on the way prints nothing.

    TensorFlow writes lines to file descriptor 2 while it is imported
    ("oneDNN custom operations are on", "Could not find cuda drivers",
    absl's "All log messages before absl::InitializeLog()") before its C++
    logging reads `TF_CPP_MIN_LOG_LEVEL`, and again when its devices start
    ("failed call to cuInit" on a CUDA build without a GPU); only redirecting
    the descriptor hides them, so the devices are started here too. If the
    import fails, what was written is replayed on stderr.
    """
    if name in sys.modules:
        return sys.modules[name]
    quiet_tensorflow_logs()
    with stderr_captured() as captured:
        try:
            module = importlib.import_module(name)
            if "tensorflow" in sys.modules:
                sys.modules["tensorflow"].config.list_physical_devices()  # starts the devices once; cheap after
            return module
        except BaseException:
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise


def quiet_tensorflow_logs() -> None:
    """Sets `TF_CPP_MIN_LOG_LEVEL=2` before tfnas first imports TensorFlow, unless the user set it.

    TensorFlow's C++ logging reads the variable once, when TensorFlow is
    imported; a value already in the environment (the user's) wins, and once
    TensorFlow is imported nothing is changed any more. Called by
    `import_quietly`, not at import: importing tfnas leaves `os.environ`
    alone. Child processes started afterwards inherit the variable.
    """
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def stderr_captured() -> Iterator[Any]:
    """Points file descriptor 2 at a temporary file for the duration; yields the file.

    For TensorFlow's and LiteRT's C++ lines that no log level reaches (the
    converter's "fully_quantize: 0, inference_type: 6, ...", XNNPACK's
    "Created TensorFlow Lite XNNPACK delegate"). Python's own `sys.stderr`
    writes go there too, so keep the block to the one native call.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (some notebook front ends): nothing to hide
        with tempfile.TemporaryFile() as f:
            yield f
        return
    with tempfile.TemporaryFile() as f:
        os.dup2(f.fileno(), 2)
        try:
            yield f
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def tf_keras() -> ModuleType:
    """The tf_keras (Keras 2) module, imported on first use."""
    return import_quietly("tf_keras")


def is_keras3_model(model: object) -> bool:
    """True when `model` is a Keras 3 model (not a tf_keras one)."""
    return isinstance(model, import_quietly("keras").Model)


def tfmot() -> ModuleType:
    """Returns `tensorflow_model_optimization`, imported on first use.

    TF-MOT sets `TF_USE_LEGACY_KERAS=1` in `os.environ` when imported. That
    cannot be undone for this process (its `tf.keras` is tf_keras from then
    on), but it must not leak into child processes (TFLite Micro runs, search
    workers), so the variable is put back as it was.
    """
    before = os.environ.get("TF_USE_LEGACY_KERAS")
    module = import_quietly("tensorflow_model_optimization")
    if before is None:
        os.environ.pop("TF_USE_LEGACY_KERAS", None)
    else:
        os.environ["TF_USE_LEGACY_KERAS"] = before
    return module


def inbound_node(tensor: Any) -> Any:
    """The Keras 3 node that produced a symbolic tensor.

    Keras 3 has no public graph API; its own functional model code walks
    `KerasTensor._keras_history` and `Operation._inbound_nodes` the same way.
    """
    _versions.check(CHECKED, __name__)
    history = tensor._keras_history
    return history.operation._inbound_nodes[history.node_index]


def source_layers(layer: Any) -> list[str]:
    """Names of the layers whose outputs the first call of a Keras 3 `layer` reads ([] for an input layer)."""
    nodes = getattr(layer, "_inbound_nodes", [])
    if not nodes or type(layer).__name__ == "InputLayer":
        return []
    return [inbound_node(tensor).operation.name for tensor in nodes[0].input_tensors]


def compile_metrics(model: Any) -> list:
    """The metrics a Keras 3 model was compiled with, as the objects or names the user passed.

    `get_compile_config` serialises them, and an unregistered custom metric
    (or loss) cannot be read back; Keras keeps the originals on its private
    `CompileMetrics` (checked on Keras 3.15.1).
    """
    _versions.check(CHECKED, __name__)
    metrics = getattr(getattr(model, "_compile_metrics", None), "_user_metrics", None)
    return list(metrics or [])


@contextlib.contextmanager
def op_determinism(enabled: bool) -> Iterator[None]:
    """TensorFlow's op determinism on inside the block when `enabled`, and as it was again after it.

    `tf.config.experimental.enable_op_determinism` has no public way back,
    so a seeded search would leave every later fit in the process slower and
    numerically different; `tensorflow.python.framework.config` (checked on
    TensorFlow 2.21) can turn it off again.
    """
    from tensorflow.python.framework import config

    _versions.check(CHECKED, __name__)
    switch = enabled and not config.is_op_determinism_enabled()
    if switch:
        config.enable_op_determinism()
    try:
        yield
    finally:
        if switch:
            config.disable_op_determinism()


def convert_variables_to_constants(concrete: Any) -> Any:
    """A TensorFlow concrete function with its variables frozen into constants (for the v1 profiler).

    TensorFlow has no public way to freeze a TF2 function's variables; its
    private `convert_to_constants.convert_variables_to_constants_v2` (checked
    on TensorFlow 2.21) is what its own converters use.
    """
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    _versions.check(CHECKED, __name__)
    return convert_variables_to_constants_v2(concrete)
