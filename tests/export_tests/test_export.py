"""`tfnas.export`: int8 files that run, other quantizations, C arrays that compile, clear errors."""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import subprocess
import warnings

import keras
import numpy as np
import pytest
import yaml

import tfnas
from tfnas.errors import TfnasInputError
from tfnas.export import TFLM_OPS
from tfnas.export import c_identifier
from tfnas.export.flatbuffer import interpreter
from tfnas.export.flatbuffer import strip_names
from tfnas.verify.litert import run_litert
from tfnas.verify.micro import run_micro


def test_int8_export_is_batch_one_int8_and_micro_ready(digits, digits_model, tmp_path):
    (x, _), _ = digits
    report = tfnas.export(digits_model, str(tmp_path / "digits.tflite"), representative_data=x[:100])
    blob = open(report.path, "rb").read()
    assert report.bytes == len(blob) and report.gzip_bytes == len(gzip.compress(blob, compresslevel=9))
    assert report.input["dtype"] == "int8" and report.output["dtype"] == "int8"
    assert report.input["shape"] == [1, 8, 8, 1] and report.input["scale"] > 0
    assert set(report.ops) <= TFLM_OPS and not report.micro_unsupported_ops
    assert report.target == "micro" and report.source == "keras3"
    assert "DENSIFY" not in report.ops
    saved = yaml.safe_load(open(report.report_path))
    assert saved["bytes"] == report.bytes and saved["ops"] == report.ops


@pytest.mark.parametrize("quantization, dtype", [("float16", "float32"), ("dynamic", "float32"), ("float32", "float32")])
def test_other_quantizations_keep_float_io(digits_model, tmp_path, quantization, dtype):
    report = tfnas.export(digits_model, str(tmp_path / f"{quantization}.tflite"), quantization=quantization)
    assert report.input["dtype"] == dtype and report.target == "litert"
    interp = interpreter(open(report.path, "rb").read())
    assert tuple(interp.get_input_details()[0]["shape"]) == (1, 8, 8, 1)


def test_int8_without_representative_data_names_the_fix(digits_model, tmp_path):
    with pytest.raises(TfnasInputError, match="int8 export needs representative_data"):
        tfnas.export(digits_model, str(tmp_path / "m.tflite"))
    assert not os.path.exists(tmp_path / "m.tflite")
    with pytest.raises(TfnasInputError, match=r"samples of shape \(64,\)"):
        tfnas.export(digits_model, str(tmp_path / "m.tflite"), representative_data=np.zeros((4, 64)))
    with pytest.raises(TfnasInputError, match="quantization='int4' is not supported"):
        tfnas.export(digits_model, str(tmp_path / "m.tflite"), quantization="int4")


def test_a_layer_tflite_micro_cannot_run_is_refused_for_micro(tmp_path):
    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(4, activation="gelu", name="gelu_dense")(inputs))
    data = np.random.default_rng(0).random((16, 8), dtype=np.float32)
    with pytest.raises(TfnasInputError, match="TFLite Micro cannot run this model: it has no kernel for GELU"):
        tfnas.export(model, str(tmp_path / "gelu.tflite"), representative_data=data)
    report = tfnas.export(model, str(tmp_path / "gelu.tflite"), representative_data=data, target="litert")
    assert report.micro_unsupported_ops == ["GELU"]


