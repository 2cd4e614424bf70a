"""MnasNet, Linear and callable rewards on hand-made metrics."""

import pytest

from tfnas.errors import TfnasInputError
from tfnas.rewards import CallableReward
from tfnas.rewards import Linear
from tfnas.rewards import MnasNet
from tfnas.rewards import get_reward


def test_mnasnet_soft_matches_the_paper_formula():
    r = MnasNet(target=1000).bind("val_accuracy", "max")
    assert r({"val_accuracy": 0.9, "macs": 1000}) == pytest.approx(0.9)
    assert r({"val_accuracy": 0.9, "macs": 2000}) == pytest.approx(0.9 * 2 ** -0.07)
    assert r({"val_accuracy": 0.9, "macs": 500}) == pytest.approx(0.9 * 0.5 ** -0.07)
    # doubling the cost is worth about 5% relative accuracy
    assert r({"val_accuracy": 0.9 * 1.05, "macs": 2000}) == pytest.approx(r({"val_accuracy": 0.9, "macs": 1000}), rel=2e-3)


def test_mnasnet_hard_ignores_cost_under_target_and_penalises_above():
    r = MnasNet(target=1000, hard=True).bind("val_accuracy", "max")
    assert r({"val_accuracy": 0.8, "macs": 10}) == pytest.approx(0.8)
    assert r({"val_accuracy": 0.8, "macs": 1000}) == pytest.approx(0.8)
    assert r({"val_accuracy": 0.8, "macs": 4000}) == pytest.approx(0.2)


def test_mnasnet_on_another_metric_and_min_quality():
    r = MnasNet(target=100, metric="peak_ram_bytes").bind("val_loss", "min")
    assert r({"val_loss": 1.0, "peak_ram_bytes": 100}) == pytest.approx(0.5)  # 1 / (1 + loss)


def test_linear_normalises_by_reference_or_constraint():
    r = Linear(alpha=1.0, beta=-0.5, reference=1000).bind("val_accuracy", "max")
    assert r({"val_accuracy": 0.9, "macs": 500}) == pytest.approx(0.9 - 0.25)
    r2 = Linear(alpha=2.0, beta=-1.0).bind("val_accuracy", "max", {"max_macs": 2000})
    assert r2({"val_accuracy": 0.5, "macs": 1000}) == pytest.approx(1.0 - 0.5)


def test_linear_without_scale_names_the_fix():
    with pytest.raises(TfnasInputError, match="reference"):
        Linear().bind("val_accuracy", "max", {})


def test_callable_and_resolution():
    r = get_reward(lambda m: m["val_accuracy"] - m["macs"] / 1e4).bind("val_accuracy", "max")
    assert isinstance(r, CallableReward)
    assert r({"val_accuracy": 0.9, "macs": 1000}) == pytest.approx(0.8)
    keys = r.rank([{"val_accuracy": 0.9, "macs": 1000}, {"val_accuracy": 0.95, "macs": 100}])
    assert keys[1] > keys[0]


@pytest.mark.parametrize("bad", ["hypervolume", 3, object()])
def test_unknown_reward_is_rejected(bad):
    with pytest.raises(TfnasInputError):
        get_reward(bad)


@pytest.mark.parametrize("kwargs", [{"target": 0}, {"target": 100, "w": 0.1}])
def test_mnasnet_validates(kwargs):
    with pytest.raises(TfnasInputError):
        MnasNet(**kwargs)
