"""`Metadata`: what a `.tflite` file tells the app that runs it (plain data, checked when built).

The fields are those of the TFLite metadata schema (`metadata_schema.fbs`,
file identifier `M001`) that Android Studio's ML Model Binding and the LiteRT
Support Library read to generate a typed wrapper: the model's name,
description, version, author and licence; the first input's normalisation
and value range; the first output's labels.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from tfnas.errors import TfnasInputError

LABELS_FILE = "labels.txt"


@dataclasses.dataclass
class Metadata:
    """TFLite metadata of one model; `tfnas.export(metadata=...)` writes it, `tfnas.metadata.read` returns it.

    Normalisation follows the schema: the app feeds the model
    `(raw - mean) / std`, one mean and std for all channels or one per
    channel. `mean=None, std=None` states that the model takes the raw values
    (no normalisation unit is written).

    Example:

    ```python
    meta = tfnas.metadata.Metadata(name="kws", author="me", license="Apache-2.0",
                                   mean=[0.0], std=[255.0], input_range=(0.0, 1.0), labels=["yes", "no"])
    tfnas.export(model, "kws.tflite", quantization="float32", metadata=meta)
    ```

    Attributes:
        name: str, the model's name. Defaults to "tfnas model".
        description: str, what the model is; `tfnas.export` fills it from what it
            exports (family, MACs, limits, test accuracy) when empty.
        version: str, the model's version. Defaults to "1".
        author: str. Defaults to "tfnas".
        license: str, the licence of the model. Defaults to "" (none stated).
        mean: list of floats or None, subtracted from the raw input.
        std: list of floats or None, the raw input is divided by it after `mean`.
        input_range: `(min, max)` of the values the model takes (after
            normalisation), or None; written as the input's `Stats`.
        labels: list of str or None, one per class of the first output; packed
            into the file as `labels.txt`.
        min_parser_version: str or None, the metadata parser version the file
            needs; set by the writer ("1.0.0" for these fields), read back by `read`.
        associated_files: list of str, the files zipped onto the model (read back by `read`).
    """

    name: str = "tfnas model"
    description: str = ""
    version: str = "1"
    author: str = "tfnas"
    license: str = ""
    mean: list[float] | None = None
    std: list[float] | None = None
    input_range: tuple[float, float] | None = None
    labels: list[str] | None = None
    min_parser_version: str | None = None
    associated_files: list[str] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        for key in ("name", "description", "version", "author", "license"):
            if not isinstance(getattr(self, key), str):
                raise TfnasInputError(f"metadata {key} must be a string. Received: {key}={getattr(self, key)!r}")
        self.mean, self.std = _floats("mean", self.mean), _floats("std", self.std)
        if (self.mean is None) != (self.std is None) or self.mean is not None and len(self.mean) != len(self.std or []):
            raise TfnasInputError(
                f"metadata mean and std go together, one value each per channel (or one for all). Received: mean={self.mean}, "
                f"std={self.std}: give both with the same length, or neither (the model takes raw values)."
            )
        if self.std is not None and any(s == 0 for s in self.std):
            raise TfnasInputError(f"metadata std must not hold 0 (the input is divided by it). Received: std={self.std}")
        if self.input_range is not None:
            low, high = _floats("input_range", self.input_range) or [0.0, 0.0]
            if len(self.input_range) != 2 or not low <= high:
                raise TfnasInputError(f"metadata input_range must be (min, max) with min <= max. Received: {self.input_range!r}")
            self.input_range = (low, high)
        if self.labels is not None:
            if isinstance(self.labels, str) or not isinstance(self.labels, Sequence):
                raise TfnasInputError(f"metadata labels must be a list of strings, one per class. Received: {self.labels!r}")
            bad = [label for label in self.labels if not isinstance(label, str) or not label or "\n" in label]
            if bad:
                raise TfnasInputError(
                    f"metadata labels must be non-empty strings without line breaks (one line each in labels.txt). "
                    f"Received: {bad[0]!r} ({type(bad[0]).__name__}); write e.g. labels=[str(c) for c in classes]."
                )
            self.labels = list(self.labels)

    @classmethod
    def from_any(cls, value: Any) -> Metadata:
        """A `Metadata`, or a dict of its fields (a config's `export.metadata`), as a `Metadata`."""
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            known = [f.name for f in dataclasses.fields(cls)]
            unknown = [k for k in value if k not in known]
            if unknown:
                raise TfnasInputError(f"metadata has no field {unknown[0]!r}: use some of {known}.")
            return cls(**value)
        raise TfnasInputError(
            f"metadata must be a tfnas.metadata.Metadata, a dict of its fields, True or False. Received: {type(value).__name__}"
        )

    def check_model(self, channels: int, classes: int | None) -> None:
        """Raises `TfnasInputError` when the normalisation or labels do not fit the model's first input and output.

        Args:
            channels: size of the first input's last axis.
            classes: size of the first output's last axis (None: not a vector).
        """
        if self.mean is not None and len(self.mean) not in (1, channels):
            raise TfnasInputError(
                f"metadata mean and std hold {len(self.mean)} values but the model's input has {channels} channels "
                "(its last axis): give one value for all channels or one per channel."
            )
        if self.labels is not None and len(self.labels) != classes:
            raise TfnasInputError(
                f"metadata labels name {len(self.labels)} classes but the model's output has {classes} values: "
                "give one label per output value, in the order of the class ids."
            )

    def to_dict(self) -> dict[str, Any]:
        """YAML-dumpable dict."""
        data = dataclasses.asdict(self)
        data["input_range"] = None if self.input_range is None else list(self.input_range)
        return data


def _floats(key: str, values: Any) -> list[float] | None:
    """`values` as a list of finite floats (a number counts as a list of one); None stays None."""
    if values is None:
        return None
    items = [values] if isinstance(values, (int, float)) and not isinstance(values, bool) else values
    try:
        floats = [float(v) for v in items]
    except (TypeError, ValueError):
        raise TfnasInputError(f"metadata {key} must be a number or a list of numbers. Received: {key}={values!r}") from None
    if not floats or not all(math.isfinite(v) for v in floats):
        raise TfnasInputError(f"metadata {key} must hold finite numbers. Received: {key}={values!r}")
    return floats
