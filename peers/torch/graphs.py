"""CUDA-graph capture and torch.compile, shared by the encoder and decoding peers.

Capture follows the PyTorch docs: a few warm-up calls on a side stream (so lazy initialisation,
cuBLAS workspaces and autotuning happen outside the graph), then one capture; the graph's
outputs are the tensors the captured call returned, overwritten in place by every replay.
"""
from __future__ import annotations

import time
from typing import Any, Callable

WARM_UP_CALLS = 3


def warm_up(torch: Any, fn: Callable[[], Any], calls: int = WARM_UP_CALLS) -> None:
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(calls):
            fn()
    torch.cuda.current_stream().wait_stream(side)


def capture(torch: Any, fn: Callable[[], Any], pool: Any = None, warm: bool = True) -> tuple[Any, Any]:
    """(graph, outputs of the captured call)."""
    if warm:
        warm_up(torch, fn)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, pool=pool):
        outputs = fn()
    return graph, outputs


def compile_max_autotune(torch: Any, fn: Callable[..., Any]) -> Callable[..., Any]:
    return torch.compile(fn, mode="max-autotune")


def timed_warm_up(torch: Any, fn: Callable[[], Any], calls: int = WARM_UP_CALLS) -> float:
    """Seconds spent in the first calls of a compiled function (compilation and autotuning happen there)."""
    start = time.perf_counter()
    for _ in range(calls):
        torch.compiler.cudagraph_mark_step_begin()
        fn()
    torch.cuda.synchronize()
    return time.perf_counter() - start
