"""How far a calibration's timings repeat: micro-models timed again at its end, and a warning on a busy machine.

Every prediction of a device profile inherits the state of the machine while
it was calibrated. Timing some of its micro-models a second time, minutes
after the first, measures that state cheaply (a second or two) and tells the
user to calibrate again when it was noisy, before the profile misleads a
search.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from tfnas.latency.measure import measure

REPEATS = 100  # micro-models timed again at the end of a calibration
REPEATABLE = 0.9  # below this share of them within 10% of their first timing, calibrate warns


def repeatability(profile: Any, folder: str, rng: np.random.Generator) -> dict[str, float]:
    """Times up to `REPEATS` micro-models again, the calibration's end against its course; warns on a busy machine.

    A machine busy with other work (other processes, the other cores' jobs, a
    noisy neighbour on a shared VM) shifts timings by tens of percent for
    minutes, and every prediction of the profile inherits that. Measured here:
    a profile calibrated under such load predicted held-out models worse than
    one calibrated in a quiet hour earlier that day (39.5% vs 60.7% within 10%).
    """
    here = set(os.listdir(folder))
    rows = [row for kind in sorted(profile.samples) for row in profile.samples[kind] if row["file"] in here]
    if not rows:
        return {}
    first = {rows[i]["file"]: rows[i]["ms"] for i in rng.choice(len(rows), min(REPEATS, len(rows)), replace=False)}
    again = measure(folder, profile.threads, profile.runs, profile.warmup, set(first), profile.blocks)
    diffs = np.abs([row["ms"] / first[row["file"]] - 1 for row in again])
    summary = {"n": len(diffs), "within_10": float(np.mean(diffs <= 0.10)), "median_abs": float(np.median(diffs))}
    if summary["within_10"] < REPEATABLE:
        warnings.warn(
            f"The machine was busy while calibrating: of {len(diffs)} micro-models timed again at the end, only "
            f"{summary['within_10']:.0%} were within 10% of their first timing (median difference "
            f"{summary['median_abs']:.0%}), and the profile's predictions carry that noise. Calibrate again with the "
            "machine otherwise idle (no other jobs, no test suite on the other cores).",
            stacklevel=4,
        )
    return summary
