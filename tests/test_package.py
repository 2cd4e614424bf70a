"""Package-level promises: importing tfnas is side-effect free, and the quickstart notebook runs."""

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
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ok" in out.stdout


def test_public_names_are_declared_once():
    import tfnas

    for name in tfnas.__all__:
        assert hasattr(tfnas, name), name


@pytest.mark.slow
def test_quickstart_notebook_executes(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(os.path.join(ROOT, "notebooks", "quickstart.ipynb"), as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))
    assert "test accuracy" in outputs
    assert "TFLite Micro arena" in outputs and "prune" in outputs, "the notebook reaches the int8 file on both runtimes"
