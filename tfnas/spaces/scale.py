"""When the image spaces grow to phone scale, and the MobileNetV2/V3-style ranges they grow to.

Why: the microcontroller ranges (at most 3 stages of 48 channels) leave a
phone developer with shallow candidates: at 224x224x3 under 300M MACs the
auto image space's deepest candidate had 14 weighted layers, where
MobileNetV2 and V3 (the shapes that win at that budget) have 53 and 54. For
large inputs or budgets of millions of MACs the MobileNet family therefore
gets MobileNetV2/V3 depth and width: a stride-2 stem, up to 7 stages of up to
4 blocks and 320 channels, a width multiplier, expansions 1-6, kernels 3/5/7,
squeeze-and-excite, hard-swish, a last 1x1 conv and a hidden Dense. Small
inputs under small budgets keep the ranges they had (their results must not
drop).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tfnas.constraints import Constraints
from tfnas.spaces.mobilenet import RUNS_ON_TFLM

PHONE_SIDE = 64  # images at least this high and wide get the phone-scale ranges
PHONE_MACS = 5_000_000  # ... and so do images above 16 px when max_macs allows this many MACs

V2_MACS_224 = 300_000_000  # MobileNetV2 (multiplier 1.0) at 224x224: 300.8M MACs
MULTIPLIERS = (1.0, 0.75, 0.5, 0.35, 0.25)  # the width multipliers a budget picks from, widest first

# The MobileNet family's phone-scale ranges (the first choice of each is the default candidate's).
PHONE_RANGES: dict[str, tuple] = {
    "stem_filters": (16, 24, 32),
    "stem_strides": (2,),
    "num_stages": (5, 3, 4, 6, 7),
    "blocks": (2, 1, 3, 4),
    "filters": (24, 16, 32, 40, 48, 64, 80, 96, 112, 128, 160, 192, 256, 320),
    "kernel_sizes": (3, 5, 7),
    "expansions": (6, 1, 2, 3, 4),
    "strides": (2, 1),
    "skip": (True,),
    "head": ("gap",),
    "width_multiplier": (1.0, 0.35, 0.5, 0.75),
    "squeeze_excite": (False, True),
    "activations": ("relu", "hard_swish"),
    "last_filters": (0, 576, 1024, 1280),
    "head_units": (0, 1024),
    "stage_widths": (16, 24, 32, 64, 96, 160, 320),  # MobileNetV2's
}


def phone_scale(input_shape: tuple[int, ...] | None, constraints: Constraints | None) -> bool:
    """Whether images of `input_shape` under `constraints` get the phone-scale ranges.

    Yes when height and width are both at least `PHONE_SIDE`, or both above
    16 px and either `max_macs` is at least `PHONE_MACS` or the search has a
    `max_latency_ms` (a budget in milliseconds is a phone's or an edge CPU's,
    never a microcontroller's). 8x8 digits never do.
    """
    if input_shape is None or len(input_shape) < 3:
        return False
    side = min(input_shape[:2])
    budget = constraints.max_macs if constraints is not None else None
    timed = constraints is not None and constraints.max_latency_ms is not None
    return side >= PHONE_SIDE or (side > 16 and (timed or (budget is not None and budget >= PHONE_MACS)))


def width_multipliers(input_shape: tuple[int, ...] | None, constraints: Constraints | None) -> tuple[float, ...]:
    """The width multipliers of `MULTIPLIERS` whose MobileNetV2 fits `max_macs` at this resolution.

    MobileNetV2 at multiplier m costs about `V2_MACS_224 * m**2 * H * W / 224**2`
    MACs. The widest such multiplier comes first; the narrowest is kept when
    none fits; without `max_macs`, `PHONE_RANGES`'s.
    """
    budget = constraints.max_macs if constraints is not None else None
    if budget is None or input_shape is None:
        return PHONE_RANGES["width_multiplier"]
    area = input_shape[0] * input_shape[1] / 224**2
    fits = tuple(m for m in MULTIPLIERS if V2_MACS_224 * m * m * area <= budget)
    return fits or MULTIPLIERS[-1:]


def targets_microcontroller(constraints: Constraints | None) -> bool:
    """Whether a search's limits are a microcontroller's: it bounds TFLite Micro's arena or the activations' RAM."""
    return constraints is not None and (constraints.max_arena_bytes is not None or constraints.max_peak_ram_bytes is not None)


def phone_ranges(
    constraints: Constraints | None, input_shape: tuple[int, ...] | None = None, **overrides: Any
) -> dict[str, Any]:
    """`PHONE_RANGES` sized to the budget, with `overrides`; for a microcontroller, without what TFLite Micro cannot run.

    Under `max_macs` the width multipliers are those whose MobileNetV2 at
    this resolution fits the budget (`width_multipliers`): wider ones would
    make most random candidates, which mix wide and deep stages, infeasible
    (at 96 px under 15M MACs, 20 of the 67 MobileNet draws among 200 random
    candidates fit).

    Args:
        constraints: The search's limits (see `targets_microcontroller`).
        input_shape: The images' shape (H, W, C).
        **overrides: Ranges that replace those of `PHONE_RANGES`.
    """
    ranges = {**PHONE_RANGES, "width_multiplier": width_multipliers(input_shape, constraints), **overrides}
    if targets_microcontroller(constraints):
        ranges = {**ranges, **micro_only(ranges)}
    return ranges


def micro_only(ranges: Mapping[str, tuple]) -> dict[str, tuple]:
    """The ranges of optional features narrowed to what TFLite Micro runs (`RUNS_ON_TFLM`); the others unchanged."""
    narrowed = {}
    if not RUNS_ON_TFLM["squeeze_excite"] and "squeeze_excite" in ranges:
        narrowed["squeeze_excite"] = (False,)
    if not RUNS_ON_TFLM["hard_swish"] and "activations" in ranges:
        narrowed["activations"] = tuple(a for a in ranges["activations"] if a != "hard_swish") or ("relu",)
    return narrowed
