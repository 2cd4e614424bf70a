"""The accuracy floor: the strongest compression whose validation metric stays within `max_drop` of the original.

`tfnas.compress(model, x, y, prune=[0.5, 0.7, 0.8], qat=True, max_drop=0.01)`
runs one compression per strength, mildest first (each from the original
model), and keeps the strongest whose validation metric dropped by at most
`max_drop`; it stops at the first step that breaks the floor (a stronger
cut of the same kind would not do better). With `target=` instead of a
list, the steps are `TARGET_STEPS` targets between the model's own cost and
the target, geometrically. After the first step that breaks the floor, up
to `REFINE_STEPS` steps between the strongest that held and the one that
broke are tried (bisection: the geometric mean of a target's limits, the
mean of two shares), so three coarse steps still reach a cut near the
strongest the floor allows. When even the mildest step breaks the floor, the
original model comes back with a note, never a worse model silently. Every
tried step is in `CompressionResult.tried`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from tfnas.compress.plan import resolve_stages
from tfnas.compress.recovery import drop
from tfnas.compress.result import CompressionResult
from tfnas.compress.result import FloorStep
from tfnas.compress.stage import Stage
from tfnas.constraints import Constraints
from tfnas.cost import profile
from tfnas.errors import TfnasInputError
from tfnas.task import Task

LADDERS = ("prune", "channels")
"""The stage keywords that take a list of strengths (with `max_drop`)."""

TARGET_STEPS = 3
"""Steps from the model's cost to a `target` with `max_drop`: a third, two thirds and all of the way (geometrically)."""

REFINE_STEPS = 2
"""Steps tried between the strongest step within the floor and the first beyond it (bisection)."""


@dataclasses.dataclass
class Rung:
    """One step of the ladder: its strength (a share, or a target's limits) and the stages that compress to it."""

    strength: Any
    stages: list[Stage]


def rungs(stages: Sequence[Stage] | None, keywords: Mapping[str, Any], max_drop: float | None, model: Any,
          device: Any = None) -> list[Rung] | None:
    """The steps `compress` climbs: None without `max_drop` and without a list of strengths.

    Raises:
        TfnasInputError: a list without `max_drop`, two lists, an empty or
            not strictly increasing list, a bad step: before any fine-tuning.
    """
    ladder = check_ladder(keywords, max_drop)
    if ladder is None and max_drop is None:
        return None
    if ladder is not None:
        name, values = ladder
        return [Rung(value, resolve_stages(stages, {**keywords, name: value})) for value in values]
    if stages is not None or keywords.get("target") is None:
        return [Rung(None, resolve_stages(stages, keywords))]
    return [Rung(step, resolve_stages(None, {**keywords, "target": step}))
            for step in target_steps(model, keywords["target"], device)]


def maker(stages: Sequence[Stage] | None, keywords: Mapping[str, Any]) -> Callable[[Any], Rung] | None:
    """Builds the rung of a strength between two tried ones (`between`): None when the steps are not a ladder or a target."""
    lists = [name for name in LADDERS if isinstance(keywords.get(name), (list, tuple))]
    if lists:
        return lambda value: Rung(value, resolve_stages(stages, {**keywords, lists[0]: value}))
    if stages is None and keywords.get("target") is not None:
        return lambda step: Rung(step, resolve_stages(None, {**keywords, "target": step}))
    return None


def between(held: Any, broke: Any) -> Any:
    """The strength halfway (geometrically for a target's limits) between one that held the floor and one that broke it.

    None when there is nothing between them (equal strengths, or not a share or limits).
    """
    if isinstance(held, (int, float)) and isinstance(broke, (int, float)):
        return (held + broke) / 2 if held != broke else None
    if not isinstance(held, Mapping) or not isinstance(broke, Mapping) or held == broke:
        return None
    step: dict[str, Any] = {}
    for key, limit in broke.items():
        now = held.get(key, limit)
        value = (now * limit) ** 0.5 if now > 0 and limit > 0 else (now + limit) / 2
        step[key] = int(value) if isinstance(limit, int) else float(value)
    return step if step not in (dict(held), dict(broke)) else None


def check_ladder(keywords: Mapping[str, Any], max_drop: float | None) -> tuple[str, list[Any]] | None:
    """The keyword given a list of strengths and the list (None when there is none), checked.

    Raises:
        TfnasInputError: a list without `max_drop`, two lists, an empty or not strictly increasing list.
    """
    lists = [name for name in LADDERS if isinstance(keywords.get(name), (list, tuple))]
    if not lists:
        return None
    if max_drop is None:
        raise TfnasInputError(
            f"{lists[0]}={list(keywords[lists[0]])!r} is a list of strengths to try: pass max_drop= as well (e.g. 0.01), "
            "and the strongest within it is returned; or pass one strength."
        )
    if len(lists) > 1:
        raise TfnasInputError(
            f"Pass one list of strengths, not {' and '.join(lists)}: e.g. prune=[0.5, 0.7, 0.8] with channels=0.25."
        )
    values = list(keywords[lists[0]])
    _check_increasing(lists[0], values)
    return lists[0], values


