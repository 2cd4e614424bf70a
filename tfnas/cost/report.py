"""`profile(model)`: the cost of one inference of a Keras 3 model, without training or converting it.

A hardware-aware search scores hundreds of candidates, so the cost model has
to be fast: it walks the model's layer graph once and applies per-layer rules
that were measured against the slow references (the TensorFlow profiler for
FLOPs, the int8 TFLite converter for the file size, TFLite Micro for the
arena). Only a layer without a rule is sent to the profiler, with a warning.

Example:
    >>> report = tfnas.cost.profile(model)
    >>> report.to_dict()
    {'macs': 1234, 'flops': 2600, 'params': 456, 'tflite_bytes': 3400, 'peak_ram_bytes': 2048, 'arena_bytes': 4800}
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

from tfnas.cost._graph import Call
from tfnas.cost._graph import Graph
from tfnas.cost._graph import flatten_model
from tfnas.cost._layers import layer_costs
from tfnas.cost._lower import lower
from tfnas.cost._memory import peak_ram_bytes
from tfnas.cost._persistent import persistent_arena_bytes
from tfnas.cost._size import tflite_bytes
from tfnas.cost._tflite_graph import Lowered
from tfnas.cost.device import LATENCY_METRICS
from tfnas.cost.device import load_device
from tfnas.cost.latency import DeviceProfile
from tfnas.cost.latency import predict_latency_ms
from tfnas.cost.profiler import node_flops

COST_METRICS: tuple[str, ...] = ("macs", "flops", "params", "tflite_bytes", "peak_ram_bytes", "arena_bytes")
"""The cost metrics every `CostReport` has and every trial records beside its validation metrics."""
DEVICE_METRICS: tuple[str, ...] = LATENCY_METRICS
"""Added to `COST_METRICS` (and to `CostReport.to_dict`) when a report is made for a device: `profile(model, device=...)`."""


@dataclasses.dataclass(frozen=True)
class LayerCost:
    """Cost of one call of one layer (batch 1).

    Attributes:
        name: Layer name, prefixed by the nested models it sits in ("block/conv2d").
        class_name: Layer class, e.g. "Conv2D".
        macs: Multiply-accumulates of Conv/Depthwise/Separable/Dense (0 for other layers).
        flops: Float ops as the TensorFlow profiler counts them (a multiply-add is 2).
        params: Parameters of the layer (0 on the 2nd+ call of a shared layer).
        output_shape: Per-sample shape of the (first) output, batch axis dropped.
        output_bytes: Bytes of the layer's outputs in int8 (one byte per element).
        source: "rule" (measured rule) or "profiler" (no rule: the TF profiler counted it).
        latency_ms: Predicted milliseconds of the int8 ops this call makes on the profiled device (0 for a
            layer folded into another, such as BatchNormalization); None without a device.
    """

    name: str
    class_name: str
    macs: int
    flops: int
    params: int
    output_shape: tuple[int, ...]
    output_bytes: int
    source: str = "rule"
    latency_ms: float | None = None


@dataclasses.dataclass(frozen=True)
class CostReport:
    """Cost of one inference (batch 1) of a model: totals plus a per-layer breakdown.

    Attributes:
        model_name: Name of the profiled model.
        macs: Multiply-accumulates of the conv/dense layers.
        flops: Float ops, TensorFlow profiler convention.
        params: Parameters, as `model.count_params()`.
        tflite_bytes: Estimated size of the full-int8 `.tflite` file.
        peak_ram_bytes: Estimated TFLite Micro arena for int8 activations
            (non-persistent part: tensors and kernel scratch buffers).
        arena_bytes: Estimated total TFLite Micro arena: `peak_ram_bytes` plus
            `persistent_arena_bytes`, what the microcontroller must hold.
        persistent_arena_bytes: Estimated persistent part of that arena (tensor
            and node structs, per-channel quantization, kernel op data).
        layers: Per-layer costs in Keras execution order (a tuple, so the report stays immutable).
        latency_ms: Predicted milliseconds of one batch-1 `invoke()` of the int8 file on the device
            `profile` was given (`tfnas.cost.latency`); None without a device.
    """

    model_name: str
    macs: int
    flops: int
    params: int
    tflite_bytes: int
    peak_ram_bytes: int
    arena_bytes: int = 0
    persistent_arena_bytes: int = 0
    layers: tuple[LayerCost, ...] = ()
    latency_ms: float | None = None

    def metrics(self) -> tuple[str, ...]:
        """The metric names `to_dict` holds: `COST_METRICS`, and `DEVICE_METRICS` when made for a device."""
        return COST_METRICS + (DEVICE_METRICS if self.latency_ms is not None else ())

    def to_dict(self, layers: bool = False) -> dict[str, Any]:
        """The `metrics()` as a dict of Python numbers (YAML/JSON-dumpable); `layers=True` adds the breakdown.

        The byte and op counts are ints; `latency_ms` (with a device) a float rounded to a nanosecond.
        """
        result: dict[str, Any] = {metric: int(getattr(self, metric)) for metric in COST_METRICS}
        if self.latency_ms is not None:
            result["latency_ms"] = round(float(self.latency_ms), 6)
        if layers:
            result["layers"] = [
                {**dataclasses.asdict(layer), "output_shape": list(layer.output_shape)} for layer in self.layers
            ]
        return result

    def layers_table(self) -> str:
        """The per-layer breakdown as a fixed-width text table, totals last."""
        timed = self.latency_ms is not None
        header = ("layer", "class", "output shape", "MACs", "FLOPs", "params", "out bytes") + (("ms",) if timed else ())
        rows = [
            (layer.name + ("*" if layer.source == "profiler" else ""), layer.class_name, str(layer.output_shape),
             f"{layer.macs:,}", f"{layer.flops:,}", f"{layer.params:,}", f"{layer.output_bytes:,}")
            + ((f"{layer.latency_ms or 0.0:.4f}",) if timed else ())
            for layer in self.layers
        ]  # fmt: skip
        rows.append(("total", "", "", f"{self.macs:,}", f"{self.flops:,}", f"{self.params:,}", "")
                    + ((f"{self.latency_ms:.4f}",) if timed else ()))  # fmt: skip
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        lines = ["  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                 for r in [header, *rows]]  # fmt: skip
        lines.insert(1, "-" * len(lines[0]))
        footer = (f"tflite_bytes ~ {self.tflite_bytes:,}   peak_ram_bytes ~ {self.peak_ram_bytes:,}   "
                  f"arena_bytes ~ {self.arena_bytes:,} ({self.persistent_arena_bytes:,} persistent)")
        if timed:
            footer += f"   latency_ms ~ {self.latency_ms:.4f} (layers' ms exclude the per-invoke overhead)"
        return "\n".join(lines + [footer])

    def __str__(self) -> str:
        return f"CostReport({self.model_name}: " + ", ".join(f"{k}={v:,}" for k, v in self.to_dict().items()) + ")"


# keras.ops on symbolic tensors (MobileNetV3's hard-swish and squeeze-excite): operations, not layers.
RAW_ELEMENTWISE = ("Add", "Subtract", "Multiply", "Maximum", "Minimum")


def _layer_cost(graph: Graph, call: Call) -> LayerCost:
    """Cost of one layer call: its rule, or (with a warning) the TensorFlow profiler when it has none."""
    ins = [graph.shapes[t] for t in call.inputs]
    outs = [graph.shapes[t] for t in call.outputs]
    cls = type(call.op).__name__
    costs = None if call.opaque else layer_costs(call.op, ins, outs)
    if costs is None and cls in RAW_ELEMENTWISE and type(call.op).__module__.startswith("keras.src.ops"):
        costs = (0, math.prod(outs[0]))  # one FLOP per output element, as the layer of the same name
    source = "rule"
    if costs is None:
        warnings.warn(
            f"tfnas.cost.profile: no cost rule for layer {call.name!r} of class {cls}; "
            "counting its FLOPs with the TensorFlow profiler (slow).",
            stacklevel=3,
        )
        flops, mac_flops = node_flops(call.op, call.node)
        costs, source = (mac_flops // 2, flops), "profiler"
    params = call.op.count_params() if call.first_call and hasattr(call.op, "count_params") else 0
    out_bytes = sum(math.prod(shape) for shape in outs)
    return LayerCost(call.name, cls, costs[0], costs[1], params, outs[0], out_bytes, source)


def profile(model: Any, device: Any = None) -> CostReport:
    """Profiles one batch-1 inference of a built Keras 3 model.

    MACs count the multiply-accumulates of Conv/Depthwise/Separable (1D, 2D,
    transposed) and Dense layers only. FLOPs follow the TensorFlow profiler
    on the frozen inference graph (a multiply-add is 2 FLOPs; bias adds,
    batch-norm arithmetic, average pooling, elementwise merges are counted,
    ReLU/sigmoid/tanh and max reductions are not), within 1% of
    `profiler_flops(model)`. `tflite_bytes` and `peak_ram_bytes` estimate the
    full-int8 `.tflite` file and the TFLite Micro arena of its activations;
    `arena_bytes` adds TFLite Micro's persistent structures to the latter.

    A layer without a rule is not counted as zero: a warning names its class
    and the TensorFlow profiler counts that layer alone (slow, MACs are its
    conv/matmul float ops halved).

    With a `device`, `latency_ms` is predicted from the same int8 graph by the
    device's calibrated per-kernel regressors (`tfnas.cost.latency`), and each
    layer gets the milliseconds of the ops it makes.

    Args:
        model: A built Keras 3 model (Sequential or functional, nested models
            allowed) whose inputs have static shapes besides the batch.
        device: A `tfnas.latency.DeviceProfile` or the path of its JSON file
            (`tfnas calibrate`), or None (no latency). Pass a loaded profile when
            profiling many models: a path is read on every call.

    Returns:
        The `CostReport`.

    Raises:
        TfnasInputError: the model is not built (give it an Input or call
            `model.build(input_shape)`), or a shape is dynamic; the device
            profile is unreadable, not int8, or never measured a kernel the
            model needs (the message names the op and the command that adds it).
    """
    graph = flatten_model(model)
    layers = [_layer_cost(graph, call) for call in graph.calls]
    lowered = lower(graph)
    latency = None
    if device is not None:
        latency, per_op = predict_latency_ms(lowered, graph, _device(device))
        per_layer = layer_latency_ms(lowered, graph, per_op)
        layers = [dataclasses.replace(layer, latency_ms=ms) for layer, ms in zip(layers, per_layer, strict=True)]
    head, tail = peak_ram_bytes(lowered), persistent_arena_bytes(lowered)
    return CostReport(
        model_name=model.name,
        macs=sum(layer.macs for layer in layers),
        flops=sum(layer.flops for layer in layers),
        params=sum(layer.params for layer in layers),
        tflite_bytes=tflite_bytes(lowered),
        peak_ram_bytes=head,
        arena_bytes=head + tail,
        persistent_arena_bytes=tail,
        layers=tuple(layers),
        latency_ms=latency,
    )


def _device(device: Any) -> Any:
    """A loaded profile as it is; a path loaded and checked (int8), with a warning on another LiteRT version."""
    return device if isinstance(device, DeviceProfile) else load_device(device, purpose="tfnas.cost.profile")


def layer_latency_ms(lowered: Lowered, graph: Graph, per_op: list[float]) -> list[float]:
    """Per-op milliseconds summed by the layer call that made each op: one value per `graph.calls` entry.

    Aligned with `CostReport.layers` (one `LayerCost` per call, in the same order), so a report can add a
    latency column; a call whose ops folded into another's (BatchNormalization, ReLU) gets 0.
    """
    totals = [0.0] * len(graph.calls)
    for op, ms in zip(lowered.ops, per_op, strict=True):
        origin = lowered.tensors[op.outputs[0]].origin
        if origin >= 0:
            totals[origin] += ms
    return totals
