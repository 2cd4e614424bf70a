"""TFLite metadata: written by export, read back by Google's reader and by tfnas's, outputs unchanged, bad input refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

import tfnas
from tfnas.errors import TfnasInputError
from tfnas.metadata import Metadata
from tfnas.verify.litert import interpreter
from tfnas.verify.litert import run_litert

CLASSES = ["zero", "one", "two"]
# Google's reader, run where TensorFlow is not imported (tflite-support 0.4.4 pins protobuf<4, which TF rejects):
# MetadataDisplayer when its native part loads (it needs libusb-1.0), else the reader flatc generated from the same
# schema, shipped in the same wheel. Either way nothing of tfnas reads the file.
GOOGLE_READER = r"""
import io, json, sys, zipfile
sys.modules["tensorflow"] = None
blob = open(sys.argv[1], "rb").read()
try:
    from tensorflow_lite_support.metadata.python import metadata
    shown = metadata.MetadataDisplayer.with_model_buffer(blob)
    buf, files, reader = shown.get_metadata_buffer(), shown.get_packed_associated_file_list(), "MetadataDisplayer"
    meta = json.loads(shown.get_metadata_json())
except ImportError:
    from tensorflow_lite_support.metadata import metadata_schema_py_generated as fb
    from tensorflow_lite_support.metadata import schema_py_generated as model_fb
    model = model_fb.Model.GetRootAsModel(blob, 0)
    entry = [model.Metadata(i) for i in range(model.MetadataLength()) if model.Metadata(i).Name() == b"TFLITE_METADATA"][0]
    buf = model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    m = fb.ModelMetadataT.InitFromObj(fb.ModelMetadata.GetRootAsModelMetadata(buf, 0))
    t = m.subgraphMetadata[0].inputTensorMetadata[0]
    o = m.subgraphMetadata[0].outputTensorMetadata[0]
    meta = {"name": m.name.decode(), "author": m.author.decode(), "license": m.license.decode(),
            "min_parser_version": m.minParserVersion.decode(), "subgraph_metadata": [{"input_tensor_metadata": [{
                "process_units": [{"options": {"mean": [float(v) for v in t.processUnits[0].options.mean],
                                               "std": [float(v) for v in t.processUnits[0].options.std]}}],
                "stats": {"min": [float(v) for v in t.stats.min], "max": [float(v) for v in t.stats.max]}}],
                "output_tensor_metadata": [{"associated_files": [{"name": o.associatedFiles[0].name.decode()}]}]}]}
    files, reader = zipfile.ZipFile(io.BytesIO(blob)).namelist(), "flatc-generated reader"
