"""Helpers for tests and benchmarks that start real chief and worker processes."""

from __future__ import annotations

import json
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
    run = _Run(directory, script_args, timeout)
    try:
        for name in ["chief", *(f"tuner{i}" for i in range(workers))]:
            run.start(name)
        if kill_first_worker:
            victim = run.processes["tuner0"]
            run.wait_until(lambda: _has_trained(train_log, victim.pid) or victim.poll() is not None)
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
        return run.finish()
    finally:
        run.close()


def run_losing_first_trial(directory: str, script_args: list[str], survivors: int = 1, timeout: float = 300.0) -> dict:
    """Runs a chief and workers where `tuner0` holds the first trial and is SIGKILLed for good while it does.

    `tuner0` starts alone with `--stall-worker tuner0` (it writes its PID to
    the `--train-log` file, then never ends its trial), so it takes trial 0.
    The survivors (`tuner1`, ...) start once it trains, and it is killed
    once they have ended every other trial (the chief's `oracle.json` lists
    `--max-trials` - 1 ended trials), or at once when there are none.

    Returns:
        what `run_distributed` returns.
    """
    train_log = script_args[script_args.index("--train-log") + 1]
    max_trials = int(script_args[script_args.index("--max-trials") + 1])
    run = _Run(directory, [*script_args, "--stall-worker", "tuner0"], timeout)
    try:
        run.start("chief")
        victim = run.start("tuner0")
        run.wait_until(lambda: _has_trained(train_log, victim.pid) or victim.poll() is not None)
        for i in range(1, survivors + 1):
            run.start(f"tuner{i}")
        if survivors:
            run.wait_until(lambda: len(_ended(directory)) >= max_trials - 1 or run.processes["chief"].poll() is not None)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        return run.finish()
    finally:
        run.close()


class _Run:
    """Chief and worker processes of `distributed_search.py`, each writing `<name>.log` in `directory`."""

    def __init__(self, directory: str, script_args: list[str], timeout: float):
        self.directory, self.timeout = directory, timeout
        self.env = child_env(KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(free_port()))
        self.command = [sys.executable, SEARCH_SCRIPT, directory, *script_args]
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: dict = {}
        self.began = time.monotonic()

    def start(self, name: str) -> subprocess.Popen:
        self.logs[name] = log = open(os.path.join(self.directory, f"{name}.log"), "w+")  # noqa: SIM115  (closed by close())
        env = {**self.env, "KERASTUNER_TUNER_ID": name}
        self.processes[name] = subprocess.Popen(
            self.command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self.processes[name]

    def left(self) -> float:
        return self.timeout - (time.monotonic() - self.began)

    def wait_until(self, condition: Callable[[], bool]) -> None:
        """Polls `condition` every 0.1 s until it holds or the run's time is up."""
        while self.left() > 0 and not condition():
            time.sleep(0.1)

    def finish(self) -> dict:
        for process in self.processes.values():
            process.wait(timeout=max(self.left(), 1))
        output = {}
        for name, log in self.logs.items():
            log.seek(0)
            output[name] = log.read()
        return {
            "wall_seconds": time.monotonic() - self.began, "returncodes": {n: p.returncode for n, p in self.processes.items()},
            "output": output, "pids": {n: p.pid for n, p in self.processes.items()},
        }

    def close(self) -> None:
        stop(self.processes.values())
        for log in self.logs.values():
            log.close()


def _ended(directory: str) -> list[str]:
    """The trial ids the chief's `oracle.json` lists as ended ([] until it exists; it is written atomically)."""
    try:
        with open(os.path.join(directory, "dist", "oracle.json")) as f:
            return list(json.load(f)["end_order"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return []


def _has_trained(train_log: str, pid: int) -> bool:
    return os.path.exists(train_log) and str(pid) in open(train_log).read().split()
