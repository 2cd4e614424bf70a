"""Package-level promises: importing tfnas is side-effect free, and every notebook runs."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_import_does_not_load_tfmot_or_change_tf_keras():
    code = (
        "import sys, tensorflow as tf\n"
        "before = tf.keras.__name__\n"
        "import tfnas\n"
        "assert 'tensorflow_model_optimization' not in sys.modules, 'tfnas imported TF-MOT'\n"
        "assert 'tf_keras' not in sys.modules, 'tfnas imported tf_keras'\n"
        "assert tf.keras.__name__ == before, (before, tf.keras.__name__)\n"
        "print('ok', before)\n"
    )
    assert "ok" in _python(code).stdout


def test_public_names_are_declared_once():
    """Each public class or function is defined in exactly one module, the one `tfnas.NAME` comes from."""
    import inspect
    import re

    import tfnas

    sources = {}
    for folder, _, files in os.walk(os.path.join(ROOT, "tfnas")):
        for file in files:
            if file.endswith(".py"):
                with open(os.path.join(folder, file)) as f:
                    sources[os.path.join(folder, file)] = f.read()
    for name in tfnas.__all__:
        value = getattr(tfnas, name)
        if inspect.ismodule(value):
            assert value.__name__ == f"tfnas.{name}", name
            continue
        defining = [path for path, text in sources.items() if re.search(rf"^(class|def) {name}\b|^{name} = ", text, re.M)]
        if not defining:  # created on first use (the keras-tuner error classes in tfnas.errors)
            defining = [path for path, text in sources.items() if f'"{name}": (' in text]
        assert len(defining) == 1, f"{name} is declared in {defining}"
        module = value.__module__.replace(".", os.sep)
        assert defining[0].endswith(module + ".py") or defining[0].endswith(os.path.join(module, "__init__.py")), (name, defining)


def test_import_loads_no_tensorflow_and_is_quiet():
    """`import tfnas` loads no TensorFlow; the first public name that needs it loads it (and starts its devices) silently."""
    code = (
        "import sys\n"
        "import tfnas\n"
        "assert 'tensorflow' not in sys.modules, 'import tfnas imported TensorFlow'\n"
        "tfnas.search\n"
        "assert 'tensorflow' in sys.modules\n"
        "import keras, numpy\n"
        "model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])\n"
        "model.predict(numpy.zeros((1, 3)), verbose=0)  # TensorFlow's devices start here: no line either\n"
    )
    out = _python(code)
    assert out.stderr == "", out.stderr


def _python(code: str) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter; asserts it succeeded."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out


NOTEBOOKS = {
    "quickstart.ipynb": ["test accuracy", "TFLite Micro arena", "prune"],  # reaches the int8 file on both runtimes
    "custom_oracle.ipynb": [
        "mutate-front: hypervolume", "random: hypervolume", "Pareto front (val_accuracy at the last epoch vs macs)"
    ],
    "oneshot.ipynb": ["one-shot: 100 sub-networks ranked", "counted as 3 of 5 trials", "TFLite Micro test accuracy"],
    "microcontroller.ipynb": [
        "constraints {'max_tflite_bytes': 24000, 'max_peak_ram_bytes': 4096}", "qat", "#ifndef TFNAS_DIGITS_INT8_DATA_H_",
        "const unsigned char digits_int8_tflite[]", "TFLite Micro arena", "vs predicted",
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes(name, tmp_path):
    pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    from tfnas.testing.notebooks import execute

    notebook = execute(os.path.join(ROOT, "notebooks", name), str(tmp_path), timeout=600)  # a copy: the file is not written
    outputs = "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))
    for expected in NOTEBOOKS[name]:
        assert expected in outputs, expected


def test_every_notebook_is_executed_by_the_tests():
    from tfnas.testing.notebooks import notebook_paths

    assert sorted(os.path.basename(p) for p in notebook_paths()) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_holds_the_outputs_of_its_code(name):
    """Fast (nothing runs): the code hash recorded at the last execution matches the code cells as committed."""
    from tfnas.testing.notebooks import staleness

    assert staleness(os.path.join(ROOT, "notebooks", name)) is None


def test_a_changed_code_cell_makes_a_notebook_stale_and_a_changed_markdown_cell_does_not(tmp_path):
    from tfnas.testing.notebooks import staleness

    with open(os.path.join(ROOT, "notebooks", "quickstart.ipynb"), encoding="utf-8") as f:
        notebook = json.load(f)
    path = str(tmp_path / "quickstart.ipynb")
    markdown = next(c for c in notebook["cells"] if c["cell_type"] == "markdown")
    markdown["source"] = ["Reworded.\n"]
    _write(notebook, path)
    assert staleness(path) is None
    code = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    code["source"] = "".join(code["source"]) + "\nprint('added')"
    _write(notebook, path)
    assert "changed after its outputs were made" in staleness(path)
    del notebook["metadata"]["tfnas"]
    _write(notebook, path)
    assert "never executed" in staleness(path)


def _write(notebook: dict, path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(notebook, f)
