"""Hard limits on a candidate's cost, checked before it is trained.

Constraints are plain data (a frozen dataclass that dumps to a dict of ints),
keyed like the keras-tuner convention for limits (`max_model_size`) but over
every metric of the cost model: `max_macs`, `max_flops`, `max_params`,
`max_tflite_bytes`, `max_peak_ram_bytes` (the activations' arena),
`max_arena_bytes` (TFLite Micro's whole arena, persistent part included) and
`max_latency_ms` (milliseconds predicted on a calibrated device: it needs one).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from typing import Any

from tfnas.errors import TfnasInputError

FLOAT_LIMITS = ("max_latency_ms",)  # limits in milliseconds, kept as floats (the others count bytes or ops)


@dataclasses.dataclass(frozen=True)
class Constraints:
    """Upper bounds on cost metrics; `None` means no limit.

    Example:

    ```python
    limits = Constraints.from_any({"max_macs": 20_000, "max_peak_ram_bytes": 2048})
    limits.violations({"macs": 30_000, "peak_ram_bytes": 1000})
    # ['macs 30000 > max_macs 20000']
    ```
    """

    max_macs: int | None = None
    max_flops: int | None = None
    max_params: int | None = None
    max_tflite_bytes: int | None = None
    max_peak_ram_bytes: int | None = None
    max_arena_bytes: int | None = None
    max_latency_ms: float | None = None

    @classmethod
    def from_any(cls, value: Constraints | Mapping[str, Any] | None) -> Constraints:
        """Validates a dict (or `Constraints`, or `None`) and returns `Constraints`.

        Raises:
            TfnasInputError: for an unknown key (naming the nearest valid
                one) or a limit that is not a positive number.
        """
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise TfnasInputError(
                f"constraints must be a dict such as {{'max_macs': 20000}}. Received: {value!r}"
            )
        valid = [f.name for f in dataclasses.fields(cls)]
        limits: dict[str, Any] = {}
        for key, limit in value.items():
            if key not in valid:
                close = difflib.get_close_matches(str(key), valid, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise TfnasInputError(f"Unknown constraint {key!r}.{hint} Valid constraints: {', '.join(valid)}.")
            if limit is None:
                continue
            if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0:
                raise TfnasInputError(f"Constraint {key} must be a positive number. Received: {key}={limit!r}")
            limits[key] = float(limit) if key in FLOAT_LIMITS else int(limit)
        return cls(**limits)

    def limits(self) -> dict[str, Any]:
        """The set limits as `{metric: limit}`, e.g. `{"macs": 20000}`."""
        return {f.name[4:]: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}

    def violations(self, costs: Mapping[str, float]) -> list[str]:
        """Human-readable list of the limits `costs` exceeds (empty when feasible)."""
        return [
            f"{metric} {_show(metric, costs[metric])} > max_{metric} {limit}"
            for metric, limit in self.limits().items()
            if costs[metric] > limit
        ]

    def is_feasible(self, costs: Mapping[str, float]) -> bool:
        """True when `costs` is within every limit."""
        return not self.violations(costs)

    def unreachable(self, smallest: Mapping[str, float], draws: int) -> str:
        """Why no candidate met these limits: each limit beside the smallest cost seen in `draws` candidates."""
        seen = ", ".join(
            f"smallest {metric} seen {_show(metric, smallest[metric])} vs max_{metric} {limit}"
            for metric, limit in self.limits().items()
            if metric in smallest
        )
        return (
            f"No candidate in the search space meets the constraints {self.to_dict()} after {draws} draws ({seen}). "
            "Raise the limits, or pass a smaller search space (e.g. tfnas.spaces.MobileNetSpace with fewer filters or stages)."
        )

    def to_dict(self) -> dict[str, Any]:
        """The set limits keyed as given (`{"max_macs": 20000}`), YAML-dumpable."""
        return {f"max_{metric}": limit for metric, limit in self.limits().items()}

    def __bool__(self) -> bool:
        return bool(self.limits())


def _show(metric: str, value: float) -> str:
    """A cost as a limit message shows it: milliseconds to 4 significant digits, counts as integers."""
    return f"{float(value):.4g}" if metric.endswith("_ms") else str(int(value))
