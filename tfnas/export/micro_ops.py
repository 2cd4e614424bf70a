"""The builtin ops TFLite Micro has kernels for.

Taken from the resolver of the `tflite-micro` Python interpreter
(`python/tflite_micro/python_ops_resolver.cc`, which registers every kernel
TFLite Micro ships), in TFLite's BuiltinOperator spelling. Signal-processing
custom ops (Window, Rfft, ...) are left out: converted Keras models never use
them. Registration is not the whole story: a kernel may lack an int8 variant
(SIN, COS), which only running the model in TFLite Micro shows; `tfnas.verify`
does that.
"""

from __future__ import annotations

TFLM_OPS: frozenset[str] = frozenset(
    """
    ABS ADD ADD_N ARG_MAX ARG_MIN ASSIGN_VARIABLE AVERAGE_POOL_2D BATCH_TO_SPACE_ND BROADCAST_ARGS
    BROADCAST_TO CALL_ONCE CAST CEIL CONCATENATION CONV_2D COS CUMSUM DEPTH_TO_SPACE DEPTHWISE_CONV_2D
    DEQUANTIZE DIV ELU EQUAL EXP EXPAND_DIMS FILL FLOOR FLOOR_DIV FLOOR_MOD FULLY_CONNECTED GATHER
    GATHER_ND GREATER GREATER_EQUAL HARD_SWISH IF L2_NORMALIZATION L2_POOL_2D LEAKY_RELU LESS LESS_EQUAL
    LOG LOGICAL_AND LOGICAL_NOT LOGICAL_OR LOGISTIC LOG_SOFTMAX MAX_POOL_2D MAXIMUM MEAN MINIMUM
    MIRROR_PAD MUL NEG NOT_EQUAL PACK PAD PADV2 PRELU QUANTIZE READ_VARIABLE REDUCE_MAX RELU RELU6
    RESHAPE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR ROUND RSQRT SELECT_V2 SHAPE SIN SLICE SOFTMAX
    SPACE_TO_BATCH_ND SPACE_TO_DEPTH SPLIT SPLIT_V SQRT SQUARE SQUARED_DIFFERENCE SQUEEZE STRIDED_SLICE
    SUB SUM SVDF TANH TRANSPOSE TRANSPOSE_CONV UNIDIRECTIONAL_SEQUENCE_LSTM UNPACK VAR_HANDLE WHILE
    ZEROS_LIKE
    """.split()
)
"""The builtin ops TFLite Micro has a kernel for: an int8 export for `target="micro"` refuses any other."""
