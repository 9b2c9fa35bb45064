"""FasterTransformer's decoder layer stack in PyTorch (native/MODEL.md, "Decoder"): pre-LN layers with
self-attention over a static KV cache, cross-attention over memory K/V computed once per unit, and
a ReLU FFN; plus the decoding path's embedding (+ sinusoidal positions), final LN and logits.

Layout, chosen for speed: the self-attention cache is preallocated [layers, rows, heads, steps,
head_size] (rows = batch·beam); two of them alternate so a beam reorder is an index_select per layer from one
into the other (no copy back). Each layer's q|k|v is one fused linear; the memory K/V of every layer
is one linear (all layers' weights stacked) at the start of a unit. Steps take the step index as a
device tensor, so one captured CUDA graph serves every step; attention then spans the whole cache
with a mask hiding positions past the step (eager steps attend the written prefix only).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from checkpoint import PointConfig, require

LN_EPS = 1e-6


@dataclass
class Layer:
    self_ln: tuple[Any, Any]
    qkv: tuple[Any, Any]
    self_out: tuple[Any, Any]
    cross_ln: tuple[Any, Any]
    cross_q: tuple[Any, Any]
    cross_out: tuple[Any, Any]
    ffn_ln: tuple[Any, Any]
    fc1: tuple[Any, Any]
    fc2: tuple[Any, Any]


def position_table(steps: int, hidden: int) -> np.ndarray:
    """PE(t)[i] for t < steps, fp64: first half sin, second half cos (common/position.h)."""
    half = hidden // 2
    denominator = float(max(half, 1))
    t = np.arange(steps, dtype=np.float64)[:, None]
    i = np.arange(hidden)
    exponent = np.where(i < half, i, i - half) / denominator
    angle = t / np.power(10000.0, exponent)[None, :]
    return np.where(i[None, :] < half, np.sin(angle), np.cos(angle))


class DecoderStack:
    """Weights, memory K/V and the self-attention caches of one point; `step` runs every layer."""

    def __init__(self, torch: Any, config: PointConfig, weights: dict[str, Any], memory: Any,
                 memory_lengths: Any, dtype: Any, source: str) -> None:
        self._torch = torch
        self._config = config
        h, heads, size = config.hidden, config.heads, config.head_size
        self.layers = [self._layer(weights, config, i, source, dtype) for i in range(config.layers)]
        kv = [require(weights, f"decoder.layers.{i}.cross_attn.kv.weight", (2 * h, h), source) for i in range(config.layers)]
        kv_bias = [require(weights, f"decoder.layers.{i}.cross_attn.kv.bias", (2 * h,), source) for i in range(config.layers)]
        self.cross_kv_weight = torch.cat(kv).to(dtype)  # [layers·2h, h]: one GEMM for every layer
        self.cross_kv_bias = torch.cat(kv_bias).to(dtype)
        self.memory = memory.to(dtype)
        batch, memory_len = memory.shape[0], memory.shape[1]
        self.memory_kv = torch.empty(config.layers, 2, batch, heads, memory_len, size, dtype=dtype, device="cuda")
        # Additive masks: 0 where attended, -inf where masked; none when every memory is full length.
        valid = torch.arange(memory_len, device="cuda")[None, :] < memory_lengths[:, None]
        padded = bool((memory_lengths < memory_len).any())
        self.cross_mask = self._additive(valid[:, None, None, :], dtype) if padded else None
        cache_shape = (config.layers, config.rows, heads, config.seq, size)
        self.caches = [(torch.zeros(cache_shape, dtype=dtype, device="cuda"),
                        torch.zeros(cache_shape, dtype=dtype, device="cuda")) for _ in range(2 if config.beam > 1 else 1)]
        self.current = 0
        self.positions = torch.arange(config.seq, device="cuda")
        self.dtype = dtype

    def _additive(self, valid: Any, dtype: Any) -> Any:
        torch = self._torch
        return torch.zeros(valid.shape, dtype=dtype, device="cuda").masked_fill_(~valid, float("-inf"))

    @staticmethod
    def _layer(weights: dict[str, Any], config: PointConfig, i: int, source: str, dtype: Any) -> Layer:
        prefix = f"decoder.layers.{i}."

        def pair(name: str, out_dim: int, in_dim: int | None) -> tuple[Any, Any]:
            shape = (out_dim,) if in_dim is None else (out_dim, in_dim)
            weight = require(weights, prefix + name + ".weight", shape, source).to(dtype)
            return weight, require(weights, prefix + name + ".bias", (out_dim,), source).to(dtype)

        h, inter = config.hidden, config.inter_size
        return Layer(pair("self_ln", h, None), pair("self_attn.qkv", 3 * h, h), pair("self_attn.out", h, h),
                     pair("cross_ln", h, None), pair("cross_attn.q", h, h), pair("cross_attn.out", h, h),
                     pair("ffn_ln", h, None), pair("ffn.fc1", inter, h), pair("ffn.fc2", h, inter))

    def start(self) -> None:
        """Memory K/V of every layer: [batch, mem, layers·2h] -> [layers, 2, batch, heads, mem, size]."""
        c = self._config
        kv = self._torch.nn.functional.linear(self.memory, self.cross_kv_weight, self.cross_kv_bias)
        batch, memory_len = self.memory.shape[0], self.memory.shape[1]
        kv = kv.view(batch, memory_len, c.layers, 2, c.heads, c.head_size)
        self.memory_kv.copy_(kv.permute(2, 3, 0, 4, 1, 5))
        self.current = 0

    def self_mask(self, step: Any) -> Any:
        """Additive [1, 1, 1, steps] mask of the positions written so far (graph steps)."""
        valid = self.positions <= step
        return self._additive(valid.view(1, 1, 1, -1), self.dtype)

    def step(self, x: Any, step: Any, prefix: int, mask: Any) -> Any:
        """Step `step` ([1] long) through every layer over rows x [rows, h]; attends cache[:prefix]."""
        for index, layer in enumerate(self.layers):
            x = self._self_attention(index, layer, x, step, prefix, mask)
            x = self._cross_attention(index, layer, x)
            x = self._feed_forward(layer, x)
        return x

    def _self_attention(self, index: int, layer: Layer, x: Any, step: Any, prefix: int, mask: Any) -> Any:
        F = self._torch.nn.functional
        c = self._config
        y = F.layer_norm(x, (c.hidden,), *layer.self_ln, eps=LN_EPS)
        q, k, v = F.linear(y, *layer.qkv).view(c.rows, 3, c.heads, 1, c.head_size).unbind(1)
        keys, values = (cache[index] for cache in self.caches[self.current])
        keys.index_copy_(2, step, k)
        values.index_copy_(2, step, v)
        attended = F.scaled_dot_product_attention(q, keys[:, :, :prefix], values[:, :, :prefix], attn_mask=mask)
        return x + F.linear(attended.view(c.rows, c.hidden), *layer.self_out)

    def _cross_attention(self, index: int, layer: Layer, x: Any) -> Any:
        F = self._torch.nn.functional
        c = self._config
        y = F.layer_norm(x, (c.hidden,), *layer.cross_ln, eps=LN_EPS)
        # The beams of a sentence are its queries: [batch, heads, beam, size] against its memory.
        q = F.linear(y, *layer.cross_q).view(c.batch, c.beam, c.heads, c.head_size).transpose(1, 2)
        keys, values = self.memory_kv[index]
        attended = F.scaled_dot_product_attention(q, keys, values, attn_mask=self.cross_mask)
        return x + F.linear(attended.transpose(1, 2).reshape(c.rows, c.hidden), *layer.cross_out)

    def _feed_forward(self, layer: Layer, x: Any) -> Any:
        F = self._torch.nn.functional
        y = F.layer_norm(x, (self._config.hidden,), *layer.ffn_ln, eps=LN_EPS)
        return x + F.linear(F.relu(F.linear(y, *layer.fc1)), *layer.fc2)

    def reorder(self, rows: Any) -> None:
        """Row r continues the cache of row rows[r]: gathered whole into the other buffer, layer by
        layer along the leading dim (as HF's cache reorder; 3x the bandwidth of one index_select
        along dim 1 on an H200). Positions past the step are stale and rewritten before being read."""
        torch = self._torch
        target = 1 - self.current
        for source, destination in zip(self.caches[self.current], self.caches[target]):
            for layer in range(self._config.layers):
                torch.index_select(source[layer], 0, rows, out=destination[layer])
        self.current = target


class DecodingHead:
    """Embedding + positions in, final LN and logits out (native/MODEL.md, "Decoding")."""

    def __init__(self, torch: Any, config: PointConfig, weights: dict[str, Any], dtype: Any, source: str) -> None:
        self._torch = torch
        self._config = config
        h, vocab = config.hidden, config.vocab
        self.embedding = require(weights, "embedding.weight", (vocab, h), source).to(dtype)
        self.final_ln = (require(weights, "final_ln.weight", (h,), source).to(dtype),
                         require(weights, "final_ln.bias", (h,), source).to(dtype))
        self.logits_layer = (require(weights, "logits.weight", (vocab, h), source).to(dtype),
                             require(weights, "logits.bias", (vocab,), source).to(dtype))
        self.positions = torch.from_numpy(position_table(config.seq, h)).to("cuda")
        self.scale = math.sqrt(h)
        self.dtype = dtype

    def embed(self, ids: Any, step: Any) -> Any:
        """Embedding[id]·√h + PE(t), in fp64 and rounded once."""
        rows = self.embedding.index_select(0, ids).double()
        return (rows * self.scale + self.positions.index_select(0, step)).to(self.dtype)

    def logits(self, x: Any) -> Any:
        F = self._torch.nn.functional
        y = F.layer_norm(x, (self._config.hidden,), *self.final_ln, eps=LN_EPS)
        return F.linear(y, *self.logits_layer)
