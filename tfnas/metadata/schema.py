"""The few tables of TFLite's metadata schema tfnas writes and reads, by their field slots in `metadata_schema.fbs`.

The schema is Google's (tensorflow/tflite-support,
`tensorflow_lite_support/metadata/metadata_schema.fbs`, version 1.5.0; file
identifier `M001`). Its tables are written here with the `flatbuffers`
package's Builder API and read with its `Table` helper, from the field order
the schema declares (a union field takes two slots: its type, then its
value). Only what tfnas writes is covered: ModelMetadata, SubGraphMetadata,
TensorMetadata, Content with ImageProperties or FeatureProperties,
ProcessUnit with NormalizationOptions, Stats and AssociatedFile.
"""

from __future__ import annotations

from typing import Any

import flatbuffers
from flatbuffers import number_types
from flatbuffers.table import Table

IDENTIFIER = b"M001"
MIN_PARSER_VERSION = "1.0.0"  # every field written here is in schema 1.0.0 (the parser's default minimum)

# Field slots, in the order `metadata_schema.fbs` declares the fields.
MODEL = {"name": 0, "description": 1, "version": 2, "subgraph_metadata": 3, "author": 4, "license": 5,
         "associated_files": 6, "min_parser_version": 7}
SUBGRAPH = {"name": 0, "description": 1, "input_tensor_metadata": 2, "output_tensor_metadata": 3}
TENSOR = {"name": 0, "description": 1, "dimension_names": 2, "content": 3, "process_units": 4, "stats": 5,
          "associated_files": 6}
CONTENT = {"content_properties_type": 0, "content_properties": 1, "range": 2}
IMAGE_PROPERTIES = {"color_space": 0, "default_size": 1}
PROCESS_UNIT = {"options_type": 0, "options": 1}
NORMALIZATION = {"mean": 0, "std": 1}
STATS = {"max": 0, "min": 1}
ASSOCIATED_FILE = {"name": 0, "description": 1, "type": 2, "locale": 3, "version": 4}

# Enum and union values.
FEATURE_PROPERTIES, IMAGE_PROPERTIES_TYPE = 1, 2  # ContentProperties
NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions
RGB, GRAYSCALE = 1, 2  # ColorSpaceType
TENSOR_AXIS_LABELS = 2  # AssociatedFileType


class Writer:
    """Builds one metadata flatbuffer bottom-up: children first, each call returning the offset of what it wrote."""

    def __init__(self) -> None:
        self.builder = flatbuffers.Builder(1024)

    def table(self, slots: dict[str, int], **fields: Any) -> int:
        """A table of `slots`' layout (`key=value`, the key a field name with an optional suffix).

        Keys ending in `_ref` are offsets already written (tables, vectors);
        keys ending in `_enum` are byte enums (union types included); other
        values are strings. None values are left out (the field's default).
        """
        b = self.builder
        strings = {k: b.CreateString(v) for k, v in fields.items() if isinstance(v, str)}
        b.StartObject(len(slots))
        for key, value in fields.items():
            if value is None:
                continue
            slot = slots[key.removesuffix("_ref").removesuffix("_enum")]
            if key.endswith("_enum"):
                b.PrependInt8Slot(slot, int(value), 0)
            else:
                b.PrependUOffsetTRelativeSlot(slot, strings[key] if key in strings else value, 0)
        return b.EndObject()

    def floats(self, values: list[float]) -> int:
        """A `[float]` vector."""
        b = self.builder
        b.StartVector(4, len(values), 4)
        for v in reversed(values):
            b.PrependFloat32(float(v))
        return b.EndVector()

    def offsets(self, items: list[int]) -> int:
        """A vector of tables already written."""
        b = self.builder
        b.StartVector(4, len(items), 4)
        for item in reversed(items):
            b.PrependUOffsetTRelative(item)
        return b.EndVector()

    def finish(self, root: int) -> bytes:
        """The flatbuffer, with the `M001` file identifier."""
        self.builder.Finish(root, file_identifier=IDENTIFIER)
        return bytes(self.builder.Output())


class Reader:
    """Reads one table of a metadata flatbuffer by field slot; absent fields read as None."""

    def __init__(self, buf: bytes, pos: int) -> None:
        self.table = Table(bytearray(buf), pos)

    @classmethod
    def root(cls, buf: bytes) -> Reader:
        """The root table (`ModelMetadata`) of a metadata flatbuffer."""
        return cls(buf, flatbuffers.encode.Get(flatbuffers.packer.uoffset, bytearray(buf), 0))

    def _offset(self, slot: int) -> int:
        return self.table.Offset(4 + 2 * slot)

    def string(self, slot: int) -> str | None:
        o = self._offset(slot)
        return self.table.String(o + self.table.Pos).decode("utf-8") if o else None

    def byte(self, slot: int) -> int:
        o = self._offset(slot)
        return self.table.Get(number_types.Int8Flags, o + self.table.Pos) if o else 0

    def child(self, slot: int) -> Reader | None:
        """A table field (or a union's value)."""
        o = self._offset(slot)
        return Reader(self.table.Bytes, self.table.Indirect(o + self.table.Pos)) if o else None

    def children(self, slot: int) -> list[Reader]:
        """A vector-of-tables field ([] when absent)."""
        o = self._offset(slot)
        if not o:
            return []
        start = self.table.Vector(o)
        return [Reader(self.table.Bytes, self.table.Indirect(start + 4 * i)) for i in range(self.table.VectorLen(o))]

    def floats(self, slot: int) -> list[float] | None:
        """A `[float]` field."""
        o = self._offset(slot)
        if not o:
            return None
        start = self.table.Vector(o)
        return [float(self.table.Get(number_types.Float32Flags, start + 4 * i)) for i in range(self.table.VectorLen(o))]
