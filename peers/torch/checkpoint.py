"""The point's config (the engine's NativeConfig, snake_case) and the checkpoint directory: reading
config.json and the safetensors files written by the TypeScript side, and writing a unit's outputs
as raw little-endian files (PROTOCOL.md, "Checkpoint directory" and "outputs").
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from errors import config_error

PATHS = ("encoder", "decoder", "decoding")
FIELD_TYPES: dict[str, type | tuple[type, ...]] = {"str": str, "int": int, "float": (int, float), "bool": bool}


@dataclass(frozen=True)
class PointConfig:
    path: str
    variant: str
    precision: str
    layers: int
    heads: int
    head_size: int
    inter_size: int
    vocab: int
    max_seq: int
    mem_len: int
    batch: int
    beam: int
    seq: int
    top_k: int
    top_p: float
    temperature: float
    length_penalty: float
    start_id: int
    end_id: int
    stop_at_end: bool
    full_length: bool
    graph: bool
    seed: int

    @property
    def hidden(self) -> int:
        return self.heads * self.head_size

    @property
    def rows(self) -> int:
        return self.batch * self.beam

    @property
    def sampling(self) -> bool:
        return self.beam == 1 and (self.top_k > 0 or self.top_p > 0.0)


def point_config(raw: Any) -> PointConfig:
    """Validates the request's config: every field present with its type; the path known."""
    if not isinstance(raw, dict):
        raise config_error("config must be an object")
    values: dict[str, Any] = {}
    for field in fields(PointConfig):
        if field.name not in raw:
            raise config_error(f"config.{field.name} is missing")
        value = raw[field.name]
        if not isinstance(value, FIELD_TYPES[str(field.type)]) or (field.type == "int" and isinstance(value, bool)):
            raise config_error(f"config.{field.name} must be {field.type}, got {value!r}")
        # The engine holds these as fp32: round them alike so thresholds compare exactly as there.
        values[field.name] = float(np.float32(value)) if field.type == "float" else value
    config = PointConfig(**values)
    if config.path not in PATHS:
        raise config_error(f"config.path must be one of {', '.join(PATHS)}, got {config.path!r}")
    for name in ("layers", "heads", "head_size", "inter_size", "batch", "beam", "seq"):
        if getattr(config, name) < 1:
            raise config_error(f"config.{name} must be >= 1, got {getattr(config, name)}")
    if config.beam > 1 and (config.top_k > 0 or config.top_p > 0):
        raise config_error(f"config.top_k/top_p need beam 1 (sampling), got beam {config.beam}")
    if config.path == "decoding":
        if not (0 <= config.start_id < config.vocab and 0 <= config.end_id < config.vocab):
            raise config_error(f"config.start_id/end_id must be in 0..{config.vocab - 1}")
        if not 0 <= config.top_k <= config.vocab:
            raise config_error(f"config.top_k must be in 0..{config.vocab}, got {config.top_k}")
        if not 0.0 <= config.top_p <= 1.0:
            raise config_error(f"config.top_p must be in 0..1, got {config.top_p}")
        if not config.temperature > 0.0:
            raise config_error(f"config.temperature must be > 0, got {config.temperature}")
        if config.beam * 2 > config.vocab:
            raise config_error(f"config.beam must be at most vocab/2 = {config.vocab // 2}, got {config.beam}")
    return config


def read_json(directory: str) -> dict[str, Any]:
    path = os.path.join(directory, "config.json")
    try:
        with open(path, encoding="utf-8") as handle:
            loaded = json.load(handle)
    except (OSError, ValueError) as error:
        raise config_error(f"{path}: {error}") from error
    if not isinstance(loaded, dict):
        raise config_error(f"{path}: not a JSON object")
    return loaded


def check_model_config(directory: str, expected: dict[str, Any]) -> None:
    """config.json must describe the point's model: a mismatch is a config error, not a crash."""
    loaded = read_json(directory)
    for key, value in expected.items():
        if loaded.get(key) != value:
            raise config_error(f"{directory}/config.json: {key} is {loaded.get(key)!r}, the point needs {value!r}")


def load_tensors(directory: str, name: str, device: str) -> dict[str, Any]:
    """All tensors of <directory>/<name> on `device`, as stored (F32/I32/F64)."""
    from safetensors.torch import load_file

    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise config_error(f"{path}: no such file")
    return load_file(path, device=device)


def require(tensors: dict[str, Any], name: str, shape: tuple[int, ...], source: str) -> Any:
    """tensors[name], checked against the shape the point's config implies."""
    if name not in tensors:
        raise config_error(f"{source}: tensor {name} is missing")
    tensor = tensors[name]
    if tuple(tensor.shape) != shape:
        raise config_error(f"{source}: {name} has shape {list(tensor.shape)}, the config implies {list(shape)}")
    return tensor


def write_outputs(directory: str, arrays: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Writes each array as <name>.bin (little-endian float32/int32) and describes it."""
    os.makedirs(directory, exist_ok=True)
    described: dict[str, dict[str, Any]] = {}
    for name, array in arrays.items():
        dtype = "<f4" if array.dtype.kind == "f" else "<i4"
        file = f"{name}.bin"
        np.ascontiguousarray(array, dtype=dtype).tofile(os.path.join(directory, file))
        described[name] = {
            "file": file,
            "dtype": "float32" if dtype == "<f4" else "int32",
            "shape": list(array.shape),
        }
    return described
