"""Helpers for tests and benchmarks that start real chief and worker processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterable

import tfnas

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(tfnas.__file__)))
SEARCH_SCRIPT = os.path.join(CHECKOUT, "tfnas", "testing", "distributed_search.py")


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: this checkout's tfnas first on its path, unbuffered output."""
    path = os.pathsep.join(p for p in (CHECKOUT, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", **extra}


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def stop(processes: Iterable[subprocess.Popen]) -> None:
    """Kills each child still running together with its process group (start them with `start_new_session=True`)."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
