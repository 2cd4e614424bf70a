"""How tfnas speaks: its own lines on stdout (`say`), and everything else held back by `verbose` (`silenced`).

tfnas writes its progress lines (trials, supernet epochs, compression
stages) with `say` and its details to the `tfnas` logger; nothing else in
the library prints. While tfnas trains, `silenced(verbose)` decides what
the libraries it drives may write:

- `verbose=0`: nothing at all (stdout swallowed, every warning and
  TensorFlow/absl log record below ERROR dropped);
- `verbose=1`: tfnas's lines only: Keras, TensorFlow, TF-MOT and absl
  warnings (e.g. "triggered tf.function retracing") are dropped,
  `TfnasVersionWarning`s pass;
- `verbose>=2`: everything, as those libraries write it.

TensorFlow's C++ runtime logs straight to file descriptor 2 (abseil's
`E0000 00:00:... util.cc:131] ...` lines, some at ERROR level, e.g. oneDNN's
"supports DT_INT32 only on platforms with AVX-512" on CPUs without it), which
no Python log level reaches. Below `verbose=2` that descriptor is held in a
temporary file while tfnas works and replayed afterwards without those lines,
so anything else written there (a Python traceback, a user's own line) still
reaches the user.

The `tfnas` logger is never touched: it prints only through handlers the
user configured.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator

from tfnas.errors import TfnasVersionWarning

# Packages whose records logged straight on the root logger (TF-MOT's `logging.warning(...)`) are theirs, not the user's.
LIBRARIES = ("tensorflow", "tf_keras", "keras", "keras_tuner", "tensorflow_model_optimization", "absl", "ai_edge_litert")


# abseil's C++ log prefix (TensorFlow >= 2.16), and TensorFlow's older one.
NATIVE_LOG_LINE = re.compile(rb"^(?:[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\]|\d{4}-\d\d-\d\d [\d:.]+: [IWEF] \S+:\d+\])")


def say(line: str) -> None:
    """Writes one of tfnas's progress lines to stdout (callers decide by `verbose` whether to)."""
    print(line, file=sys.stdout, flush=True)


class _LibraryRecords(logging.Filter):
    """Drops root-logger records below ERROR that a library's own code logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        parts = set(os.path.normpath(record.pathname).split(os.sep))
        return record.levelno >= logging.ERROR or parts.isdisjoint(LIBRARIES)


@contextlib.contextmanager
def _native_logs_held() -> Iterator[None]:
    """Holds file descriptor 2 in a temporary file, then replays every line but TensorFlow's C++ log lines."""
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (a windowless process): nothing to hold
        yield
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = b"".join(line for line in held if not NATIVE_LOG_LINE.match(line))
            if kept:
                os.write(2, kept)


@contextlib.contextmanager
def silenced(verbose: int) -> Iterator[None]:
    """Holds back what the libraries tfnas drives would write, by `verbose` (see the module docstring).

    Python `warnings`, TensorFlow's `tensorflow` logger, absl's logging and
    library records on the root logger are set as `verbose` says for the
    duration and restored after; with `verbose` < 1 stdout is swallowed too.
    """
    if verbose >= 2:
        yield
        return
    from absl import logging as absl_logging

    absl_level = absl_logging.get_verbosity()
    tf_logger = logging.getLogger("tensorflow")
    tf_level = tf_logger.level
    records = _LibraryRecords()
    absl_logging.set_verbosity(absl_logging.ERROR)
    tf_logger.setLevel(logging.ERROR)
    logging.getLogger().addFilter(records)
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(_native_logs_held())
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")
            if verbose >= 1:
                warnings.simplefilter("default", TfnasVersionWarning)
            else:
                stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
            yield
    finally:
        logging.getLogger().removeFilter(records)
        absl_logging.set_verbosity(absl_level)
        tf_logger.setLevel(tf_level)
