"""The torch peer worker (entry point): reads one JSON request per line on stdin and writes exactly
one JSON reply per line on stdout, in order (PROTOCOL.md). Nothing else reaches stdout: library
prints and warnings go to stderr, replies go to the saved original stdout.

This module is the protocol loop: it dispatches ops, keeps the loaded unit, maps every failure to
a coded one-line reply and stays usable afterwards (an OOM frees what the unit held).
"""
from __future__ import annotations

import gc
import json
import os
import sys
import time
from typing import Any, TextIO

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from checkpoint import point_config, write_outputs  # noqa: E402
from environment import PEERS, hello, require_cuda_torch  # noqa: E402
from errors import OOM, PeerError, code_of, config_error, one_line  # noqa: E402
from hf_reference import hf_hidden  # noqa: E402
from timing import Timer, Unit  # noqa: E402


def positive_int(request: dict[str, Any], name: str) -> int:
    value = request.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise config_error(f"{name} must be a positive integer, got {value!r}")
    return value


def string_field(request: dict[str, Any], name: str) -> str:
    value = request.get(name)
    if not isinstance(value, str) or not value:
        raise config_error(f"{name} must be a non-empty string, got {value!r}")
    return value


class Worker:
    def __init__(self) -> None:
        self.unit: Unit | None = None
        self.timer: Timer | None = None

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "hello":
            return hello()
        if op == "load":
            return self.load(request)
        if op == "measure":
            iterations = positive_int(request, "iterations")
            flush = request.get("flush_l2", False)
            if not isinstance(flush, bool):
                raise config_error(f"flush_l2 must be a boolean, got {flush!r}")
            return self.loaded_timer().measure(self.loaded(), iterations, flush)
        if op == "run":
            unit = self.loaded()
            unit.run()
            require_cuda_torch().cuda.synchronize()
            return {"ok": True}
        if op == "outputs":
            arrays, steps_run = self.loaded().outputs()
            return {"ok": True, "files": write_outputs(string_field(request, "dir"), arrays), "steps_run": steps_run}
        if op == "release":
            self.release()
            return {"ok": True}
        if op == "hf_hidden":
            directory = string_field(request, "dir")
            arrays, about = hf_hidden(request)
            return {"ok": True, "files": write_outputs(directory, arrays), **about}
        raise config_error(f"op must be one of hello, load, measure, run, outputs, release, hf_hidden, exit; got {op!r}")

    def load(self, request: dict[str, Any]) -> dict[str, Any]:
        peer = string_field(request, "peer")
        if peer not in PEERS:
            raise config_error(f"peer must be one of {', '.join(PEERS)}, got {peer!r}")
        checkpoint = string_field(request, "checkpoint")
        config = point_config(request.get("config"))
        self.release()
        torch = require_cuda_torch()
        start = time.perf_counter()
        self.unit = make_unit(torch, config, checkpoint, peer)
        torch.cuda.synchronize()
        self.timer = self.timer or Timer(torch)
        load_s = time.perf_counter() - start
        return {"ok": True, "load_s": load_s, "compile_s": self.unit.compile_s, "notes": self.unit.notes}

    def loaded(self) -> Unit:
        if self.unit is None:
            raise config_error("no model is loaded: send load first")
        return self.unit

    def loaded_timer(self) -> Timer:
        self.loaded()
        assert self.timer is not None  # set with the unit
        return self.timer

    def release(self) -> None:
        self.unit = None
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.synchronize()
            torch.cuda.empty_cache()


def make_unit(torch: Any, config: Any, checkpoint: str, peer: str) -> Unit:
    if peer == "hf-generate":
        from hf_generate import HfGenerateUnit

        return HfGenerateUnit(torch, config, checkpoint, peer)
    if config.path == "encoder":
        from encoder_peer import EncoderUnit

        return EncoderUnit(torch, config, checkpoint, peer)
    from decoding_peer import DecodingUnit

    return DecodingUnit(torch, config, checkpoint, peer)


def reply(out: TextIO, message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def parse(line: str) -> dict[str, Any]:
    try:
        request = json.loads(line)
    except ValueError as error:
        raise config_error(f"a request must be one JSON object per line: {error}") from error
    if not isinstance(request, dict):
        raise config_error("a request must be a JSON object")
    return request


def answer(worker: Worker, request: dict[str, Any]) -> dict[str, Any]:
    """The reply to one request; a failure becomes a coded reply (after an OOM the unit is freed)."""
    failure: dict[str, Any] | None = None
    try:
        return worker.handle(request)
    except Exception as error:  # every failure becomes a coded reply; the worker goes on
        print(f"peer worker: {code_of(error)}: {error!r}", file=sys.stderr)
        failure = {"ok": False, "code": code_of(error), "error": one_line(error)}
    # Outside the except block: the traceback (and the tensors its frames hold) is gone by now.
    if failure["code"] == OOM:
        worker.release()
    else:
        gc.collect()
    return failure


def serve(requests: TextIO, out: TextIO) -> None:
    worker = Worker()
    for line in requests:
        if not line.strip():
            continue
        try:
            request = parse(line)
        except PeerError as error:
            reply(out, {"ok": False, "code": error.code, "error": one_line(error)})
            continue
        if request.get("op") == "exit":
            reply(out, {"ok": True})
            return
        reply(out, answer(worker, request))


def main() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # anything a library prints goes to the log, never between replies
    serve(sys.stdin, out)


if __name__ == "__main__":
    main()
