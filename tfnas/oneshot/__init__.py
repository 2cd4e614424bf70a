"""Weight-sharing (one-shot) search: a supernet whose sub-networks share weights, its training, their extraction.

A sub-network is a dict of the space's own hp values, so the same
`kt.HyperParameters` describe a trial-trained candidate and a sub-network.
Supernets cover `DSCNN1DSpace` (`Supernet`) and the MobileNet family,
`MobileNetSpace` and `DSCNN2DSpace` (`MobileNetSupernet`); `supernet_for(space)`
builds a space's. A family plugs in as a `tfnas.oneshot.family.Family`,
registered in `tfnas.oneshot.families` with its supernet in `tfnas.oneshot.supernet`.
"""

from tfnas.oneshot.base_supernet import BaseSupernet
from tfnas.oneshot.dscnn1d_supernet import Supernet
from tfnas.oneshot.extract import extract
from tfnas.oneshot.mobilenet_supernet import MobileNetSupernet
from tfnas.oneshot.sandwich import largest
from tfnas.oneshot.sandwich import random_subnet
from tfnas.oneshot.sandwich import sandwich_losses
from tfnas.oneshot.sandwich import smallest
from tfnas.oneshot.subnet import Subnet
from tfnas.oneshot.subnet import resolve
from tfnas.oneshot.supernet import supernet_for
from tfnas.oneshot.train import SupernetHistory
from tfnas.oneshot.train import train_supernet

__all__ = [
    "BaseSupernet",
    "MobileNetSupernet",
    "Subnet",
    "Supernet",
    "SupernetHistory",
    "extract",
    "largest",
    "random_subnet",
    "resolve",
    "sandwich_losses",
    "smallest",
    "supernet_for",
    "train_supernet",
]
