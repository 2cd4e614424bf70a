"""`VerifyReport`: a `.tflite` file measured on LiteRT and TFLite Micro (plain data)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass
class VerifyReport:
    """What running a `.tflite` file on both runtimes showed.

    The LiteRT figures (`litert_value`, `agreement`, `max_output_diff`) come
    from LiteRT's builtin reference kernels (`litert_kernels`), which round
    int8 arithmetic like TFLite Micro's; only `litert_latency_ms` comes from
    the default delegates (XNNPACK), as an app runs the model.

    Attributes:
        path: the file.
        bytes: its size.
        samples: how many samples ran on each runtime.
        metric: "accuracy" (classification) or "mae" (regression).
        float_value: the metric of the float Keras model, when one was given.
        litert_value: the metric on LiteRT (reference kernels).
        micro_value: the metric on TFLite Micro (None when it could not run).
        agreement: share of samples where LiteRT (reference kernels) and TFLite
            Micro predict the same class (regression: whose outputs are identical).
        max_output_diff: largest difference between the two runtimes' raw outputs
            (int8 steps for int8 models; LiteRT on reference kernels).
        ops: the distinct ops, in first-use order.
        micro_unsupported_ops: ops TFLite Micro has no kernel for.
        arena_head_bytes: TFLite Micro's non-persistent arena (activations).
        arena_tail_bytes: its persistent arena.
        arena_total_bytes: head + tail: the arena a microcontroller must hold.
        predicted_peak_ram_bytes: the cost model's `peak_ram_bytes`, when a Keras model was given.
        arena_vs_prediction: arena_head_bytes / predicted_peak_ram_bytes.
        litert_latency_ms: median `invoke()` time on LiteRT with its default
            delegates (XNNPACK), on this machine's CPU.
        micro_error: why TFLite Micro could not run the model, or None.
        litert_kernels: the LiteRT kernels behind `litert_value`, `agreement`
            and `max_output_diff`: "reference" (`OpResolverType.BUILTIN_REF`).
        predicted_arena_bytes: the cost model's `arena_bytes` (head plus
            persistent part), when a Keras model was given.
        arena_total_vs_prediction: arena_total_bytes / predicted_arena_bytes.
        metadata: the TFLite metadata the file carries (`tfnas.metadata.Metadata.to_dict()`), or None.
        normalization: what verify applied to `x` ("none", or the mean and std and whence).
        latency_ms: with a device profile, the median `invoke()` milliseconds timed with its harness.
        latency_p95_ms: their 95th percentile.
        predicted_latency_ms: the profile's prediction for the Keras 3 model given.
        latency_vs_prediction: latency_ms / predicted_latency_ms.
        threads: the interpreter threads of that timing (the profile's).
    """

    path: str
    bytes: int
    samples: int
    metric: str
    float_value: float | None
    litert_value: float
    micro_value: float | None
    agreement: float | None
    max_output_diff: float | None
    ops: list[str]
    micro_unsupported_ops: list[str]
    arena_head_bytes: int | None
    arena_tail_bytes: int | None
    arena_total_bytes: int | None
    predicted_peak_ram_bytes: int | None
    arena_vs_prediction: float | None
    litert_latency_ms: float
    micro_error: str | None = None
    litert_kernels: str = "reference"
    predicted_arena_bytes: int | None = None
    arena_total_vs_prediction: float | None = None
    metadata: dict[str, Any] | None = None
    normalization: str = "none"
    latency_ms: float | None = None
    latency_p95_ms: float | None = None
    predicted_latency_ms: float | None = None
    latency_vs_prediction: float | None = None
    threads: int | None = None

    def summary(self, print_fn: Callable[[str], None] = print) -> None:
        """Prints the report in a few lines."""
        def fmt(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.4f}"

        diff = "n/a" if self.max_output_diff is None else f"{self.max_output_diff:g}"
        print_fn(f"{self.path}: {self.bytes:,} bytes, ops {', '.join(self.ops)}")
        print_fn(
            f"{self.metric} on {self.samples} samples: float {fmt(self.float_value)}, "
            f"LiteRT ({self.litert_kernels} kernels) {fmt(self.litert_value)}, TFLite Micro {fmt(self.micro_value)}; "
            f"runtimes agree on {fmt(self.agreement)}, max output diff {diff}"
        )
        if self.arena_total_bytes is not None:
            predicted = f" (cost model predicted {self.predicted_peak_ram_bytes:,})" if self.predicted_peak_ram_bytes else ""
            total = f" (cost model predicted {self.predicted_arena_bytes:,})" if self.predicted_arena_bytes else ""
            print_fn(
                f"TFLite Micro arena: {self.arena_total_bytes:,} bytes{total} = {self.arena_head_bytes:,} activations"
                f"{predicted} + {self.arena_tail_bytes:,} persistent"
            )
        print_fn(f"LiteRT median latency (default delegates, XNNPACK): {self.litert_latency_ms:.3f} ms")
        if self.metadata is not None:
            m = self.metadata
            norm = "none" if m["mean"] is None else f"(raw - {m['mean']}) / {m['std']}"
            names = m["labels"] or []
            more = ', ...' if len(names) > 5 else ''
            labels = "none" if m["labels"] is None else f"{len(names)} ({', '.join(names[:5])}{more})"
            print_fn(
                f"metadata: {m['name']!r} v{m['version']} by {m['author']}, input normalisation {norm}, range "
                f"{m['input_range']}, labels {labels}; verify applied: {self.normalization}"
            )
        if self.latency_ms is not None:
            vs = "" if self.predicted_latency_ms is None else (
                f"; predicted {self.predicted_latency_ms:.4g} ms (measured / predicted {self.latency_vs_prediction:.2f})")
            print_fn(f"Device profile's harness ({self.threads} thread(s)): median {self.latency_ms:.4g} ms, "
                     f"p95 {self.latency_p95_ms:.4g} ms{vs}")  # fmt: skip
        if self.micro_error:
            print_fn(f"TFLite Micro could not run it: {self.micro_error.splitlines()[0]}")

    def to_dict(self) -> dict[str, Any]:
        """YAML-dumpable dict."""
        return dataclasses.asdict(self)
