"""`tfnas.export()`: a model, or anything that says what to convert, in; a `.tflite` (and C array) out.

Besides Keras 3 and tf_keras models, `export` takes any object with an
`export_source()` method returning `(model, description, calibration data or
None)`: a `CompressionResult` and a search `Candidate` have one. Export knows
nothing else of them, so it sits below compression results and searches.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import yaml

from tfnas import _compat
from tfnas.errors import TfnasInputError
from tfnas.export.c_array import write_c_array
from tfnas.export.convert import check_quantization
from tfnas.export.convert import convert
from tfnas.export.flatbuffer import interpreter
from tfnas.export.flatbuffer import io_quantization
from tfnas.export.flatbuffer import micro_unsupported
from tfnas.export.flatbuffer import op_names
from tfnas.export.flatbuffer import strip_names as without_names
from tfnas.export.flatbuffer import weight_zeros
from tfnas.export.report import ExportReport
from tfnas.metadata.describe import resolve as resolve_metadata
from tfnas.metadata.read import read as read_metadata
from tfnas.metadata.write import attach as attach_metadata
from tfnas.metadata.write import check_keras_model

TARGETS = ("micro", "litert")
SPARSITY_NOTE = (
    "Weights are stored dense: the sparse TFLite format needs the DENSIFY op, which TFLite Micro lacks. "
    "Pruned zeros show in gzip_bytes (and in flash compression), not in bytes."
)


def export(
    model_or_result: Any,
    path: str,
    *,
    quantization: str = "int8",
    representative_data: np.ndarray | Sequence[np.ndarray] | None = None,
    c_array: bool = False,
    target: str | None = None,
    strip_names: bool = False,
    metadata: Any = None,
    labels: Sequence[str] | None = None,
) -> ExportReport:
    """Converts a model to TFLite, writes it (and a C array and a YAML report) and describes it.

    Example:

    ```python
    report = tfnas.export(model, "out/kws.tflite", representative_data=x_train[:200], c_array=True)
    print(report.bytes, report.ops)          # out/kws_data.c, out/kws_data.h, out/kws.yaml
    ```

    Args:
        model_or_result: A Keras 3 or tf_keras model, or an object with
            `export_source()` (a `CompressionResult`: its QAT model when there
            is one, and its calibration data when `representative_data` is
            None; a search `Candidate`: its trained model).
        path: Where to write the `.tflite` file; folders are created.
        quantization: "int8" (full integer, int8 input and output: what
            TFLite Micro runs), "float16", "dynamic" or "float32".
        representative_data: Float32 training inputs that calibrate int8
            (a list of arrays, one per input, for several inputs).
        c_array: Also write `<name>_data.c` and `<name>_data.h`.
        target: "micro" checks every op against TFLite Micro's kernels and
            raises if one is missing; "litert" (phones) does not. Defaults to
            "micro" for int8, "litert" otherwise.
        strip_names: Write the file without its non-essential strings (model
            description, subgraph and tensor names, signature defs) to save
            flash: the names are typically 10-30% of a small model's file
            (fused ops carry long joined names). Outputs are unchanged. The
            cost model's `tflite_bytes` predicts the file with names, so it
            over-estimates a stripped file. LiteRT's signature runner is
            unavailable on a stripped file (tfnas's files have no signature
            defs anyway); `get_input_details()` still works, names empty.
        metadata: TFLite metadata for Android apps (`tfnas.metadata.Metadata`
            or a dict of its fields: name, description, version, author,
            license, the input's `mean`/`std` and `input_range`, the output's
            `labels`, packed as `labels.txt`), True, or False for none.
            Android Studio's ML Model Binding and the LiteRT Support Library
            generate a typed wrapper from it. Defaults to None: written for
            target "litert" (phones), not for "micro": TFLite Micro never
            reads it, so on a microcontroller it is flash spent for nothing.
            An empty description is filled with what tfnas knows (family,
            MACs, test accuracy of a search candidate), a missing
            `input_range` (without `mean`/`std`) with the range of the
            representative data. Normalisation is stated as none unless
            `mean`/`std` are given.
        labels: the class names in output order (an image folder's
            sub-folders); written to `<name>_labels.txt` (one a line) and the
            YAML report, for any target. Defaults to the metadata's labels.

    Returns:
        An `ExportReport`, also written as `<name>.yaml` next to the file.

    Raises:
        TfnasInputError: bad arguments, int8 without representative data, an
            unwritable path, (target "micro") ops TFLite Micro cannot run, or
            metadata that does not fit the model (label count, mean/std length).
        ConversionError: the TFLite converter failed.
    """
    check_quantization(quantization)
    target = target or ("micro" if quantization == "int8" else "litert")
    if target not in TARGETS:
        raise TfnasInputError(f"target={target!r} is not supported: use one of {TARGETS}.")
    model, source, calibration = _unpack(model_or_result)
    if representative_data is None:
        representative_data = calibration
    meta = resolve_metadata(metadata, target, model_or_result, source, representative_data)
    if meta is not None:
        check_keras_model(meta, model)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise TfnasInputError(f"Cannot create the folder of {path!r} ({e.strerror}): pass a path you can write to.") from e
    if not os.access(folder, os.W_OK):
        raise TfnasInputError(f"Cannot write to {folder!r}: pass a path you can write to.")

    blob = convert(model, quantization, representative_data)
    flat = interpreter(blob)  # read once, asked several questions below
    missing = micro_unsupported(flat)
    if target == "micro" and missing:
        where = "; ".join(f"{op} (producing {', '.join(sorted(set(names))[:3])})" for op, names in sorted(missing.items()))
        raise TfnasInputError(
            f"TFLite Micro cannot run this model: it has no kernel for {where}. Replace the layers named there with "
            "layers TFLite Micro supports (conv, depthwise conv, dense, pooling, add, relu/relu6/tanh/sigmoid, "
            "softmax), or export with target='litert' for phones."
        )
    zeros = weight_zeros(flat)  # by tensor name: read before the names go
    io = io_quantization(flat)
    if strip_names:
        blob = without_names(blob)
    if meta is not None:
        blob = attach_metadata(blob, meta)
    with open(path, "wb") as f:
        f.write(blob)
    report = ExportReport(
        path=path,
        quantization=quantization,
        target=target,
        bytes=len(blob),
        gzip_bytes=len(gzip.compress(blob, compresslevel=9)),
        ops=list(dict.fromkeys(op_names(flat))),
        micro_unsupported_ops=sorted(missing),
        weight_zeros=sum(z for z, _ in zeros.values()) / max(sum(n for _, n in zeros.values()), 1),
        source=source,
        notes=[SPARSITY_NOTE] if any(z > 0.2 * n for z, n in zeros.values()) else [],
        names_stripped=strip_names,
        input=io["input"],
        output=io["output"],
        metadata=_written_metadata(path) if meta is not None else None,
    )
    if c_array:
        report.c_source, report.c_header = write_c_array(blob, path)
    report.labels, report.labels_path = _write_labels(path, labels, meta)
    report.report_path = os.path.splitext(path)[0] + ".yaml"
    with open(report.report_path, "w") as f:
        yaml.safe_dump(report.to_dict(), f, sort_keys=False)
    return report


def _unpack(obj: Any) -> tuple[Any, str, np.ndarray | None]:
    """`(model to convert, what it is, calibration data it carries)`."""
    if hasattr(obj, "export_source"):
        return obj.export_source()
    if _compat.is_keras3_model(obj):
        return obj, "keras3", None
    if isinstance(obj, _compat.tf_keras().Model):
        return obj, "tf_keras", None
    raise TfnasInputError(
        "export takes a Keras 3 or tf_keras model, a CompressionResult or a search Candidate. "
        f"You passed an object of type: {type(obj).__name__}."
    )


def _write_labels(path: str, labels: Sequence[str] | None, meta: Any) -> tuple[list[str] | None, str | None]:
    """Writes the class names (by default the metadata's) next to the model, one a line (`<name>_labels.txt`).

    Returns the labels and the file, or None twice when there are none.
    """
    if labels is None and meta is not None:
        labels = meta.labels
    if not labels:
        return None, None
    labels_path = os.path.splitext(path)[0] + "_labels.txt"
    with open(labels_path, "w") as f:
        f.write("".join(f"{label}\n" for label in labels))
    return list(labels), labels_path


def _written_metadata(path: str) -> dict[str, Any] | None:
    """The metadata of the file just written, read back from it (what an app will see)."""
    meta = read_metadata(path)
    return None if meta is None else meta.to_dict()
