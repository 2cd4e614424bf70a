"""Helpers for tests and benchmarks that start real chief and worker processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
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


def kill_when(process: subprocess.Popen, ready: Callable[[], bool], timeout: float = 300.0) -> bool:
    """SIGKILLs `process` as soon as `ready()` holds (polled every 0.1 s); False, nothing killed, when the
    process exits or `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if ready():
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.1)
    return False


def run_distributed(
    directory: str, script_args: list[str], workers: int = 2, kill_first_worker: bool = False, timeout: float = 300.0
) -> dict:
    """Runs `distributed_search.py` as a chief and `workers` workers; optionally SIGKILLs `tuner0` for good.

    `tuner0` is killed once it has started training (its PID is in the
    `--train-log` file, which `script_args` must name) and never restarted.

    Returns:
        `{"wall_seconds", "returncodes": {name: code}, "output": {name: text}, "pids": {name: pid}}`.
    """
    train_log = script_args[script_args.index("--train-log") + 1]
    env = child_env(KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(free_port()))
    names = ["chief", *(f"tuner{i}" for i in range(workers))]
    logs = {name: open(os.path.join(directory, f"{name}.log"), "w+") for name in names}
    command = [sys.executable, SEARCH_SCRIPT, directory, *script_args]
    start = time.monotonic()
    processes = {
        name: subprocess.Popen(command, env={**env, "KERASTUNER_TUNER_ID": name}, stdout=log, stderr=subprocess.STDOUT)
        for name, log in logs.items()
    }
    try:
        if kill_first_worker:
            victim = processes["tuner0"]
            while time.monotonic() - start < timeout and not _has_trained(train_log, victim.pid) and victim.poll() is None:
                time.sleep(0.1)
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
        for name in names:
            processes[name].wait(timeout=max(timeout - (time.monotonic() - start), 1))
    finally:
        stop(processes.values())
    wall = time.monotonic() - start
    output = {}
    for name, log in logs.items():
        log.seek(0)
        output[name] = log.read()
        log.close()
    return {
        "wall_seconds": wall, "returncodes": {n: p.returncode for n, p in processes.items()}, "output": output,
        "pids": {n: p.pid for n, p in processes.items()},
    }


def _has_trained(train_log: str, pid: int) -> bool:
    return os.path.exists(train_log) and str(pid) in open(train_log).read().split()
