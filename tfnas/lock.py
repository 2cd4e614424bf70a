"""`RunLock`: one search writes a run directory at a time.

keras-tuner has no lock: two processes searching the same `directory` and
`project_name` overwrite each other's trials and both return a result that
describes the other's models. A search (one process, or the chief of a
distributed search) takes an exclusive `fcntl.flock` on a lock file beside
its run directory (`directory/.project_name.lock`, outside the folder that
`overwrite=True` deletes) for its lifetime. The kernel releases the lock when
the process ends, however it ends, so a lock left by a killed process never
blocks a resume. The file holds the holder's PID and host, for the message a
second process gets.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from typing import Any

from tfnas.errors import TfnasInputError


class RunLock:
    """An exclusive, process-lifetime lock on `directory/project_name`.

    Example:

    ```python
    with RunLock("tfnas_runs", "digits"):
        ...   # search; a second process on tfnas_runs/digits is refused at once
    ```

    Args:
        directory: str, the search's `directory`.
        project_name: str, its `project_name`.
    """

    def __init__(self, directory: str, project_name: str):
        self.path = os.path.join(directory, f".{project_name}.lock")
        self.project_dir = os.path.join(directory, project_name)
        self._file: Any = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def acquire(self) -> None:
        """Takes the lock, or raises `TfnasInputError` naming the process that holds it."""
        f = open(self.path, "a+")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(f)
            f.close()
            raise TfnasInputError(
                f"Another search is writing {self.project_dir} ({holder}). Two searches in one run directory "
                "overwrite each other's trials. Pass another project_name=, wait for that search to end (then "
                "run this one again to resume it), or run `tfnas launch` to search in parallel."
            ) from None
        f.seek(0)
        f.truncate()
        json.dump({"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}, f)
        f.flush()
        self._file = f

    def release(self) -> None:
        """Lets the lock go (the kernel does too when the process dies)."""
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _holder(f: Any) -> str:
    f.seek(0)
    try:
        holder = json.loads(f.read() or "{}")
    except ValueError:
        holder = {}
    if not holder:
        return "a process that has not written its name yet"
    return f"process {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')}"