@pytest.mark.parametrize("quantization", ["int8", "float32"])
def test_export_shows_no_converter_warning(tmp_path, caplog, quantization):
    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(4)(inputs))
    data = np.random.default_rng(0).random((16, 8), dtype=np.float32)
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        tfnas.export(model, str(tmp_path / "m.tflite"), quantization=quantization, representative_data=data)
    assert [str(w.message) for w in caught] == []
    # TensorFlow's "trackable_obj argument ... is deprecated" comes through absl's logger, once per conversion
    assert [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_unwritable_path_is_reported(digits_model, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(TfnasInputError, match="pass a path you can write to"):
        tfnas.export(digits_model, str(blocker / "m.tflite"), quantization="float32")


def test_strip_names_drops_the_names_and_keeps_the_outputs(digits, digits_model, tmp_path):
    (x, _), _ = digits
    full = tfnas.export(digits_model, str(tmp_path / "full.tflite"), representative_data=x[:100])
    bare = tfnas.export(digits_model, str(tmp_path / "bare.tflite"), representative_data=x[:100], strip_names=True)
    full_blob, blob = open(full.path, "rb").read(), open(bare.path, "rb").read()
    assert bare.names_stripped and not full.names_stripped and yaml.safe_load(open(bare.report_path))["names_stripped"]
    assert bare.bytes == len(blob) < full.bytes and bare.gzip_bytes == len(gzip.compress(blob, compresslevel=9))
    assert blob == strip_names(full_blob)  # the same conversion, only the names gone
    assert (bare.ops, bare.input, bare.output, bare.weight_zeros) == (full.ops, full.input, full.output, full.weight_zeros)
    assert b"min_runtime_version" in blob and b"CONVERSION_METADATA" in blob and b"MLIR Converted" not in blob

    from ai_edge_litert import interpreter as litert

    reference = litert.OpResolverType.BUILTIN_REF  # rounds like TFLite Micro
    interps = [litert.Interpreter(model_content=b, experimental_op_resolver_type=reference) for b in (full_blob, blob)]
    for interp in interps:
        interp.allocate_tensors()
    assert any(t["name"] for t in interps[0].get_tensor_details())
    assert {t["name"] for t in interps[1].get_tensor_details()} == {""}
    samples = np.random.default_rng(0).integers(-128, 128, (8, 8, 8, 1)).astype(np.int8)
    np.testing.assert_array_equal(run_litert(interps[1], samples), run_litert(interps[0], samples))
    np.testing.assert_array_equal(run_micro(blob, samples).outputs, run_micro(full_blob, samples).outputs)


def test_verify_runs_a_stripped_file(digits, digits_model, tmp_path):
    (x, _), (x_test, y_test) = digits
    runs = []
    for strip in (False, True):
        report = tfnas.export(digits_model, str(tmp_path / f"{strip}.tflite"), representative_data=x[:100], strip_names=strip)
        runs.append(tfnas.verify(report.path, x_test[:100], y_test[:100], latency_runs=2))
    assert runs[1].micro_error is None and runs[1].agreement == 1.0
    assert (runs[1].litert_value, runs[1].micro_value) == (runs[0].litert_value, runs[0].micro_value)
    assert runs[1].bytes < runs[0].bytes


def test_c_identifiers_are_safe():
    assert c_identifier("out/kws-int8.tflite") == "kws_int8"
    assert c_identifier("3 models/2nd model.v1.tflite") == "m_2nd_model_v1"
    assert c_identifier("--.tflite") == "model"


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_c_array_compiles_and_holds_the_file(digits, digits_model, tmp_path):
    (x, _), _ = digits
    report = tfnas.export(digits_model, str(tmp_path / "my-model.tflite"), representative_data=x[:50], c_array=True)
    assert report.c_source.endswith("my_model_data.c") and report.c_header.endswith("my_model_data.h")
    main = tmp_path / "main.c"
    main.write_text(
        '#include <stdio.h>\n#include <stdint.h>\n#include "my_model_data.h"\n'
        "int main(void) {\n"
        '  printf("%u %.4s %d\\n", my_model_tflite_len, (const char *)my_model_tflite + 4,\n'
        "         (int)(((uintptr_t)my_model_tflite) % 16));\n"
        "  return 0;\n}\n"
    )
    exe = tmp_path / "check"
    build = subprocess.run(
        ["cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-I", str(tmp_path), str(main), report.c_source,
         "-o", str(exe)],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, build.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True).stdout.split()
    assert out == [str(report.bytes), "TFL3", "0"]
    if shutil.which("c++"):
        as_cpp = subprocess.run(
            ["c++", "-x", "c++", "-std=c++11", "-Wall", "-Werror", "-c", report.c_source, "-o", str(tmp_path / "a.o")],
            capture_output=True, text=True,
        )
        assert as_cpp.returncode == 0, as_cpp.stderr


def test_export_takes_a_compression_result_with_its_calibration_data(digits, digits_model, tmp_path):
    (x, y), (x_test, y_test) = digits
    result = tfnas.compress(digits_model, x, y, validation_data=(x_test, y_test), prune=0.5, epochs=1)
    report = tfnas.export(result, str(tmp_path / "pruned.tflite"))
    assert report.source == "compression result (prune)"
    assert report.weight_zeros > 0.1
    assert any("DENSIFY" in note for note in report.notes)
