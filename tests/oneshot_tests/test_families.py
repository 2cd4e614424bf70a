"""The registry of families (`tfnas.oneshot.families`) and the table from family to supernet (`tfnas.oneshot.supernet`)."""

from __future__ import annotations

import keras_tuner
import numpy as np
import pytest

from tfnas.errors import TfnasInputError
from tfnas.oneshot import MobileNetSupernet
from tfnas.oneshot import Supernet
from tfnas.oneshot import supernet_for
from tfnas.oneshot.families import FAMILIES
from tfnas.oneshot.families import covers
from tfnas.oneshot.families import family_of
from tfnas.oneshot.supernet import SUPERNETS
from tfnas.oracles import OneShotOracle
from tfnas.spaces import DSCNN1DSpace
from tfnas.spaces import DSCNN2DSpace
from tfnas.spaces import MLPSpace
from tfnas.spaces import MobileNetSpace


def test_every_registered_family_has_one_supernet():
    assert set(SUPERNETS) == {type(family) for family in FAMILIES}


@pytest.mark.parametrize(
    "space, supernet_type",
    [
        (DSCNN1DSpace().configure((16, 1), 3, "classification"), Supernet),
        (MobileNetSpace().configure((8, 8, 1), 3, "classification"), MobileNetSupernet),
        (DSCNN2DSpace().configure((8, 8, 1), 3, "classification"), MobileNetSupernet),  # a MobileNetSpace subclass
    ],
)
def test_supernet_for_builds_the_family_s_supernet(space, supernet_type):
    assert covers(space)
    assert isinstance(space, family_of(space).space_type)
    assert type(supernet_for(space)) is supernet_type


def test_a_space_no_family_covers_is_refused_by_name():
    space = MLPSpace().configure((4,), 3, "classification")
    assert not covers(space)
    with pytest.raises(TfnasInputError, match="the one-shot supernet covers .*received: MLPSpace"):
        family_of(space)
    with pytest.raises(TfnasInputError, match="received: MLPSpace"):
        supernet_for(space)


def test_the_oneshot_oracle_refuses_a_space_no_family_covers_before_training(tmp_path):
    oracle = OneShotOracle(objective=keras_tuner.Objective("val_accuracy", "max"), max_trials=4, supernet_epochs=1)
    space = MLPSpace().configure((4,), 3, "classification")
    x, y = np.zeros((8, 4), "float32"), np.zeros(8, "int64")
    with pytest.raises(TfnasInputError, match="oracle 'oneshot' needs a space its supernet covers: space='dscnn1d'"):
        oracle.prepare(space, x, y, validation_data=(x, y), training=None, directory=str(tmp_path))
    assert not (tmp_path / "oneshot").exists()
