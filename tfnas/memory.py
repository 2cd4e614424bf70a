"""Handing memory that TensorFlow freed back to the operating system, between the phases of a long search.

A phase that traces and runs a large graph (the supernet's compiled
sandwich step) frees its graph and tensors when it ends, but glibc's malloc
keeps most of the freed heap for later requests, and later phases (ranking,
fine-tuning) did not reuse it: a 20,000-image one-shot search peaked about
0.3 GB higher than its largest phase alone. `release_freed_memory` collects
garbage (the step's function is in reference cycles) and asks glibc to trim
its heap (`malloc_trim`); on other C libraries it only collects.
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
