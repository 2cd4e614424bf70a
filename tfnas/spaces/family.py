"""`FamilySpace`: one search space over several model families, chosen by a conditional `family` hp.

Why: the model that wins under a small budget depends on the data (an MLP
on 8x8 digits, a strided Conv1D stack on MNIST-1D, a DS-CNN on spectrograms),
so `space="auto"` searches the families side by side instead of betting on
one. Each family's hyperparameters are named `<family>_<name>` and live in
`hp.conditional_scope("family", [family])`, so keras-tuner and every tfnas
strategy treat a value of an inactive family as absent: two candidates that
differ only there are the same candidate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import keras_tuner as kt

from tfnas.errors import TfnasInputError
from tfnas.spaces.base import EdgeSpace
from tfnas.spaces.ranges import float_choices


class _Prefixed:
    """The `kt.HyperParameters` a family builds with: every name it registers gets the family's prefix."""

    def __init__(self, hp: kt.HyperParameters, prefix: str) -> None:
        self._hp = hp
        self._prefix = prefix

    def Choice(self, name: str, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (keras-tuner's name)
        return self._hp.Choice(self._prefix + name, *args, **kwargs)

    def Int(self, name: str, *args: Any, **kwargs: Any) -> Any:  # noqa: N802
        return self._hp.Int(self._prefix + name, *args, **kwargs)

    def Float(self, name: str, *args: Any, **kwargs: Any) -> Any:  # noqa: N802
        return self._hp.Float(self._prefix + name, *args, **kwargs)

    def Boolean(self, name: str, *args: Any, **kwargs: Any) -> Any:  # noqa: N802
        return self._hp.Boolean(self._prefix + name, *args, **kwargs)

    def Fixed(self, name: str, *args: Any, **kwargs: Any) -> Any:  # noqa: N802
        return self._hp.Fixed(self._prefix + name, *args, **kwargs)

    def conditional_scope(self, parent_name: str, parent_values: Any) -> Any:
        return self._hp.conditional_scope(self._prefix + parent_name, parent_values)


class FamilySpace(EdgeSpace):
    """A search space whose first choice is the model family; each family is an `EdgeSpace`.

    The families share the head (Dropout + Dense) and the hps `dropout` and
    `learning_rate`; everything else is the family's own, prefixed with its
    name (`cnn_num_blocks`, `mobilenet_stage1_filters`). A family of vectors
    (rank 1, such as `MLPSpace`) gets the input flattened.

    keras-tuner finds the hps of every family the way it finds any
    conditional hp: its tuner builds the space once per inactive scope
    (`_activate_all_conditions`), so a single `build` registers only the
    chosen family's.

    Args:
        input_shape: See `EdgeSpace`.
        num_outputs: See `EdgeSpace`.
        task: See `EdgeSpace`.
        name: See `EdgeSpace`.
        members: family name -> `EdgeSpace` (class or instance, with its own
            ranges). The first family is the default the first trial uses.
        dropout: Dropout rates before the head.
        learning_rate: Peak learning rates of the recipe's schedule; 1e-2
            first, so the families' first candidates use it: with cosine decay
            and warm-up it won most trials on digits and MNIST-1D (20-30 epochs).

    Example:
        >>> space = FamilySpace(members={"mlp": MLPSpace(), "cnn": CNN2DSpace()})
        >>> space = space.configure((8, 8, 1), 10, "classification")
    """

    space_name = "families"
    RANGES = {
        "dropout": float_choices(0.0, 1.0),
        "learning_rate": float_choices(0.0, 1.0, include_low=False),
    }

    def __init__(
        self,
        input_shape: tuple[int, ...] | None = None,
        num_outputs: int | None = None,
        task: str = "classification",
        name: str | None = None,
        *,
        members: Mapping[str, Any] | None = None,
        dropout: tuple[float, ...] = (0.0, 0.1, 0.25),
        learning_rate: tuple[float, ...] = (1e-2, 3e-3, 1e-3),
    ) -> None:
        self._given = members  # None: the defaults, chosen again for each input shape
        self.members = _check_members(members if members is not None else self.default_members(input_shape))
        super().__init__(input_shape, num_outputs, task, name, dropout=dropout, learning_rate=learning_rate)
        if self.input_shape is not None and self.num_outputs is not None:  # configured
            self.members = {
                family: member.configure(self._member_shape(member), self.num_outputs, self.task)
                for family, member in self.members.items()
            }

    @property
    def summary_keys(self) -> tuple[str, ...]:  # type: ignore[override]
        keys = [f"{family}_{key}" for family, member in self.members.items() for key in member.summary_keys[:3]]
        return ("family", *keys, "dropout", "learning_rate")

    def default_members(self, input_shape: tuple[int, ...] | None) -> dict[str, EdgeSpace]:
        """The families when none are given (subclasses pick them for their kind of data)."""
        raise TfnasInputError("FamilySpace needs members={'name': EdgeSpace, ...}: the model families to search.")

    def configure(self, input_shape: tuple[int, ...], num_outputs: int, task: str = "classification") -> FamilySpace:
        space = type(self)(input_shape, num_outputs, task, self.name, members=self._given, **self._ranges)
        space.tunable = self.tunable
        return space

    def initial_points(self) -> list[dict[str, Any]]:
        """One candidate per family, each at its default values (the first choice of every range), in member order."""
        points = []
        for family in self.members:
            hp = kt.HyperParameters()
            hp.Choice("family", list(self.members))
            hp.values["family"] = family
            self.build(hp)
            points.append(dict(hp.values))
        return points

    def _check_input_shape(self, input_shape: Any) -> tuple[int, ...]:
        rank = len(tuple(input_shape)) if isinstance(input_shape, (tuple, list)) else None
        for family, member in self.members.items():
            if member.input_rank not in (1, rank):
                raise TfnasInputError(
                    f"Family {family!r} ({type(member).__name__}) takes inputs of rank {member.input_rank}, but "
                    f"input_shape={tuple(input_shape)} has rank {rank}: drop it from members or reshape the data."
                )
        return tuple(int(d) for d in input_shape)

    def _member_shape(self, member: EdgeSpace) -> tuple[int, ...]:
        assert self.input_shape is not None  # called on a configured space only
        if member.input_rank == 1:
            return (math.prod(self.input_shape),)
        return self.input_shape

    def _body(self, hp: kt.HyperParameters, k: ModuleType, inputs: Any) -> Any:
        family = hp.Choice("family", list(self.members))
        assert self.input_shape is not None  # build_with() refuses an unconfigured space
        x = None
        for name, member in self.members.items():
            with hp.conditional_scope("family", [name]):
                if name == family:
                    flat = member.input_rank == 1 and len(self.input_shape) > 1
                    member_input = k.layers.Flatten(name="flatten_input")(inputs) if flat else inputs
                    x = member._body(_Prefixed(hp, f"{name}_"), k, member_input)
        return x


def _check_members(members: Any) -> dict[str, EdgeSpace]:
    if not isinstance(members, Mapping) or not members:
        raise TfnasInputError(
            f"members={members!r} must be a non-empty dict of family name -> EdgeSpace, e.g. "
            "{'mlp': MLPSpace(), 'cnn': CNN2DSpace()}."
        )
    checked = {}
    for family, member in members.items():
        if isinstance(member, type) and issubclass(member, EdgeSpace):
            member = member()
        if not isinstance(member, EdgeSpace) or isinstance(member, FamilySpace):
            raise TfnasInputError(
                f"members[{family!r}] is {member!r}: each family must be an EdgeSpace such as MLPSpace() or CNN2DSpace()."
            )
        if not isinstance(family, str) or not family.isidentifier():
            raise TfnasInputError(f"Family name {family!r} must be a short identifier such as 'cnn': it prefixes hp names.")
        checked[family] = member
    return checked
