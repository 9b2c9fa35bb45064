"""What every peer unit offers the protocol loop, and the `measure` op: N units back to back between
two CUDA events, optionally after flushing L2, then the SM clock (PROTOCOL.md, "measure").
"""
from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from environment import SmClock


class Unit(Protocol):
    """One loaded point: `run` enqueues one unit on the current stream and does not synchronize
    (except where a peer must, e.g. hf-generate); `outputs` synchronizes and returns the last unit's
    outputs with steps_run."""

    compile_s: float | None
    notes: dict[str, str]

    def run(self) -> None: ...

    def outputs(self) -> tuple[dict[str, np.ndarray], int]: ...


class Timer:
    """CUDA events, the L2 flush buffer (allocated on first use) and the NVML clock."""

    def __init__(self, torch: Any) -> None:
        self._torch = torch
        self._flush: Any = None
        self._clock = SmClock()

    def flush_l2(self) -> None:
        torch = self._torch
        if self._flush is None:
            l2_bytes = torch.cuda.get_device_properties(0).L2_cache_size
            self._flush = torch.empty(2 * max(l2_bytes, 1 << 20), dtype=torch.uint8, device="cuda")
        self._flush.fill_(1)  # a write of twice L2: nothing of the model stays there

    def measure(self, unit: Unit, iterations: int, flush_l2: bool) -> dict[str, Any]:
        torch = self._torch
        if flush_l2:
            self.flush_l2()
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iterations):
            unit.run()
        end.record()
        end.synchronize()
        sm_clock = self._clock.mhz()
        return {"ok": True, "ms": start.elapsed_time(end) / iterations, "sm_clock_mhz": sm_clock}

    def release(self) -> None:
        self._flush = None