print(json.dumps({"reader": reader, "identifier": bytes(buf[4:8]).decode(), "files": files, "meta": meta}))
"""


@pytest.fixture(scope="session")
def google_reader(tmp_path_factory) -> str:
    """A folder holding tflite-support 0.4.4, installed `--no-deps` for these tests only."""
    target = tmp_path_factory.mktemp("tflite_support")
    run = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), "tflite-support==0.4.4"],
        capture_output=True, text=True, timeout=300,
    )
    if run.returncode != 0:
        pytest.skip(f"tflite-support 0.4.4 (Google's metadata reader) could not be installed: {run.stderr.strip()[-300:]}")
    return str(target)


def read_with_google(folder: str, path: str) -> dict:
    env = {**os.environ, "PYTHONPATH": folder}
    run = subprocess.run([sys.executable, "-c", GOOGLE_READER, path], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def image_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(len(CLASSES), activation="softmax")(h))


def meta_for_pixels(**changes) -> Metadata:
    fields = dict(name="digits", author="tests", license="Apache-2.0", version="2", mean=[0.0], std=[255.0],
                  input_range=(0.0, 1.0), labels=CLASSES)
    return Metadata(**{**fields, **changes})


def test_google_reads_what_tfnas_writes(image_model, google_reader, tmp_path):
    path = str(tmp_path / "phone.tflite")
    report = tfnas.export(image_model, path, quantization="float32", metadata=meta_for_pixels())
    shown = read_with_google(google_reader, path)
    assert shown["identifier"] == "M001" and shown["files"] == ["labels.txt"]
    meta = shown["meta"]
    assert meta["name"] == "digits" and meta["author"] == "tests" and meta["license"] == "Apache-2.0"
    assert meta["min_parser_version"] == "1.0.0"
    tensor = meta["subgraph_metadata"][0]["input_tensor_metadata"][0]
    assert tensor["process_units"][0]["options"] == {"mean": [0.0], "std": [255.0]}
    assert tensor["stats"] == {"min": [0.0], "max": [1.0]}
    assert meta["subgraph_metadata"][0]["output_tensor_metadata"][0]["associated_files"][0]["name"] == "labels.txt"
    assert report.metadata["labels"] == CLASSES


def test_labels_are_zipped_uncompressed_and_read_back(image_model, tmp_path):
    path = str(tmp_path / "phone.tflite")
    tfnas.export(image_model, path, quantization="float32", metadata=meta_for_pixels())
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["labels.txt"]
        assert zf.getinfo("labels.txt").compress_type == zipfile.ZIP_STORED
        assert zf.read("labels.txt").decode().splitlines() == CLASSES
    meta = tfnas.metadata.read(path)
    assert meta is not None
    assert (meta.name, meta.version, meta.author, meta.license) == ("digits", "2", "tests", "Apache-2.0")
    assert meta.mean == [0.0] and meta.std == [255.0] and meta.input_range == (0.0, 1.0)
    assert meta.labels == CLASSES and meta.min_parser_version == "1.0.0" and meta.associated_files == ["labels.txt"]
    assert "Made by tfnas" in meta.description


@pytest.mark.parametrize("quantization", ["float32", "int8"])
def test_outputs_identical_with_and_without_metadata(image_model, quantization, tmp_path):
    x = np.random.default_rng(0).random((16, 8, 8, 1)).astype(np.float32)
    kwargs = dict(quantization=quantization, representative_data=x, target="litert")
    bare = tfnas.export(image_model, str(tmp_path / "bare.tflite"), metadata=False, **kwargs)
    rich = tfnas.export(image_model, str(tmp_path / "rich.tflite"), metadata=meta_for_pixels(), **kwargs)
    assert rich.bytes > bare.bytes and tfnas.metadata.read(bare.path) is None
    runs = []
    for report in (bare, rich):
        interp = interpreter(report.path, kernels="reference")
        details = interp.get_input_details()[0]
        scale, zero = details["quantization"]
        raw = np.round(x / scale + zero).clip(-128, 127).astype(np.int8) if quantization == "int8" else x
        runs.append(run_litert(interp, raw))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_default_is_on_for_phones_off_for_microcontrollers(image_model, tmp_path):
    x = np.random.default_rng(1).random((8, 8, 8, 1)).astype(np.float32)
    phone = tfnas.export(image_model, str(tmp_path / "phone.tflite"), quantization="float32", representative_data=x)
    micro = tfnas.export(image_model, str(tmp_path / "micro.tflite"), representative_data=x)
    assert micro.target == "micro" and micro.metadata is None and tfnas.metadata.read(micro.path) is None
    meta = tfnas.metadata.read(phone.path)
    assert meta is not None and meta.mean is None and meta.labels is None  # normalisation stated as none
    assert meta.input_range == (float(x.min()), float(x.max()))


@pytest.mark.parametrize(
    ("metadata", "match"),
    [
        ({"labels": ["a", "b"]}, "2 classes but the model's output has 3"),
        ({"mean": [0.0, 0.0], "std": [1.0, 1.0]}, "2 values but the model's input has 1 channels"),
        ({"mean": [0.0], "std": [1.0, 2.0]}, "mean and std go together"),
        ({"labels": ["a", 1, "c"]}, "non-empty strings"),
        ({"labels": "abc"}, "list of strings"),
        ({"colour": "red"}, "no field 'colour'"),
        ({"std": [0.0], "mean": [0.0]}, "must not hold 0"),
    ],
)
def test_bad_metadata_is_refused_before_writing(image_model, metadata, match, tmp_path):
    path = tmp_path / "bad.tflite"
    with pytest.raises(TfnasInputError, match=match):
        tfnas.export(image_model, str(path), quantization="float32", metadata=metadata)
    assert not path.exists()


def test_verify_checks_normalisation_against_metadata(image_model, tmp_path):
    path = str(tmp_path / "phone.tflite")
    tfnas.export(image_model, path, quantization="float32", metadata=meta_for_pixels())
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, (20, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    with pytest.raises(TfnasInputError, match=r"normalization='metadata'"):
        tfnas.verify(path, pixels, y, latency_runs=2)  # raw pixels for a [0, 1] model
    with pytest.raises(TfnasInputError, match="contradicts the metadata"):
        tfnas.verify(path, pixels, y, normalization=(0.0, 127.5), latency_runs=2)
    raw = tfnas.verify(path, pixels, y, normalization="metadata", latency_runs=2)
    scaled = tfnas.verify(path, pixels / 255.0, y, latency_runs=2)
    assert raw.litert_value == scaled.litert_value and raw.normalization.startswith("metadata")
    assert scaled.metadata is not None and scaled.metadata["labels"] == CLASSES
    lines: list[str] = []
    raw.summary(print_fn=lines.append)
    assert any(line.startswith("metadata: 'digits'") for line in lines)


def test_description_says_what_tfnas_found():
    from types import SimpleNamespace

    from tfnas.metadata.describe import description

    found = SimpleNamespace(metrics={"macs": 12345.0, "test_accuracy": 0.9712}, hyperparameters={"family": "mobilenet"})
    text = description(found, "search candidate 03", limits={"max_macs": 20000})
    assert "mobilenet" in text and "12,345 MACs" in text and "accuracy 0.9712" in text and "max_macs 20,000" in text


def test_image_folder_source_gives_labels_and_pixel_normalisation(tmp_path):
    from tfnas.app.export_metadata import source_metadata

    for name in ("dog", "cat"):
        (tmp_path / "images" / name).mkdir(parents=True)
    fields = source_metadata({"source": "images"}, str(tmp_path))
    assert fields["labels"] == ["cat", "dog"] and fields["std"] == [255.0] and fields["input_range"] == (0.0, 1.0)
    assert source_metadata({"source": "data.npz"}, str(tmp_path)) == {}
