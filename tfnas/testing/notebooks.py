"""Executes the notebooks under `notebooks/` and records which code made their outputs, so stale outputs are caught.

The notebooks are committed executed, with their outputs and figures, so a
reader (on the code host or on the documentation site) sees the results.
`python -m tfnas.testing.notebooks --execute` runs every notebook (or those
named) in a fresh kernel inside a temporary working directory, so its
`tfnas_runs/` never lands in the checkout, writes the outputs back into the
`.ipynb`, and stores in the notebook's metadata (`metadata.tfnas`) the SHA-256
of its code cells' sources with the execution's wall time and tfnas version.
`--check` compares that hash with the code cells as they are now: a notebook
whose code changed after its outputs were made is stale, and the test suite
fails on it (`tests/test_package.py`) until it is executed again.

Executing trains models: run it pinned to one core on a shared machine,
`taskset -c 1 python -m tfnas.testing.notebooks --execute`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTEBOOKS = os.path.join(ROOT, "notebooks")
METADATA_KEY = "tfnas"
COMMAND = "python -m tfnas.testing.notebooks"


def notebook_paths(folder: str = NOTEBOOKS) -> list[str]:
    """The `.ipynb` files in `folder`, sorted by name."""
    return sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".ipynb"))


def code_hash(notebook: dict[str, Any]) -> str:
    """SHA-256 of the notebook's code cells' sources, in order (markdown and outputs do not count).

    Args:
        notebook: The notebook as a JSON dict or an `nbformat` node.

    Returns:
        The hex digest.
    """
    sources = [_text(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    return hashlib.sha256(json.dumps(sources).encode("utf-8")).hexdigest()


def staleness(path: str) -> str | None:
    """Why the notebook at `path` does not hold the outputs of its current code, or None when it does.

    Reads the file only: nothing is executed.
    """
    with open(path, encoding="utf-8") as f:
        notebook = json.load(f)
    recorded = notebook.get("metadata", {}).get(METADATA_KEY, {}).get("code_sha256")
    name = os.path.basename(path)
    if recorded is None:
        return f"{name} was never executed by `{COMMAND} --execute` (no recorded code hash)"
    if recorded != code_hash(notebook):
        return f"{name}: its code cells changed after its outputs were made; run `{COMMAND} --execute {name}`"
    code_cells = [i for i, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"]
    unexecuted = [i for i in code_cells if notebook["cells"][i].get("execution_count") is None]
    if unexecuted:
        return f"{name}: code cells {unexecuted} have no outputs of the recorded execution"
    return None


def execute(path: str, workdir: str, timeout: int = 1200) -> Any:
    """Runs the notebook at `path` in a fresh `python3` kernel with `workdir` as its working directory.

    Args:
        path: The `.ipynb` file; it is read, not written.
        workdir: The kernel's working directory (the notebooks write `tfnas_runs/` there).
        timeout: Seconds one cell may run.

    Returns:
        The executed notebook (an `nbformat` node), with the code hash and the
        execution's wall time recorded in `metadata.tfnas`.
    """
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    start = time.monotonic()
    nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": workdir}}).execute()
    from tfnas import __version__

    notebook.metadata[METADATA_KEY] = {
        "code_sha256": code_hash(notebook),
        "execution_seconds": round(time.monotonic() - start, 1),
        "tfnas_version": __version__,
    }
    return notebook


def main(argv: list[str] | None = None) -> int:
    """`python -m tfnas.testing.notebooks (--execute | --check) [NAME ...]`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m tfnas.testing.notebooks",
        description="Executes the notebooks, or checks that their outputs are those of their code.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--execute", action="store_true", help="run the notebooks and write their outputs back")
    action.add_argument("--check", action="store_true", help="fail when a notebook's outputs are not those of its code")
    parser.add_argument("names", nargs="*", help="notebook file names (default: every notebook in notebooks/)")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds one cell may run (default 1200)")
    args = parser.parse_args(argv)
    paths = [os.path.join(NOTEBOOKS, name) for name in args.names] or notebook_paths()
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        print(f"No such notebook: {', '.join(missing)}; the notebooks are {[os.path.basename(p) for p in notebook_paths()]}",
              file=sys.stderr)
        return 2
    if args.check:
        problems = [p for p in (staleness(path) for path in paths) if p]
        print("\n".join(problems) or f"{len(paths)} notebooks hold the outputs of their current code")
        return 1 if problems else 0
    import nbformat

    for path in paths:
        with tempfile.TemporaryDirectory(prefix="tfnas_notebook_") as workdir:
            notebook = execute(path, workdir, timeout=args.timeout)
        nbformat.write(notebook, path)
        print(f"{os.path.basename(path)}: executed in {notebook.metadata[METADATA_KEY]['execution_seconds']} s")
    return 0


def _text(source: str | list[str]) -> str:
    return source if isinstance(source, str) else "".join(source)


if __name__ == "__main__":
    sys.exit(main())
