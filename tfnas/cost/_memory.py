"""Peak int8 activation memory, planned the way TFLite Micro's GreedyMemoryPlanner plans its arena.

TFLite Micro keeps every activation tensor (and every scratch buffer a kernel
asks for) in one arena. Each buffer lives from the op that writes it to the
last op that reads it (graph inputs from the start, graph outputs to the
end); buffers are padded to 16 bytes, sorted by size (largest first, ties in
reverse tensor order, as the planner's stable bubble sort leaves them), and
each is put at the lowest offset where it does not overlap any placed buffer
whose lifetime overlaps its own. The arena's non-persistent part is the
highest end offset. This is TFLM's algorithm
(tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc and
micro_allocation_info.cc), run on the predicted int8 graph.
"""

from __future__ import annotations

from tfnas.cost._tflite_graph import Lowered

ALIGNMENT = 16  # MicroArenaBufferAlignment()


def _align(nbytes: int) -> int:
    return -(-nbytes // ALIGNMENT) * ALIGNMENT


def lifetimes(graph: Lowered) -> list[tuple[int, int, int]]:
    """Buffers (aligned bytes, first use, last use) in TFLM's order: tensors by index, then scratch buffers.

    Time 0 is before the first op; op i (0-based) runs at time i + 1.
    """
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for t in graph.inputs:
        first[t] = last[t] = 0
    for time, op in enumerate(graph.ops, start=1):
        for t in op.outputs:
            first[t] = last[t] = time
        for t in op.inputs:
            if t >= 0 and not graph.tensors[t].const:
                last[t] = time
    for t in graph.outputs:
        last[t] = len(graph.ops)
    buffers = [
        (_align(tensor.nbytes), first[t], last[t])
        for t, tensor in enumerate(graph.tensors)
        if not tensor.const and tensor.nbytes > 0 and t in first
    ]
    for time, op in enumerate(graph.ops, start=1):
        buffers.extend((_align(nbytes), time, time) for nbytes in op.scratch if nbytes > 0)
    return buffers


def greedy_arena(buffers: list[tuple[int, int, int]]) -> int:
    """Highest end offset of TFLM's greedy placement of (size, first, last) buffers."""
    order = sorted(reversed(range(len(buffers))), key=lambda i: -buffers[i][0])
    placed: list[tuple[int, int, int, int]] = []  # (offset, size, first, last), kept sorted by offset
    peak = 0
    for i in order:
        size, first, last = buffers[i]
        offset = 0
        for p_offset, p_size, p_first, p_last in placed:
            if p_first > last or first > p_last:
                continue
            if p_offset - offset >= size:
                break
            offset = max(offset, p_offset + p_size)
        placed.append((offset, size, first, last))
        placed.sort(key=lambda p: p[0])
        peak = max(peak, offset + size)
    return peak


def peak_ram_bytes(graph: Lowered) -> int:
    """Non-persistent TFLite Micro arena bytes (activations and scratch) for the predicted int8 graph."""
    return greedy_arena(lifetimes(graph))
