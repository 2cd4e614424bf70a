"""The layering of tfnas (`.importlinter`): checked by import-linter, and shown to catch an upward import."""

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
    assert "2 kept, 0 broken" in run.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copytree(os.path.join(CHECKOUT, "tfnas"), tmp_path / "tfnas", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(CHECKOUT, ".importlinter"), tmp_path / ".importlinter")
    with open(tmp_path / "tfnas" / "cost" / "report.py", "a") as f:
        f.write("\nfrom tfnas.result import SearchResult  # noqa: E402  (the engine reaching up to the results layer)\n")
    run = _lint(str(tmp_path))
    assert run.returncode == 1
    assert "tfnas.cost.report -> tfnas.result" in run.stdout
