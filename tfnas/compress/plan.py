"""The one order compression stages run in (`ORDER`), and the one builder of the keyword form.

`tfnas.compress(model, x, y, stages=[Prune(0.5), QAT()])` is the primary
form; `tfnas.compress(model, x, y, prune=0.5, qat=True)` is sugar for it:
`stages_from_kwargs` turns those keywords into the same list, and the
config's `compression:` section goes through it too. `resolve_stages`
refuses a list that mixes both forms or breaks the order, and `run_list`
gives the runner its steps.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from tfnas.compress.architecture_stages import LowRank
from tfnas.compress.architecture_stages import PruneChannels
from tfnas.compress.stage import Stage
from tfnas.compress.stages import QAT
from tfnas.compress.stages import Cluster
from tfnas.compress.stages import Distill
from tfnas.compress.stages import Prune
from tfnas.constraints import Constraints
from tfnas.errors import TfnasInputError

ORDER: tuple[type[Stage], ...] = (LowRank, PruneChannels, Prune, Cluster, Distill, QAT)
"""The order the built-in stages run in, however the keywords are ordered.

Low rank and channel pruning first: they change the architecture, and the
stages after them wrap the layers of the new one. Pruning before clustering: clustering then keeps
the zeros (sparsity-preserving clustering), where pruning after clustering
would break the shared values. Distillation alone needs no other stage.
QAT last: the int8 ranges are learned on the final weights, with the
scheme that keeps what pruning and clustering made. A new built-in stage
is a new `Stage` class, its keywords in `stages_from_kwargs`, and its place in this tuple.
"""


def stages_from_kwargs(
    *,
    prune: float | Mapping[str, float] | None = None,
    structure: str | None = None,
    cluster: int | None = None,
    qat: bool = False,
    distill_from: Any = None,
    lowrank: int | float | None = None,
    keep: Sequence[str] | None = None,
    temperature: float = 4.0,
    distill_alpha: float = 0.1,
    channels: float | Mapping[str, float] | None = None,
    channel_criterion: str = "taylor",
    channel_steps: int = 2,
    target: Constraints | Mapping[str, int] | None = None,
    channel_allocation: str = "uniform",
) -> list[Stage]:
    """The stages `tfnas.compress`'s keyword arguments ask for, in `ORDER`, each checked by its constructor.

    The keywords mean what `tfnas.compress` documents; `keep` goes to every
    stage that takes it, `temperature` and `distill_alpha` to `Distill`.

    Returns:
        The stages (empty when no keyword asks for one).

    Raises:
        TfnasInputError: a bad stage argument, naming the value received.
    """
    stages: list[Stage] = []
    if lowrank is not None:
        stages.append(LowRank(lowrank))
    if channels is not None or target is not None:
        stages.append(PruneChannels(
            channels, target=target, steps=channel_steps, criterion=channel_criterion, allocation=channel_allocation, keep=keep
        ))
    if prune is not None or structure is not None:
        stages.append(Prune(prune, structure, keep))
    if cluster is not None:
        stages.append(Cluster(cluster, keep))
    if distill_from is not None:
        stages.append(Distill(distill_from, temperature, distill_alpha))
    if qat:
        stages.append(QAT())
    return stages


KEYWORDS: dict[str, Any] = {name: p.default for name, p in inspect.signature(stages_from_kwargs).parameters.items()}
"""The stage keywords of `tfnas.compress` and their defaults, as `stages_from_kwargs` declares them."""


def resolve_stages(stages: Sequence[Stage] | None, keywords: Mapping[str, Any]) -> list[Stage]:
    """The stage list of one `compress` call: `stages` as given, or the one the keywords build.

    Args:
        stages: `compress`'s `stages=` list, or None for the keyword form.
        keywords: `compress`'s stage keywords (`KEYWORDS`) as passed.

    Returns:
        The stages, each checked by its constructor.

    Raises:
        TfnasInputError: both forms at once, an item that is not a `Stage`, a
            built-in stage twice or out of `ORDER`.
    """
    if stages is None:
        return stages_from_kwargs(**keywords)
    given = {name: value for name, value in keywords.items() if not _is_default(value, KEYWORDS[name])}
    if given:
        passed = ", ".join(f"{name}={value!r}" for name, value in given.items())
        raise TfnasInputError(
            f"Pass the stages either as stages=[...] or as keyword arguments, not both. Received: stages={list(stages)!r} and "
            f"{passed}. Put every stage in the list, e.g. stages=[Prune(0.5), QAT()]."
        )
    if isinstance(stages, (str, Stage)) or not isinstance(stages, Sequence):
        raise TfnasInputError(f"stages must be a list of stages, e.g. [Prune(0.5), QAT()]. Received: stages={stages!r}")
    for item in stages:
        if not isinstance(item, Stage):
            raise TfnasInputError(
                f"stages must hold Stage objects such as Prune(0.5) or QAT(). Received: {item!r} in stages={list(stages)!r}"
            )
    _check_order(stages)
    return list(stages)


def run_list(stages: Sequence[Stage]) -> list[Stage]:
    """What the runner runs: each stage's steps (`Stage.expand`), without `Distill` when `QAT` fine-tunes on the teacher last."""
    quantized = any(isinstance(stage, QAT) for stage in stages)
    return [step for stage in stages if not (quantized and isinstance(stage, Distill)) for step in stage.expand()]


def keyword_form(stages: Sequence[Stage]) -> dict[str, Any]:
    """Every stage keyword of `tfnas.compress` (its default unless a stage sets it): what the stages amount to."""
    keywords = dict(KEYWORDS)
    for stage in stages:
        keywords.update(stage.keywords())
    return keywords


def _check_order(stages: Sequence[Stage]) -> None:
    """Refuses a built-in stage twice or after one that `ORDER` runs later; custom stages run where they stand."""
    seen: list[Stage] = []
    for stage in stages:
        kind = type(stage)
        if kind not in ORDER:
            continue
        if any(type(other) is kind for other in seen):
            raise TfnasInputError(
                f"stages holds {kind.__name__} twice: pass one {kind.__name__} stage. Received: stages={list(stages)!r}"
            )
        later = [other for other in seen if ORDER.index(type(other)) > ORDER.index(kind)]
        if later:
            order = " -> ".join(cls.__name__ for cls in ORDER)
            raise TfnasInputError(
                f"{kind.__name__} must come before {type(later[0]).__name__}: the stages run in the order {order}. "
                f"Received: stages={list(stages)!r}"
            )
        seen.append(stage)


def _is_default(value: Any, default: Any) -> bool:
    if value is default:
        return True
    same_type = type(value) is type(default) and not isinstance(value, bool)
    return same_type and isinstance(value, (str, int, float)) and value == default
