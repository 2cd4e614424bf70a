"""The TFLite metadata a config's run gives its exported file: labels and normalisation from the data source.

The data source knows what the model was trained on: an image folder's
pixels are scaled to [0, 1] (`tfnas.app.sources.IMAGE_SCALE`) and its
classes are its sub-folders, in the sorted order Keras gives them ids; the
built-in digits are 0-16 grey levels scaled to [0, 1]. For a user's own
arrays tfnas knows neither, so the normalisation is stated as none unless
`export.metadata` gives `mean`/`std` (and `labels`).
"""

from __future__ import annotations

import os
from typing import Any

from tfnas.app.image_folder import folder_classes
from tfnas.image_files import IMAGE_SCALE
from tfnas.metadata.describe import description
from tfnas.metadata.spec import Metadata

DIGITS_LEVELS = 16.0  # scikit-learn's digits: grey levels 0..16, scaled to [0, 1] by tfnas.demo


def check_metadata(value: Any) -> None:
    """Checks a config's `export.metadata` mapping before any training (raises `TfnasInputError`)."""
    if isinstance(value, dict):
        Metadata.from_any(value)


def export_metadata(value: Any, export: dict[str, Any], data: dict[str, Any], base_dir: str, candidate: Any,
                    limits: dict[str, Any]) -> Metadata | bool | None:
    """`tfnas.export(metadata=...)` for a config's `export.metadata` value (None, true, false or a mapping).

    None writes metadata for phones only (target "litert", as `tfnas.export`
    does); true and a mapping write it for any target. What the source says
    fills the fields a mapping leaves out, and the description says what
    tfnas found (family, MACs, test accuracy, the limits).
    """
    target = export.get("target") or ("micro" if export.get("quantization") == "int8" else "litert")
    if value is False or value is None and target != "litert":
        return False
    fields: dict[str, Any] = {**source_metadata(data, base_dir), **(value if isinstance(value, dict) else {})}
    if not fields.get("description"):
        fields["description"] = description(candidate, f"search candidate {candidate.trial_id}", limits=limits)
    return Metadata.from_any(fields)


def source_metadata(data: dict[str, Any], base_dir: str) -> dict[str, Any]:
    """Labels, normalisation and input range the data section implies ({} for a user's own arrays)."""
    source = str(data.get("source"))
    if source == "digits":
        return {"mean": [0.0], "std": [DIGITS_LEVELS], "input_range": (0.0, 1.0), "labels": [str(i) for i in range(10)]}
    path = source if os.path.isabs(source) else os.path.join(base_dir, source)
    if os.path.isdir(path):
        return {"mean": [0.0], "std": [1.0 / IMAGE_SCALE], "input_range": (0.0, 1.0), "labels": folder_classes(path)}
    return {}
