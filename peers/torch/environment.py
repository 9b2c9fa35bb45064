"""What the worker runs on: versions for `hello`, the lazy torch import, precision switches and the
SM clock read through NVML.

torch and transformers are imported only here and only when asked for, so `hello` answers (with
torch null) on a machine without them.
"""
from __future__ import annotations

import ctypes
import importlib
import platform
from types import ModuleType
from typing import Any

from errors import UNAVAILABLE, PeerError, config_error

PEERS = ["torch-eager", "torch-graph", "torch-compile", "hf-generate"]
PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
NVML_CLOCK_SM = 1


def optional_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except Exception:  # a broken install counts as missing: hello never fails
        return None


def hello() -> dict[str, Any]:
    torch = optional_module("torch")
    transformers = optional_module("transformers") if torch is not None else None
    cuda_available = bool(torch is not None and torch.cuda.is_available())
    cudnn = torch.backends.cudnn.version() if cuda_available and torch is not None else None
    return {
        "ok": True,
        "python": platform.python_version(),
        "torch": torch.__version__.split("+")[0] if torch is not None else None,
        "transformers": transformers.__version__ if transformers is not None else None,
        "torch_cuda": torch.version.cuda if torch is not None else None,
        "cudnn": str(cudnn) if cudnn is not None else None,
        "device": torch.cuda.get_device_name(0) if cuda_available and torch is not None else None,
        "cuda_available": cuda_available,
        "peers": PEERS,
    }


def require_cuda_torch() -> ModuleType:
    """torch with a CUDA device, or ERR_FTB_UNAVAILABLE."""
    torch = optional_module("torch")
    if torch is None:
        raise PeerError(UNAVAILABLE, "python3 has no torch")
    if not torch.cuda.is_available():
        raise PeerError(UNAVAILABLE, "torch sees no CUDA device")
    torch.set_grad_enabled(False)  # inference only: no autograd bookkeeping in any unit
    return torch


def compute_dtype(torch: ModuleType, precision: str) -> Any:
    """The dtype weights and activations run in; sets TF32 on for tf32 only (fp32 means IEEE fp32)."""
    if precision not in PRECISIONS:
        raise config_error(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    return {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


class SmClock:
    """The SM clock of device 0 through NVML (ctypes); 0.0 when NVML cannot be read."""

    def __init__(self) -> None:
        self._nvml: Any = None
        self._handle = ctypes.c_void_p()
        try:
            nvml = ctypes.CDLL("libnvidia-ml.so.1")
            if nvml.nvmlInit_v2() == 0 and nvml.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(self._handle)) == 0:
                self._nvml = nvml
        except OSError:
            self._nvml = None

    def mhz(self) -> float:
        if self._nvml is None:
            return 0.0
        clock = ctypes.c_uint()
        if self._nvml.nvmlDeviceGetClockInfo(self._handle, NVML_CLOCK_SM, ctypes.byref(clock)) != 0:
            return 0.0
        return float(clock.value)
