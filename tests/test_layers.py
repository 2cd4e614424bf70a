"""The layering of tfnas (`.importlinter`): checked by import-linter, and shown to catch an upward import, a cycle
inside a subpackage and a module placed in no layer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tfnas.testing.processes import CHECKOUT

LINT = os.path.join(os.path.dirname(sys.executable), "lint-imports")


def _lint(root: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": root}
    return subprocess.run(
        [LINT, "--config", os.path.join(root, ".importlinter"), "--no-cache"], cwd=root, env=env,
        capture_output=True, text=True, timeout=300,
    )


def test_layer_contracts_hold():
    run = _lint(CHECKOUT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 kept, 0 broken" in run.stdout


def _copy(tmp_path) -> None:
    """A copy of the package and its contracts under `tmp_path`, to break."""
    shutil.copytree(os.path.join(CHECKOUT, "tfnas"), tmp_path / "tfnas", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(CHECKOUT, ".importlinter"), tmp_path / ".importlinter")


def test_an_upward_import_breaks_the_contract(tmp_path):
    _copy(tmp_path)
    with open(tmp_path / "tfnas" / "cost" / "report.py", "a") as f:
        f.write("\nfrom tfnas.result import SearchResult  # noqa: E402  (the engine reaching up to the results layer)\n")
    run = _lint(str(tmp_path))
    assert run.returncode == 1
    assert "tfnas.cost.report -> tfnas.result" in run.stdout


def test_a_cycle_inside_a_subpackage_breaks_the_acyclic_contract(tmp_path):
    """The cycle issue 27 found (`family` -> `supernet` -> ... -> `family`) is inside one layer: only `acyclic` sees it."""
    _copy(tmp_path)
    with open(tmp_path / "tfnas" / "oneshot" / "family.py", "a") as f:
        f.write("\nfrom tfnas.oneshot.supernet import SUPERNETS  # noqa: E402  (the family base reaching up to the table)\n")
    run = _lint(str(tmp_path))
    assert run.returncode == 1
    assert "app > results > deployment > engine > base KEPT" in run.stdout
    assert "no cycle between the sibling modules of any package BROKEN" in run.stdout
    assert "No cycles are allowed in tfnas.oneshot." in run.stdout


def test_a_module_in_no_layer_breaks_the_layers_contract(tmp_path):
    """A new flat module (or subpackage) must be placed in a layer of `.importlinter` before the contract holds."""
    _copy(tmp_path)
    (tmp_path / "tfnas" / "unplaced.py").write_text('"""A module no layer lists."""\n')
    run = _lint(str(tmp_path))
    assert run.returncode == 1
    assert "app > results > deployment > engine > base BROKEN" in run.stdout
    assert "tfnas.unplaced" in run.stdout
