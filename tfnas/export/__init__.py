"""TFLite export: full-int8 (and float16, dynamic, float32) flatbuffers, C arrays, reports."""

from tfnas.export.api import export
from tfnas.export.c_array import c_identifier
from tfnas.export.c_array import write_c_array
from tfnas.export.convert import convert
from tfnas.export.micro_ops import TFLM_OPS
from tfnas.export.report import ExportReport

__all__ = [
    "ExportReport",
    "TFLM_OPS",
    "c_identifier",
    "convert",
    "export",
    "write_c_array",
]
