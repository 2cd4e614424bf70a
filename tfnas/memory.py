"""Handing memory that TensorFlow freed back to the operating system when a large phase ends.

A phase that traces and runs a large graph (the supernet's compiled
sandwich step) frees its graph and tensors when it ends, but glibc's malloc
keeps the freed heap in the process: after a 96x96x3 supernet epoch,
1,635 MiB stayed resident without trimming and 1,277 MiB with it. (In a
one-shot search, ranking takes that memory again, so trimming does not lower
the search's peak; it lowers what a notebook holds after `train_supernet`.)
`release_freed_memory` collects garbage (the step's function is in reference
cycles) and asks glibc to trim its heap (`malloc_trim`); on other C libraries
it only collects.
"""

from __future__ import annotations

import ctypes
import gc

__all__ = ["release_freed_memory"]


def release_freed_memory() -> bool:
    """Collects garbage, then returns glibc's free heap to the OS. True when glibc trimmed something."""
    gc.collect()
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, Windows, musl): nothing to trim
        return False
    return bool(libc.malloc_trim(0))
