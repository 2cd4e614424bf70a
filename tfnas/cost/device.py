"""The device a search, a compression or a verification predicts latency for: loaded once, checked against how it is used.

A `DeviceProfile` was measured under some conditions (LiteRT version, threads,
quantization). Predicting for a model run under other conditions is wrong by an
unknown factor, so this module compares them once, where the profile is
loaded: another LiteRT version or thread count gives a warning naming both
(the kernels may still time alike), another quantization an error (an int8
profile says nothing of float kernels). And a latency limit or reward without
a device is refused before anything trains.

Example:
    >>> device = load_device("phone.json", purpose="tfnas.search")
    >>> require_device(["latency_ms"], device, "constraints={'max_latency_ms': 4}")
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from tfnas.cost.latency import DeviceProfile
from tfnas.cost.latency import resolve_profile
from tfnas.errors import TfnasInputError

LATENCY_METRICS: tuple[str, ...] = ("latency_ms",)


def installed_litert_version() -> str:
    """The `ai-edge-litert` version installed here ("unknown" without it), as `device_info` records it."""
    try:
        return metadata.version("ai-edge-litert")
    except metadata.PackageNotFoundError:
        return "unknown"


def load_device(
    device: DeviceProfile | str | os.PathLike | None,
    *,
    threads: int | None = None,
    quantization: str = "int8",
    litert_version: str | None = None,
    purpose: str = "the search",
) -> DeviceProfile | None:
    """Loads a profile (once) and checks it against the conditions it will predict for.

    Args:
        device: A `DeviceProfile`, the path of its JSON file, or None (no device: returns None).
        threads: The interpreter threads the model will run with; None: not compared.
        quantization: The quantization of the models predicted ("int8": the cost model's graph).
        litert_version: The LiteRT version that will run them; None: the one installed here.
        purpose: Who uses the profile, for the messages (e.g. "tfnas.search").

    Returns:
        The profile, or None when `device` is None.

    Raises:
        TfnasInputError: an unreadable or foreign profile, or one measured at another quantization.
    """
    if device is None:
        return None
    profile = resolve_profile(device)
    where = profile.source or f"the profile of {profile.machine}"
    if profile.quantization != quantization:
        raise TfnasInputError(
            f"{where} was calibrated for {profile.quantization} models, but {purpose} predicts {quantization} ones: "
            f"calibrate again with `tfnas calibrate OUT.json --quantization {quantization}`."
        )
    if threads is not None and int(threads) != profile.threads:
        warnings.warn(
            f"{where} was measured at {profile.threads} thread(s), but {purpose} uses {threads}: the predicted "
            f"latency may be off; calibrate again with `tfnas calibrate OUT.json --threads {threads}`.",
            stacklevel=2,
        )
    here = litert_version or installed_litert_version()
    if here != "unknown" and profile.litert_version != here:
        warnings.warn(
            f"{where} was measured with LiteRT {profile.litert_version}, but {purpose} uses LiteRT {here}: "
            "kernels may time differently; calibrate again with this version to be sure.",
            stacklevel=2,
        )
    return profile


def require_device(metrics: Iterable[Any], device: DeviceProfile | None, where: str) -> None:
    """Refuses a latency metric named in a limit or a reward when there is no device to predict it on.

    Raises:
        TfnasInputError: `metrics` holds "latency_ms" (or "max_latency_ms") and `device` is None.
    """
    names = {str(m).removeprefix("max_") for m in metrics if m}
    wanted = sorted(names & set(LATENCY_METRICS))
    if wanted and device is None:
        raise TfnasInputError(
            f"{where} uses {wanted[0]}, which needs a device profile: pass device='phone.json' (made with "
            "`tfnas calibrate phone.json`, or `tfnas calibrate phone.json --from timings.csv` for another device)."
        )
