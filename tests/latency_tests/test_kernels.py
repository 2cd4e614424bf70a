"""Micro-models: each `.tflite` holds the one op of its kernel type, and the manifest describes it."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tfnas.cost._kernel_features import FEATURES
from tfnas.errors import TfnasInputError
from tfnas.latency import sampling
from tfnas.latency.kernels import file_ops
from tfnas.latency.kernels import write_kernel
from tfnas.latency.measure import read_manifest


def test_every_kernel_type_has_a_micro_model(kernel_dir):
    manifest = read_manifest(kernel_dir)
    assert manifest["skipped"] == []
    kinds = {row["kind"] for row in manifest["kernels"]}
    assert kinds == set(sampling.KINDS) | {sampling.OVERHEAD}


def test_each_file_holds_exactly_its_op(kernel_dir):
    for row in read_manifest(kernel_dir)["kernels"]:
        expected = "FULLY_CONNECTED" if row["kind"] == sampling.OVERHEAD else row["kind"]
        ops = [op for op in file_ops(os.path.join(kernel_dir, row["file"])) if op not in ("QUANTIZE", "DEQUANTIZE")]
        assert ops == [expected], row["file"]
        assert set(row["features"]) == set(FEATURES)


def test_features_match_the_layer(kernel_dir, small):
    rows = {row["file"].rsplit("_", 1)[0]: row for row in read_manifest(kernel_dir)["kernels"]}
    conv, one_d = rows["conv_2d"]["features"], rows["conv_1d"]["features"]
    p = small["CONV_2D"]
    assert (conv["cin"], conv["cout"], conv["kernel"], conv["stride"]) == (
        p["cin"],
        p["cout"],
        9,
        2,
    )
    assert conv["macs"] == 4 * 4 * 9 * p["cin"] * p["cout"]  # 8x8 at stride 2, "same": a 4x4 output
    assert conv["macs32"] > conv["macs16"] > conv["macs8"] > conv["macs"]  # 3 and 8 channels round up to the tiles
    assert (one_d["kernel"], one_d["stride"], one_d["out_hw"]) == (5, 2, 16)


def test_micro_model_with_other_ops_is_refused(tmp_path, small):
    # a sigmoid does not fuse into the conv: the file holds CONV_2D and LOGISTIC
    spec = sampling.Spec("CONV_2D", {"kind": "CONV_2D", **small["CONV_2D"], "act": "sigmoid"}, "x.tflite")
    with pytest.raises(TfnasInputError, match="not to the one op expected|converted to ops"):
        write_kernel(spec, str(tmp_path))


def test_drawn_shapes_stay_in_range():
    rng = np.random.default_rng(0)
    for kind in sampling.KINDS:
        for _ in range(20):
            p = sampling.draw(kind, rng)
            assert p["kind"] == kind
            assert p.get("h", 1) * p.get("w", 1) * max(p.get("cin", 1), p.get("cout", 1)) <= sampling.MAX_ELEMENTS * 4
            near = sampling.perturb(p, rng)
            assert {k for k in near} == {k for k in p}
