"""`tfnas launch`: a chief and N workers of keras-tuner's distributed mode on one machine.

The launcher runs one command (a script that calls `tfnas.search()`, or
`tfnas demo`) several times with keras-tuner's environment variables:
once as the chief (`KERASTUNER_TUNER_ID=chief`) and once per worker
(`tuner0`, `tuner1`, ...), all pointed at the same address. It prefixes each
line of their output with the process's name and supervises them:

- a worker killed by a signal (the OOM killer, `kill -9`) is started again
  with the same id; keras-tuner's Oracle gives a returning tuner id the trial
  it was running (`Oracle.create_trial`), so that trial is trained again and
  the search finishes. Completed trials are kept.
- a worker that exits with an error stops the search (as an error in a
  one-process search does): the launcher stops the other processes.
- when the chief is done, the workers have been told to stop; stragglers
  are stopped after `grace_seconds`.

The command is a list, so a config-file form (`tfnas search CONFIG`) can be
launched the same way.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Sequence

from tfnas.distributed import ORACLE_IP
from tfnas.distributed import ORACLE_PORT
from tfnas.distributed import TUNER_ID
from tfnas.errors import TfnasInputError


@dataclasses.dataclass
class _Child:
    name: str
    process: subprocess.Popen
    pump: threading.Thread
    restarts: int = 0


def launch(
    command: Sequence[str],
    workers: int = 2,
    host: str = "127.0.0.1",
    port: int = 0,
    chief: bool = True,
    worker_prefix: str = "tuner",
    first_worker: int = 0,
    max_restarts: int = 3,
    grace_seconds: float = 60.0,
    print_fn: Callable[[str], None] = print,
) -> int:
    """Runs `command` as a chief and `workers` workers; returns the exit status.

    Example:

    ```python
    tfnas.app.launch.launch(["python", "train.py"], workers=2)          # chief + 2 workers on 127.0.0.1
    tfnas.app.launch.launch(["python", "train.py"], workers=4, host="10.0.0.5", port=8000, chief=False,
                        first_worker=2)                              # 4 more workers, another machine
    ```

    Args:
        command: the program and its arguments; a `.py` file runs with this Python.
        workers: int, worker processes on this machine.
        host: str, the address the chief binds and the workers dial. Defaults
            to loopback: keras-tuner's gRPC channel is unauthenticated.
        port: int, the chief's port; 0 picks a free one (one machine only).
        chief: bool, run the chief here.
        worker_prefix: str, worker ids are `{worker_prefix}{i}`; must not contain "chief".
        first_worker: int, the first `i`, so that machines use distinct ids.
        max_restarts: int, restarts of each worker killed by a signal.
        grace_seconds: float, how long workers may take to exit after the chief.
        print_fn: where the launcher's own lines go.

    Returns:
        0 when the search finished; otherwise the failing process's status.
    """
    command = _resolve(command)
    port = _checked_port(workers, chief, worker_prefix, host, port)
    env = {**os.environ, ORACLE_IP: host, ORACLE_PORT: str(port), "PYTHONUNBUFFERED": "1"}
    lock = threading.Lock()

    def start(name: str, restarts: int = 0) -> _Child:
        process = subprocess.Popen(
            command, env={**env, TUNER_ID: name}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace",
        )
        pump = threading.Thread(target=_pump, args=(name, process, lock), daemon=True)
        pump.start()
        print_fn(f"[launch] started {name} (pid {process.pid}) on {host}:{port}")
        return _Child(name, process, pump, restarts)

    chief_child = start("chief") if chief else None
    children = [start(f"{worker_prefix}{i}") for i in range(first_worker, first_worker + workers)]
    everyone = ([chief_child] if chief_child else []) + children  # every process started, restarts included
    try:
        while True:
            time.sleep(0.2)
            if chief_child is not None and chief_child.process.poll() is not None:
                status = chief_child.process.returncode
                if status == 0:
                    _wait_all(children, grace_seconds)
                    print_fn("[launch] the search is done")
                elif status < 0:
                    print_fn(f"[launch] the chief was killed by {_signal_name(-status)}; run the same command again to resume")
                else:
                    print_fn(f"[launch] the chief exited with status {status} (see its output above)")
                return _exit_status(status)
            for i, child in enumerate(children):
                status = child.process.poll()
                if status is None or status == 0:
                    continue
                if status < 0 and child.restarts < max_restarts:
                    print_fn(
                        f"[launch] {child.name} was killed by {_signal_name(-status)}; restarting it "
                        f"({child.restarts + 1} of {max_restarts}): it trains its unfinished trial again"
                    )
                    child.pump.join(5)
                    children[i] = start(child.name, child.restarts + 1)
                    everyone.append(children[i])
                    continue
                print_fn(f"[launch] {child.name} exited with status {status}: stopping the search")
                return _exit_status(status)
            if chief_child is None and all(c.process.poll() == 0 for c in children):
                return 0
    except KeyboardInterrupt:
        print_fn("[launch] interrupted; run the same command again to resume")
        return 130
    finally:
        _stop(everyone)
        for child in everyone:
            child.pump.join(5)  # the last lines of output


def _checked_port(workers: int, chief: bool, worker_prefix: str, host: str, port: int) -> int:
    """The chief's port (a free one when 0), after checking the launch settings."""
    if workers < 0 or (workers == 0 and not chief):
        raise TfnasInputError(f"Nothing to launch: workers must be >= 1 without a chief. Received: workers={workers}")
    if "chief" in worker_prefix:
        raise TfnasInputError(
            f"Worker ids must not contain 'chief' (keras-tuner treats such an id as the chief). Received: {worker_prefix!r}"
        )
    if port != 0:
        return port
    if not chief:
        raise TfnasInputError("Workers without a chief here need the chief's port: pass --port.")
    return _free_port(host)


def _resolve(command: Sequence[str]) -> list[str]:
    command = list(command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise TfnasInputError("No command to launch: pass a script, e.g. `tfnas launch --workers 2 train.py`.")
    if command[0].endswith(".py"):
        return [sys.executable, *command]
    if command[0] == "tfnas":
        return [sys.executable, "-m", "tfnas", *command[1:]]
    return command


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _pump(name: str, process: subprocess.Popen, lock: threading.Lock) -> None:
    """Copies a child's output to ours, each line prefixed with its name."""
    assert process.stdout is not None, "the child is started with stdout=PIPE"
    for line in process.stdout:
        with lock:
            sys.stdout.write(f"[{name}] {line}")
            sys.stdout.flush()


def _wait_all(children: list[_Child], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.process.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            pass


def _stop(children: list[_Child]) -> None:
    """Terminates the children still running, then kills those that do not exit within 10 s."""
    running = [c.process for c in children if c.process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + 10
    for process in running:
        try:
            process.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _exit_status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode
