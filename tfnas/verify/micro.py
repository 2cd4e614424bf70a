"""Runs a `.tflite` model in TFLite Micro, always in a child process.

TFLite Micro aborts the whole process on some models it cannot run, so the
interpreter never runs in the caller: a crash comes back as `MicroRunError`
with the child's output. The child also prints `print_allocations()`, whose
"Arena allocation head/tail/total" lines are the real arena bytes: head is
the non-persistent part (activations and scratch, what the cost model's
`peak_ram_bytes` predicts), tail the persistent part (tensor and node
structs, quantization parameters); a microcontroller must hold the total.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

from tfnas.errors import MicroRunError

DEFAULT_ARENA = 4 * 1024 * 1024

_SCRIPT = r"""
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
model_path, input_path, output_path, arena = sys.argv[1:5]
with open(model_path, "rb") as f:
    interp = runtime.Interpreter.from_bytes(f.read(), arena_size=int(arena))
x = np.load(input_path)
outputs = []
for sample in x:
    interp.set_input(sample[None, ...], 0)
    interp.invoke()
    outputs.append(np.asarray(interp.get_output(0)).reshape(-1))
np.save(output_path, np.stack(outputs) if outputs else np.zeros((0, 0), np.int8))
sys.stdout.flush()
interp.print_allocations()
"""


@dataclasses.dataclass
class MicroRun:
    """Outputs of a TFLite Micro run and its arena bytes.

    Attributes:
        outputs: one flattened output row per input sample, in the model's output dtype.
        head: non-persistent arena bytes (activations, scratch buffers).
        tail: persistent arena bytes.
        total: head + tail (what the arena must be at least).
    """

    outputs: np.ndarray
    head: int
    tail: int
    total: int


def run_micro(blob: bytes, inputs: np.ndarray | None = None, arena_size: int = DEFAULT_ARENA, timeout: float = 600.0) -> MicroRun:
    """Runs `inputs` (already in the model's input dtype, first axis the batch) one by one in TFLite Micro.

    Args:
        blob: The flatbuffer.
        inputs: Samples to run; None only allocates (for the arena bytes).
        arena_size: Arena given to TFLite Micro (an upper bound; the report says what it used).
        timeout: Seconds before the child is killed.

    Returns:
        A `MicroRun`.

    Raises:
        MicroRunError: the child failed, crashed or timed out; the message has its output.
    """
    with tempfile.TemporaryDirectory() as tmp:
        model_path, input_path, output_path = (os.path.join(tmp, n) for n in ("model.tflite", "x.npy", "y.npy"))
        with open(model_path, "wb") as f:
            f.write(blob)
        np.save(input_path, np.zeros((0,), np.int8) if inputs is None else np.asarray(inputs))
        try:
            proc = subprocess.run(
                [sys.executable, "-c", _SCRIPT, model_path, input_path, output_path, str(int(arena_size))],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
            )
        except subprocess.TimeoutExpired as e:
            raise MicroRunError(f"TFLite Micro did not finish in {timeout:.0f}s.") from e
        found = dict(re.findall(r"Arena allocation (head|tail|total) (\d+) bytes", proc.stdout))
        if proc.returncode != 0 or len(found) != 3 or not os.path.exists(output_path):
            raise MicroRunError(
                f"TFLite Micro failed on the model (exit code {proc.returncode}"
                f"{', killed by a signal: it aborted' if proc.returncode < 0 else ''}):\n{proc.stdout[-3000:]}"
            )
        outputs = np.load(output_path)
    return MicroRun(outputs, int(found["head"]), int(found["tail"]), int(found["total"]))
