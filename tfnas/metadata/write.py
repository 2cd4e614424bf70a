"""Writes TFLite metadata into a model: the `TFLITE_METADATA` buffer, and `labels.txt` zipped onto the file.

This is how Google's metadata populator lays a file out, so Android Studio's
ML Model Binding and the LiteRT Support Library read it: the metadata
flatbuffer (identifier `M001`) becomes one more buffer of the model, named
by an entry `TFLITE_METADATA` of the model's `metadata` vector, and the
associated files are appended as an uncompressed zip archive (LiteRT reads
the flatbuffer from the start of the file and ignores the archive after it).
The model is re-packed with the model schema of the installed LiteRT
(`ai_edge_litert.schema_py_generated`), so no op or field is dropped.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import flatbuffers
import numpy as np

from tfnas.errors import TfnasInputError
from tfnas.metadata.schema import ASSOCIATED_FILE
from tfnas.metadata.schema import CONTENT
from tfnas.metadata.schema import FEATURE_PROPERTIES
from tfnas.metadata.schema import GRAYSCALE
from tfnas.metadata.schema import IMAGE_PROPERTIES
from tfnas.metadata.schema import IMAGE_PROPERTIES_TYPE
from tfnas.metadata.schema import MIN_PARSER_VERSION
from tfnas.metadata.schema import MODEL
from tfnas.metadata.schema import NORMALIZATION
from tfnas.metadata.schema import NORMALIZATION_OPTIONS
from tfnas.metadata.schema import PROCESS_UNIT
from tfnas.metadata.schema import RGB
from tfnas.metadata.schema import STATS
from tfnas.metadata.schema import SUBGRAPH
from tfnas.metadata.schema import TENSOR
from tfnas.metadata.schema import TENSOR_AXIS_LABELS
from tfnas.metadata.schema import Writer
from tfnas.metadata.spec import LABELS_FILE
from tfnas.metadata.spec import Metadata

METADATA_NAME = "TFLITE_METADATA"
MODEL_IDENTIFIER = b"TFL3"


def attach(blob: bytes, meta: Metadata) -> bytes:
    """The model `blob` carrying `meta`: the metadata buffer added (or replaced), `labels.txt` zipped on when labelled.

    Raises:
        TfnasInputError: the normalisation or labels do not fit the model's first input and output.
    """
    from ai_edge_litert import schema_py_generated as schema_fb

    model = schema_fb.ModelT.InitFromPackedBuf(bytearray(blob), 0)
    graph = model.subgraphs[0]
    inputs = [graph.tensors[i] for i in graph.inputs]
    outputs = [graph.tensors[i] for i in graph.outputs]
    out_shape = [int(d) for d in outputs[0].shape] if outputs[0].shape is not None else []
    meta.check_model(channels=int(inputs[0].shape[-1]), classes=out_shape[-1] if out_shape else None)
    encoded = encode(meta, [_info(t) for t in inputs], [_info(t) for t in outputs])
    buffer = schema_fb.BufferT()
    buffer.data = np.frombuffer(encoded, dtype=np.uint8)
    model.metadata = [m for m in (model.metadata or []) if _name(m.name) != METADATA_NAME]
    entry = schema_fb.MetadataT()
    entry.name, entry.buffer = METADATA_NAME, len(model.buffers)
    model.buffers.append(buffer)
    model.metadata.append(entry)
    builder = flatbuffers.Builder(len(blob) + len(encoded) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=MODEL_IDENTIFIER)
    packed = bytes(builder.Output())
    if meta.labels is None:
        return packed
    archive = io.BytesIO(packed)
    with zipfile.ZipFile(archive, "a", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(LABELS_FILE, "".join(f"{label}\n" for label in meta.labels))
    return archive.getvalue()


def encode(meta: Metadata, inputs: list[tuple[str, list[int]]], outputs: list[tuple[str, list[int]]]) -> bytes:
    """The metadata flatbuffer (`M001`) of a model with these `(name, shape)` inputs and outputs."""
    w = Writer()
    input_refs = [_input(w, meta, name, shape) if i == 0 else _plain(w, name, shape, "Model input.")
                  for i, (name, shape) in enumerate(inputs)]
    output_refs = [_output(w, meta, name, shape) if i == 0 else _plain(w, name, shape, "Model output.")
                   for i, (name, shape) in enumerate(outputs)]
    subgraph = w.table(SUBGRAPH, input_tensor_metadata_ref=w.offsets(input_refs),
                       output_tensor_metadata_ref=w.offsets(output_refs))
    root = w.table(
        MODEL, name=meta.name, description=meta.description, version=meta.version,
        subgraph_metadata_ref=w.offsets([subgraph]), author=meta.author, license=meta.license,
        min_parser_version=MIN_PARSER_VERSION,
    )
    return w.finish(root)


def _input(w: Writer, meta: Metadata, name: str, shape: list[int]) -> int:
    """The first input: image or feature content, its normalisation and its value range."""
    units = None
    if meta.mean is not None and meta.std is not None:
        options = w.table(NORMALIZATION, mean_ref=w.floats(meta.mean), std_ref=w.floats(meta.std))
        units = w.offsets([w.table(PROCESS_UNIT, options_type_enum=NORMALIZATION_OPTIONS, options_ref=options)])
    stats = None
    if meta.input_range is not None:
        low, high = meta.input_range
        stats = w.table(STATS, max_ref=w.floats([high]), min_ref=w.floats([low]))
    if meta.mean is None:
        how = "Feed the values the model was trained on, without normalisation."
    else:
        how = f"Normalise the raw input as (raw - mean) / std, mean {meta.mean}, std {meta.std}."
    if meta.input_range is not None:
        how += f" The model takes values in [{meta.input_range[0]:g}, {meta.input_range[1]:g}]."
    return w.table(TENSOR, name=name or "input", description=how, content_ref=_content(w, shape), process_units_ref=units,
                   stats_ref=stats)


def _output(w: Writer, meta: Metadata, name: str, shape: list[int]) -> int:
    """The first output: its labels as the associated file `labels.txt`, when there are labels."""
    files = None
    description = "Model output."
    if meta.labels is not None:
        label_file = w.table(ASSOCIATED_FILE, name=LABELS_FILE, description="One label per output value, in order.",
                             type_enum=TENSOR_AXIS_LABELS)
        files = w.offsets([label_file])
        description = f"Scores of the {len(meta.labels)} classes named in {LABELS_FILE}."
    return w.table(TENSOR, name=name or "output", description=description, content_ref=_content(w, shape),
                   associated_files_ref=files)


def _plain(w: Writer, name: str, shape: list[int], description: str) -> int:
    """A further input or output: its name and feature content only."""
    return w.table(TENSOR, name=name or "tensor", description=description, content_ref=_content(w, shape))


def _content(w: Writer, shape: list[int]) -> int:
    """Image content (grayscale or RGB) for a `[batch, height, width, 1 or 3]` tensor, feature content otherwise."""
    if len(shape) == 4 and shape[-1] in (1, 3):
        properties = w.table(IMAGE_PROPERTIES, color_space_enum=GRAYSCALE if shape[-1] == 1 else RGB)
        return w.table(CONTENT, content_properties_type_enum=IMAGE_PROPERTIES_TYPE, content_properties_ref=properties)
    w.builder.StartObject(0)  # FeatureProperties has no field
    properties = w.builder.EndObject()
    return w.table(CONTENT, content_properties_type_enum=FEATURE_PROPERTIES, content_properties_ref=properties)


def _info(tensor: Any) -> tuple[str, list[int]]:
    return _name(tensor.name), [int(d) for d in (tensor.shape if tensor.shape is not None else [])]


def _name(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)


def check_keras_model(meta: Metadata, model: Any) -> None:
    """`Metadata.check_model` against a Keras model's first input and output, before any conversion.

    Models whose shapes cannot be read here are checked on the converted file instead.
    """
    try:
        channels = int(model.inputs[0].shape[-1])
        out = model.outputs[0].shape
    except (AttributeError, IndexError, TypeError, ValueError):
        return
    classes = int(out[-1]) if out is not None and len(out) and out[-1] is not None else None
    if meta.labels is not None and classes is None:
        raise TfnasInputError("metadata labels: the model's first output has no fixed last axis to label; drop labels.")
    meta.check_model(channels=channels, classes=classes)
