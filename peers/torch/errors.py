"""Error codes of the peer protocol (PROTOCOL.md, "Process") and the mapping of exceptions to them.

Every failed request is answered with one of four codes; this module is the one place that decides
which. torch is imported lazily, so the mapping also works where torch is missing.
"""
from __future__ import annotations

import sys

CONFIG = "ERR_FTB_CONFIG"
OOM = "ERR_FTB_OOM"
ENGINE = "ERR_FTB_ENGINE"
UNAVAILABLE = "ERR_FTB_UNAVAILABLE"


class PeerError(Exception):
    """A failure whose code is known where it is raised (bad config, missing torch, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def config_error(message: str) -> PeerError:
    return PeerError(CONFIG, message)


def is_out_of_memory(error: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError, without importing torch when it was never loaded."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    return isinstance(error, torch.cuda.OutOfMemoryError)


def code_of(error: BaseException) -> str:
    if isinstance(error, PeerError):
        return error.code
    if is_out_of_memory(error):
        return OOM
    return ENGINE


def one_line(error: BaseException) -> str:
    """The error's message on one line (CUDA messages span several), prefixed by its type when bare."""
    text = " ".join(str(error).split())
    if isinstance(error, PeerError):
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
