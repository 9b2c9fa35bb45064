"""The self-test's plumbing: random weights in the engine's value ranges, checkpoints and inputs in
PROTOCOL.md's format (safetensors written by hand, so no library is trusted twice), NativeConfig
dicts, and a client that speaks the protocol to a spawned worker.py.
"""
from __future__ import annotations

import json
import math
import os
import select
import struct
import subprocess
import sys
from typing import Any

import numpy as np

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32", np.dtype(np.float64): "F64"}


def write_safetensors(path: str, tensors: dict[str, np.ndarray]) -> None:
    header: dict[str, Any] = {}
    offset = 0
    for name, array in tensors.items():
        size = array.nbytes
        header[name] = {"dtype": DTYPES[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(text)))
        handle.write(text)
        for array in tensors.values():
            handle.write(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes())


class Values:
    """value = offset + scale·U(-1, 1), as common/tensors.h's ranges."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def uniform(self, shape: tuple[int, ...], scale: float, offset: float = 0.0) -> np.ndarray:
        return (offset + scale * self.rng.uniform(-1.0, 1.0, shape)).astype(np.float32)

    def linear(self, w: dict[str, np.ndarray], name: str, out_dim: int, in_dim: int, scale: float | None = None) -> None:
        w[name + ".weight"] = self.uniform((out_dim, in_dim), scale if scale is not None else 1.0 / math.sqrt(in_dim))
        w[name + ".bias"] = self.uniform((out_dim,), 0.1)

    def norm(self, w: dict[str, np.ndarray], name: str, h: int) -> None:
        w[name + ".weight"] = self.uniform((h,), 0.1, 1.0)
        w[name + ".bias"] = self.uniform((h,), 0.1)

    def lengths(self, count: int, length: int, full: bool) -> np.ndarray:
        if full:
            return np.full(count, length, dtype=np.int32)
        return self.rng.integers((length + 1) // 2, length + 1, count).astype(np.int32)

    def draws(self, count: int) -> np.ndarray:
        """Odd multiples of 2^-24 in (0, 1), as the engine's random_unit."""
        return ((self.rng.integers(0, 1 << 23, count) * 2 + 1) * 2.0**-24).astype(np.float64)


def bert_weights(values: Values, layers: int, h: int, inter: int) -> dict[str, np.ndarray]:
    w: dict[str, np.ndarray] = {}
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            values.linear(w, p + "attention.self." + name, h, h)
        values.linear(w, p + "attention.output.dense", h, h)
        values.norm(w, p + "attention.output.LayerNorm", h)
        values.linear(w, p + "intermediate.dense", inter, h)
        values.linear(w, p + "output.dense", h, inter)
        values.norm(w, p + "output.LayerNorm", h)
    return w


def decoding_weights(values: Values, layers: int, h: int, inter: int, vocab: int) -> dict[str, np.ndarray]:
    w: dict[str, np.ndarray] = {}
    for i in range(layers):
        p = f"decoder.layers.{i}."
        values.norm(w, p + "self_ln", h)
        values.linear(w, p + "self_attn.qkv", 3 * h, h)
        values.linear(w, p + "self_attn.out", h, h)
        values.norm(w, p + "cross_ln", h)
        values.linear(w, p + "cross_attn.q", h, h)
        values.linear(w, p + "cross_attn.kv", 2 * h, h)
        values.linear(w, p + "cross_attn.out", h, h)
        values.norm(w, p + "ffn_ln", h)
        values.linear(w, p + "ffn.fc1", inter, h)
        values.linear(w, p + "ffn.fc2", h, inter)
    w["embedding.weight"] = values.uniform((vocab, h), 1.0 / math.sqrt(h))
    values.norm(w, "final_ln", h)
    values.linear(w, "logits", vocab, h, scale=4.0 / math.sqrt(h))
    return w


def native_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "path": "decoding", "variant": "torch-eager", "precision": "fp32", "layers": 2, "heads": 4, "head_size": 8,
        "inter_size": 64, "vocab": 16, "max_seq": 64, "mem_len": 6, "batch": 3, "beam": 1, "seq": 8, "top_k": 0,
        "top_p": 0.0, "temperature": 1.0, "length_penalty": 0.6, "start_id": 1, "end_id": 2, "stop_at_end": False,
        "full_length": False, "graph": False, "seed": 7,
    }
    config.update(overrides)
    return config


def write_json(path: str, value: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle)


Model = dict[str, np.ndarray] | str  # the weights, or a model.safetensors already written (linked)


def write_model(directory: str, weights: Model) -> None:
    target = os.path.join(directory, "model.safetensors")
    if isinstance(weights, str):
        if os.path.exists(target):
            os.remove(target)
        os.link(weights, target)
    else:
        write_safetensors(target, weights)


def write_encoder_checkpoint(directory: str, c: dict[str, Any], weights: Model, inputs: dict[str, np.ndarray]) -> None:
    os.makedirs(directory, exist_ok=True)
    h = c["heads"] * c["head_size"]
    write_json(os.path.join(directory, "config.json"), {
        "model_type": "bert", "architectures": ["BertModel"], "hidden_size": h, "num_hidden_layers": c["layers"],
        "num_attention_heads": c["heads"], "intermediate_size": c["inter_size"], "hidden_act": "gelu_pytorch_tanh",
        "layer_norm_eps": 1e-6, "vocab_size": 2, "max_position_embeddings": max(512, c["seq"]), "type_vocab_size": 2,
        "hidden_dropout_prob": 0, "attention_probs_dropout_prob": 0, "torch_dtype": "float32"})
    write_model(directory, weights)
    write_safetensors(os.path.join(directory, "inputs.safetensors"), inputs)


def write_decoding_checkpoint(directory: str, c: dict[str, Any], weights: Model, inputs: dict[str, np.ndarray]) -> None:
    os.makedirs(directory, exist_ok=True)
    write_json(os.path.join(directory, "config.json"), {
        "model_type": "ftbench-decoding", "hidden_size": c["heads"] * c["head_size"], "num_layers": c["layers"],
        "num_heads": c["heads"], "head_size": c["head_size"], "intermediate_size": c["inter_size"],
        "vocab_size": c["vocab"], "layer_norm_eps": 1e-6, "start_id": c["start_id"], "end_id": c["end_id"],
        "length_penalty": c["length_penalty"], "torch_dtype": "float32"})
    write_model(directory, weights)
    write_safetensors(os.path.join(directory, "inputs.safetensors"), inputs)


def read_outputs(directory: str, files: dict[str, Any]) -> dict[str, np.ndarray]:
    arrays = {}
    for name, entry in files.items():
        dtype = np.float32 if entry["dtype"] == "float32" else np.int32
        arrays[name] = np.fromfile(os.path.join(directory, entry["file"]), dtype=dtype).reshape(entry["shape"])
    return arrays


class WorkerClient:
    """worker.py as a child process: one request line in, one reply line out; stderr to a log file."""

    def __init__(self, log_path: str, timeout_s: float = 900.0) -> None:
        self.log_path = log_path
        self.timeout_s = timeout_s
        self._log = open(log_path, "a", encoding="utf-8")
        self.process = subprocess.Popen([sys.executable, WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self._log, text=True, bufsize=1)

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout_s)
        if not ready:
            raise TimeoutError(f"no reply to {op} within {self.timeout_s} s (log: {self.log_path})")
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker exited (code {self.process.poll()}); log: {self.log_path}")
        return json.loads(line)

    def close(self) -> int:
        if self.process.poll() is None:
            self.request("exit")
            self.process.wait(timeout=60)
        self._log.close()
        return self.process.returncode
