"""Supernets: one Keras 3 model whose weights every sub-network of a space shares; `supernet_for` builds a space's.

As in Once-for-All, a supernet holds the largest choice of every elastic
dimension (`tfnas.oneshot.elastic`): all of the deepest sub-network's blocks
(a shallower sub-network uses the first ones), the widest layers (a narrower
layer uses the first channels of the shared weights), the largest kernels (a
smaller kernel is the centre of the largest). Every BatchNormalization spans
the widest layer, and a narrower one uses the first entries of gamma, beta
and the moving statistics. Strides, pooling and residual Adds hold no
weights: they are switches. A sub-network is a dict of the space's own hp
values (see `tfnas.oneshot.subnet`); `tfnas.oneshot.extract` turns one into a
standalone model built by the space itself.

`BaseSupernet` (`tfnas.oneshot.base_supernet`) is what every supernet shares
(the space, the active sub-network, the head); `Supernet`
(`tfnas.oneshot.dscnn1d_supernet`) is the DS-CNN 1-D one, and
`MobileNetSupernet` (`tfnas.oneshot.mobilenet_supernet`) the MobileNet
family's. `SUPERNETS` is the one table from a family to its supernet, and
`supernet_for(space)` builds the one a space's family uses.
"""

from __future__ import annotations

from tfnas.oneshot.base_supernet import BaseSupernet
from tfnas.oneshot.dscnn1d import DSCNN1DFamily
from tfnas.oneshot.dscnn1d_supernet import Supernet
from tfnas.oneshot.elastic import ElasticBatchNorm
from tfnas.oneshot.elastic import ElasticConv1D
from tfnas.oneshot.elastic import ElasticDense
from tfnas.oneshot.families import family_of
from tfnas.oneshot.family import Family
from tfnas.oneshot.mobilenet import MobileNetFamily
from tfnas.oneshot.mobilenet_supernet import MobileNetSupernet
from tfnas.spaces import EdgeSpace

__all__ = [
    "SUPERNETS", "BaseSupernet", "ElasticBatchNorm", "ElasticConv1D", "ElasticDense", "MobileNetSupernet", "Supernet",
    "supernet_for",
]

# The supernet class of each family of `tfnas.oneshot.families.FAMILIES`.
SUPERNETS: dict[type[Family], type[BaseSupernet]] = {DSCNN1DFamily: Supernet, MobileNetFamily: MobileNetSupernet}


def supernet_for(space: EdgeSpace, name: str | None = None) -> BaseSupernet:
    """The supernet of a configured space: a `Supernet` for `DSCNN1DSpace`, a `MobileNetSupernet` for
    `MobileNetSpace` and `DSCNN2DSpace`.

    Example:
        ```python
        supernet = supernet_for(MobileNetSpace().configure((8, 8, 1), 10, "classification"))
        ```

    Raises:
        TfnasInputError: No supernet covers the space, or it is not configured.
    """
    return SUPERNETS[type(family_of(space))](space, name=name)