def target_steps(model: Any, target: Any, device: Any = None) -> list[dict[str, Any]]:
    """`TARGET_STEPS` targets from `model`'s cost to `target`, geometrically; limits the model meets stay as they are."""
    limits = Constraints.from_any(target).to_dict()
    costs = profile(model, device if limits.get("max_latency_ms") is not None else None)
    steps: list[dict[str, Any]] = []
    for k in range(1, TARGET_STEPS + 1):
        step = {}
        for key, limit in limits.items():
            now = getattr(costs, key.removeprefix("max_"), None)
            if k == TARGET_STEPS or now is None or now <= limit:
                step[key] = limit
            else:
                value = now * (limit / now) ** (k / TARGET_STEPS)
                step[key] = int(value) if isinstance(limit, int) else float(value)
        if not steps or step != steps[-1]:
            steps.append(step)
    return steps


def climb(rungs_: Sequence[Rung], run: Callable[[list[Stage]], CompressionResult], max_drop: float,
          task: Task, make: Callable[[Any], Rung] | None = None
          ) -> tuple[CompressionResult | None, list[FloorStep], CompressionResult]:
    """Runs the steps mildest first until one breaks the floor, then up to `REFINE_STEPS` steps between (with `make`).

    Args:
        rungs_: The steps, mildest first.
        run: Compresses the original model with a step's stages.
        max_drop: The floor (accuracy: absolute; mae: relative).
        task: The task, for what "worse" means.
        make: Builds the rung of a strength (`maker`); None tries no step between.

    Returns:
        The strongest result within the floor (None when the mildest breaks
        it), every tried step, and the first result (its float report is the original's).
    """
    kept: CompressionResult | None = None
    tried: list[FloorStep] = []
    first: CompressionResult | None = None
    held: Any = None
    broke: Any = None
    for rung in rungs_:
        result, step = _try(rung, run, max_drop, task)
        first = first or result
        tried.append(step)
        if not step.within:
            broke = rung.strength
            break
        kept, held = result, rung.strength
    assert first is not None
    for _ in range(REFINE_STEPS if make is not None and kept is not None and broke is not None else 0):
        middle = between(held, broke)
        if middle is None or make is None:
            break
        result, step = _try(make(middle), run, max_drop, task)
        tried.append(step)
        if step.within:
            kept, held = result, middle
        else:
            broke = middle
    return kept, tried, first


def _try(rung: Rung, run: Callable[[list[Stage]], CompressionResult], max_drop: float,
         task: Task) -> tuple[CompressionResult, FloorStep]:
    """Compresses with one rung's stages; the result and its `FloorStep`."""
    start = time.perf_counter()
    result = run(rung.stages)
    baseline, final = result.stages[0], result.final
    lost = drop(task, baseline.value, final.value)
    step = FloorStep(
        strength=rung.strength, value=final.value, drop=lost, within=lost <= max_drop + 1e-9, macs=final.macs,
        tflite_bytes=final.tflite_bytes, nonzero_params=final.nonzero_params, seconds=time.perf_counter() - start,
        stages=list(result.stages),
    )
    return result, step


def choose(model: Any, rungs_: Sequence[Rung], run: Callable[[list[Stage]], CompressionResult], max_drop: float,
           task: Task, make: Callable[[Any], Rung] | None = None) -> CompressionResult:
    """The strongest step within `max_drop` (`climb`), noted; else `model` itself with a note, as a `CompressionResult`."""
    kept, tried, first = climb(rungs_, run, max_drop, task, make)
    beyond = [step for step in tried if not step.within]
    if kept is None:
        note = (f"max_drop={max_drop}: even the mildest step ({tried[0].strength}) lost {tried[0].drop:.4f} on the "
                "validation data, so the original model is returned uncompressed.")
        settings = {**first.settings, "qat": False, "max_drop": max_drop}
        return CompressionResult(model=model, keras_model=model, stages=first.stages[:1], skipped_layers={}, sparsity={},
                                 calibration_data=first.calibration_data, task=first.task, settings=settings, notes=[note],
                                 tried=tried)
    stopped = f"; {beyond[-1].strength} lost {beyond[-1].drop:.4f}" if beyond else ""
    chosen = [step for step in tried if step.within][-1].strength  # the strongest held: later steps only go stronger
    kept.notes.append(f"max_drop={max_drop}: kept step {chosen} of {[step.strength for step in tried]}{stopped}.")
    kept.tried = tried
    return kept


def _check_increasing(name: str, values: list[Any]) -> None:
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not values or not numbers or any(b <= a for a, b in zip(values[:-1], values[1:], strict=True)):
        raise TfnasInputError(
            f"{name} must be one strength or a strictly increasing list of them, mildest first, e.g. "
            f"{name}=[0.5, 0.7, 0.8]. Received: {name}={values!r}"
        )
