"""`ExportReport`: what was written, how big it is, what it needs from the runtime (plain data)."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class ExportReport:
    """One exported model.

    Attributes:
        path: the `.tflite` file.
        quantization: "int8", "float16", "dynamic" or "float32".
        target: "micro" (checked against TFLite Micro's ops) or "litert".
        bytes: file size.
        gzip_bytes: gzip-compressed size: where pruning and clustering show,
            since the file stores weights dense (no DENSIFY in TFLite Micro).
        ops: the distinct ops, in first-use order.
        micro_unsupported_ops: ops TFLite Micro has no kernel for (empty for "micro").
        input: dtype, shape, scale and zero point of the input.
        output: the same for the output.
        weight_zeros: share of exact zeros among all conv / fully-connected weights.
        source: what was converted ("keras3", "tf_keras", "compression result (qat)", ...).
        c_source: the C source written, or None.
        c_header: the C header written, or None.
        report_path: this report as YAML.
        notes: what the user should know.
        names_stripped: the file was written without its tensor names,
            description and signature defs (`export(strip_names=True)`).
        metadata: the TFLite metadata written into the file (`Metadata.to_dict()`), or None.
        labels: the class names, in output order (an image folder's sub-folders), or None.
        labels_path: the labels file written next to the model (`<name>_labels.txt`, one a line), or None.
    """

    path: str
    quantization: str
    target: str
    bytes: int
    gzip_bytes: int
    ops: list[str]
    micro_unsupported_ops: list[str]
    input: dict[str, Any]
    output: dict[str, Any]
    weight_zeros: float
    source: str
    c_source: str | None = None
    c_header: str | None = None
    report_path: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    names_stripped: bool = False
    metadata: dict[str, Any] | None = None
    labels: list[str] | None = None
    labels_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """YAML-dumpable dict."""
        return dataclasses.asdict(self)
