"""`tfnas.metadata.read`: the TFLite metadata a `.tflite` file carries, as a `Metadata` (None when it has none).

Reads the model's `metadata` vector with the installed LiteRT's model schema,
the `TFLITE_METADATA` buffer with tfnas's own reader of the metadata tables
(`tfnas.metadata.schema`), and the labels from the zip archive appended to
the file. Needs neither tflite-support nor TensorFlow.
"""

from __future__ import annotations

import io
import os
import zipfile

from tfnas.errors import TfnasInputError
from tfnas.metadata.schema import IDENTIFIER
from tfnas.metadata.schema import MODEL
from tfnas.metadata.schema import NORMALIZATION
from tfnas.metadata.schema import NORMALIZATION_OPTIONS
from tfnas.metadata.schema import PROCESS_UNIT
from tfnas.metadata.schema import STATS
from tfnas.metadata.schema import SUBGRAPH
from tfnas.metadata.schema import TENSOR
from tfnas.metadata.schema import Reader
from tfnas.metadata.spec import LABELS_FILE
from tfnas.metadata.spec import Metadata
from tfnas.metadata.write import METADATA_NAME


def read(path: str) -> Metadata | None:
    """The metadata of a `.tflite` file, or None when it carries none.

    Example:

    ```python
    meta = tfnas.metadata.read("out/model.tflite")
    print(meta.name, meta.mean, meta.std, meta.labels)
    ```

    Raises:
        TfnasInputError: no file at `path`, or a metadata buffer without the `M001` identifier.
    """
    if not os.path.isfile(path):
        raise TfnasInputError(f"No .tflite file at {path!r}: pass the path tfnas.export wrote.")
    with open(path, "rb") as f:
        blob = f.read()
    buffer = metadata_buffer(blob)
    return None if buffer is None else decode(buffer, packed_files(blob))


def metadata_buffer(blob: bytes) -> bytes | None:
    """The bytes of the model's `TFLITE_METADATA` buffer, or None."""
    from ai_edge_litert import schema_py_generated as schema_fb

    model = schema_fb.Model.GetRootAs(bytearray(blob), 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if (entry.Name() or b"").decode("utf-8") == METADATA_NAME:
            return model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return None


def packed_files(blob: bytes) -> dict[str, bytes]:
    """The files zipped onto the model, by name ({} when there is no archive)."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            return {name: zf.read(name) for name in zf.namelist()}
    except zipfile.BadZipFile:
        return {}


def decode(buffer: bytes, files: dict[str, bytes]) -> Metadata:
    """A metadata flatbuffer (and the files packed with it) as a `Metadata`."""
    if buffer[4:8] != IDENTIFIER:
        raise TfnasInputError(f"The TFLITE_METADATA buffer has identifier {buffer[4:8]!r}, not {IDENTIFIER!r}: not metadata.")
    root = Reader.root(buffer)
    subgraphs = root.children(MODEL["subgraph_metadata"])
    first_input = subgraphs[0].children(SUBGRAPH["input_tensor_metadata"])[:1] if subgraphs else []
    mean = std = None
    input_range = None
    for tensor in first_input:
        for unit in tensor.children(TENSOR["process_units"]):
            options = unit.child(PROCESS_UNIT["options"])
            if unit.byte(PROCESS_UNIT["options_type"]) == NORMALIZATION_OPTIONS and options is not None:
                mean, std = options.floats(NORMALIZATION["mean"]), options.floats(NORMALIZATION["std"])
        stats = tensor.child(TENSOR["stats"])
        if stats is not None and stats.floats(STATS["min"]) and stats.floats(STATS["max"]):
            input_range = ((stats.floats(STATS["min"]) or [0.0])[0], (stats.floats(STATS["max"]) or [0.0])[0])
    labels = None
    if LABELS_FILE in files:
        labels = files[LABELS_FILE].decode("utf-8").splitlines()
    return Metadata(
        name=root.string(MODEL["name"]) or "",
        description=root.string(MODEL["description"]) or "",
        version=root.string(MODEL["version"]) or "",
        author=root.string(MODEL["author"]) or "",
        license=root.string(MODEL["license"]) or "",
        mean=mean,
        std=std,
        input_range=input_range,
        labels=labels,
        min_parser_version=root.string(MODEL["min_parser_version"]),
        associated_files=sorted(files),
    )
