"""The plain-data contract of `CostReport` / `LayerCost`."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml

import tfnas.cost


def test_cost_metrics_and_to_dict(zoo: dict) -> None:
    report = tfnas.cost.profile(zoo["dscnn1d"])
    assert tfnas.cost.COST_METRICS == ("macs", "flops", "params", "tflite_bytes", "peak_ram_bytes", "arena_bytes")
    costs = report.to_dict()
    assert list(costs) == list(tfnas.cost.COST_METRICS)
    assert all(type(value) is int and value > 0 for value in costs.values())
    assert yaml.safe_load(yaml.safe_dump(costs)) == costs
    detailed = report.to_dict(layers=True)
    assert len(detailed["layers"]) == len(report.layers)
    assert json.loads(json.dumps(detailed)) == detailed


def test_report_is_frozen_plain_data(zoo: dict) -> None:
    report = tfnas.cost.profile(zoo["tiny_cnn"])
    assert isinstance(report, tfnas.cost.CostReport)
    assert all(isinstance(layer, tfnas.cost.LayerCost) for layer in report.layers)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.macs = 0
    conv = report.layers[0]
    assert (conv.class_name, conv.output_shape, conv.output_bytes, conv.source) == ("Conv2D", (6, 6, 4), 144, "rule")
    assert conv.macs == 6 * 6 * 4 * 3 * 3 and conv.params == 4 * 9 + 4
    assert sum(layer.flops for layer in report.layers) == report.flops


def test_layers_table_lists_every_layer(zoo: dict) -> None:
    report = tfnas.cost.profile(zoo["nested"])
    table = report.layers_table()
    for layer in report.layers:
        assert layer.name in table
    assert any(layer.name.startswith("stem_block/") for layer in report.layers)  # nested model flattened
    assert f"{report.flops:,}" in table and f"{report.peak_ram_bytes:,}" in table
