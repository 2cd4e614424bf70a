"""One voice: at `verbose=1` a one-shot search and `tfnas.compress` write only tfnas's lines; at `verbose=0` nothing.

Each case runs in a child process, read on both streams (file descriptors 1
and 2, so TensorFlow's C++ lines count too). What the child writes before
its `START` marker (the user's own `import keras`, which starts TensorFlow)
is not tfnas's; from the marker on, each call runs twice, first with
`verbose=0` (nothing may appear before the `MIDDLE` marker), then with
`verbose=1`.

A tfnas line is one of those `TFNAS_LINE` matches: the search's `Trial i/N`
lines and closing `Search: ...` line, and `compress`'s `[tfnas.compress]`
stage lines and its summary table (header, one row per stage, indented
skipped-layer and note lines). stderr stays empty: tfnas writes its lines
to stdout and its details to the `tfnas` logger (no handler unless the user
configures one).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tfnas._voice import silenced
from tfnas.testing.processes import child_env

TFNAS_LINE = re.compile(
    r"^(Trial \d+/\d+ \[id \d+\] .* \| .*"  # a search's trial line
    r"|Search: \d+ trained, .*result\.summary\(\) prints the front\."  # its closing line
    r"|\[tfnas\.compress\] \w+: .* non-zero weights, [\d.]+s"  # a compression stage
    r"|stage +untuned .*"  # the compression summary's header
    r"|(float|prune|cluster|qat) +[\d. ,%-]+(epochs|recovered|plateau|cap)?"  # one of its rows, its stop reason last
    r"|  \w+: \S+ not changed: .*|  note: .*)$"  # its skipped layers and notes
)
NOT_TFNAS = ("warning", "retracing", "tensorflow", "absl", "keras", "traceback")

DATA = """
import sys
import numpy as np
rng = np.random.default_rng(0)
y = rng.integers(0, 3, 300)
t = np.linspace(0, 1, 64)
x = (np.sin(2 * np.pi * (y[:, None] + 1) * 2 * t[None, :]) + 0.3 * rng.normal(size=(300, 64)))[..., None].astype("float32")
"""

SEARCH = DATA + """
import tempfile
import tfnas
space = tfnas.spaces.DSCNN1DSpace(filters=(8, 16), num_blocks=(1, 2), kernel_sizes=(3, 5), stem_filters=(8, 16))
oracle = {"name": "oneshot", "supernet_epochs": 1, "num_ranked": 20, "population_size": 10}
print("START"); print("START", file=sys.stderr)
for verbose in (0, 1):
    tfnas.search(x, y, space=space, oracle=oracle, constraints={"max_macs": 6000}, max_trials=6, epochs=1,
                 directory=tempfile.mkdtemp(), project_name="p", seed=0, verbose=verbose)
    if verbose == 0:
        print("MIDDLE"); print("MIDDLE", file=sys.stderr)
"""

COMPRESS = DATA + """
import keras
import tfnas
inputs = keras.Input((64, 1))
h = keras.layers.Conv1D(16, 5, strides=2, activation="relu")(inputs)
h = keras.layers.Conv1D(16, 3, strides=2, activation="relu")(h)
h = keras.layers.GlobalAveragePooling1D()(h)
model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=1, verbose=0)
print("START"); print("START", file=sys.stderr)
for verbose in (0, 1):
    tfnas.compress(model, x, y, prune=0.5, cluster=4, qat=True, epochs=1, seed=0, verbose=verbose)
    if verbose == 0:
        print("MIDDLE"); print("MIDDLE", file=sys.stderr)
"""


def run_child(script: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """The lines a child writes: (stdout at verbose=0, stderr at verbose=0, stdout at verbose=1, stderr at verbose=1)."""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=child_env(), timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    parts = []
    for stream in (done.stdout, done.stderr):
        after = stream.split("START\n", 1)[1]
        quiet, loud = after.split("MIDDLE\n", 1)
        parts.append((quiet.splitlines(), loud.splitlines()))
    (out0, out1), (err0, err1) = parts
    return out0, err0, out1, err1


def check_only_tfnas_lines(out: list[str], err: list[str]) -> None:
    assert err == [], err
    strangers = [line for line in out if not TFNAS_LINE.match(line)]
    assert strangers == [], strangers
    assert not [line for line in out if any(word in line.lower() for word in NOT_TFNAS)]


@pytest.mark.slow
def test_oneshot_search_speaks_only_through_tfnas():
    out0, err0, out1, err1 = run_child(SEARCH)
    assert out0 == [] and err0 == []
    check_only_tfnas_lines(out1, err1)
    assert sum(line.startswith("Trial ") for line in out1) == 2  # the supernet costs 4 of the 6 trials
    assert out1[-1].startswith("Search: 2 trained")


@pytest.mark.slow
def test_compress_speaks_only_through_tfnas():
    out0, err0, out1, err1 = run_child(COMPRESS)
    assert out0 == [] and err0 == []
    check_only_tfnas_lines(out1, err1)
    stages = [line.split(":")[0] for line in out1 if line.startswith("[tfnas.compress]")]
    assert stages == ["[tfnas.compress] float", "[tfnas.compress] prune", "[tfnas.compress] cluster", "[tfnas.compress] qat"]


def test_tfnas_line_pattern_tells_tfnas_lines_from_others():
    assert TFNAS_LINE.match("Trial 1/2 [id 0] stem_filters=8 #d71b3e2c | val_accuracy 0.9250 | macs 3.0k | 5.7s | ETA 29s")
    assert TFNAS_LINE.match("[tfnas.compress] prune: accuracy 0.6500, 1,186 non-zero weights, 11.8s")
    assert not TFNAS_LINE.match("WARNING:tensorflow:5 out of the last 5 calls to <function f> triggered tf.function retracing.")
    assert not TFNAS_LINE.match("WARNING:root:Input layer does not contain zero weights, so apply CQAT instead.")


@pytest.mark.parametrize("verbose", [0, 1])
def test_silenced_holds_back_native_log_lines_and_replays_the_rest(capfd, verbose):
    native = (b"E0000 00:00:1733456789.123456   4242 util.cc:131] oneDNN supports DT_INT32 only on platforms with AVX-512\n"
              b"2026-12-06 03:00:00.000000: I tensorflow/core/platform/cpu_feature_guard.cc:210] This TensorFlow binary\n")
    with silenced(verbose):
        os.write(2, native + b"a line of the user's own\n")
    assert capfd.readouterr().err == "a line of the user's own\n"
