"""Which supernets train as one graph per frame, and the compiled sandwich step that trains each.

The DS-CNN 1-D supernet's masked step is `tfnas.oneshot.masked`, the
MobileNet family's `tfnas.oneshot.masked2d` (its sub-networks run at their
own sizes, `tfnas.oneshot.sliced2d`, or masked); `train_supernet` asks
`compilable` whether a supernet's frame allows one, and `compiled_sandwich`
builds the step.
"""

from __future__ import annotations

from typing import Any

import keras

from tfnas.oneshot import masked
from tfnas.oneshot.masked import CompiledSandwich
from tfnas.oneshot.masked2d import CompiledSandwich2D
from tfnas.oneshot.masked2d import compilable_2d

__all__ = ["compilable", "compiled_sandwich"]


def compilable(supernet: Any) -> bool:
    """Whether every sub-network of `supernet` can run as its masked largest, so one graph trains them all.

    True for a DS-CNN 1-D supernet (`tfnas.oneshot.masked.compilable`) or a
    MobileNet-family one (`tfnas.oneshot.masked2d.compilable_2d`) whose frame
    is fixed (one stem stride, one block or stage stride, one head; a
    DS-CNN 1-D one also one pooling) and whose kernels' "same" padding is
    never clipped; `tfnas.oneshot.frame.narrow` fixes a frame.
    """
    return masked.compilable(supernet) or compilable_2d(supernet)


def compiled_sandwich(
    supernet: Any, optimizer: keras.optimizers.Optimizer, students: int, label_smoothing: float = 0.0,
    distill: bool = True,
) -> CompiledSandwich:
    """The compiled sandwich step of a supernet for which `compilable` holds (arguments as `CompiledSandwich`'s)."""
    step = CompiledSandwich if masked.compilable(supernet) else CompiledSandwich2D
    return step(supernet, optimizer, students, label_smoothing, distill)
