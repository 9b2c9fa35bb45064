"""A plain numpy reference of native/MODEL.md for the self-test (no torch): fp32 storage with every op
computed in fp64 and rounded once, as the engine's CPU reference does. Written for clarity, not
speed: the decoder recomputes each row's whole history every step (equivalent to a KV cache that
follows the beam's parents), and beam search and sampling walk their candidates one by one.

Weights use the checkpoint's names and layouts (PROTOCOL.md: linear weights [out, in]).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

Weights = dict[str, np.ndarray]
EPS = 1e-6


def rounded(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).astype(np.float32)


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return rounded(x.astype(np.float64) @ weight.astype(np.float64).T + bias.astype(np.float64))


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=-1, keepdims=True)
    var = ((x64 - mean) ** 2).mean(axis=-1, keepdims=True)
    return rounded((x64 - mean) / np.sqrt(var + EPS) * gamma + beta)


def add(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) + y.astype(np.float32)).astype(np.float32)


def gelu(x: np.ndarray) -> np.ndarray:
    v = x.astype(np.float64)
    return rounded(0.5 * v * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v**3))))


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, heads: int, causal: bool = False) -> np.ndarray:
    """q [nq, h] over keys k, v [nk, h]; causal: query i sees keys 0..i."""
    nq, h = q.shape
    size = h // heads
    out = np.zeros((nq, h), dtype=np.float64)
    for head in range(heads):
        cols = slice(head * size, (head + 1) * size)
        scores = q[:, cols].astype(np.float64) @ k[:, cols].astype(np.float64).T / math.sqrt(size)
        if causal:
            scores = np.where(np.tril(np.ones((nq, k.shape[0]), dtype=bool)), scores, -np.inf)
        weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
        out[:, cols] = weights @ v[:, cols].astype(np.float64) / weights.sum(axis=-1, keepdims=True)
    return rounded(out)


def pair(w: Weights, name: str) -> tuple[np.ndarray, np.ndarray]:
    return w[name + ".weight"], w[name + ".bias"]


def encoder(w: Weights, x: np.ndarray, lengths: np.ndarray, layers: int, heads: int) -> np.ndarray:
    """Post-LN BERT layers over each sequence's first len_b tokens; rows past len_b are 0."""
    hidden = np.zeros_like(x, dtype=np.float32)
    for b, length in enumerate(lengths):
        h = x[b, :length].astype(np.float32)
        for i in range(layers):
            p = f"encoder.layer.{i}."
            q = linear(h, *pair(w, p + "attention.self.query"))
            k = linear(h, *pair(w, p + "attention.self.key"))
            v = linear(h, *pair(w, p + "attention.self.value"))
            a = linear(attention(q, k, v, heads), *pair(w, p + "attention.output.dense"))
            h = layer_norm(add(h, a), *pair(w, p + "attention.output.LayerNorm"))
            f = linear(gelu(linear(h, *pair(w, p + "intermediate.dense"))), *pair(w, p + "output.dense"))
            h = layer_norm(add(h, f), *pair(w, p + "output.LayerNorm"))
        hidden[b, :length] = h
    return hidden


def decoder_stack(w: Weights, xs: np.ndarray, memory: np.ndarray, layers: int, heads: int) -> np.ndarray:
    """Pre-LN decoder layers over positions 0..T-1 of one row (causal), memory [mlen, h]; [T, h]."""
    h = xs.shape[1]
    x = xs.astype(np.float32)
    for i in range(layers):
        p = f"decoder.layers.{i}."
        qkv = linear(layer_norm(x, *pair(w, p + "self_ln")), *pair(w, p + "self_attn.qkv"))
        a = attention(qkv[:, :h], qkv[:, h:2 * h], qkv[:, 2 * h:], heads, causal=True)
        x = add(x, linear(a, *pair(w, p + "self_attn.out")))
        q = linear(layer_norm(x, *pair(w, p + "cross_ln")), *pair(w, p + "cross_attn.q"))
        kv = linear(memory, *pair(w, p + "cross_attn.kv"))
        x = add(x, linear(attention(q, kv[:, :h], kv[:, h:], heads), *pair(w, p + "cross_attn.out")))
        y = layer_norm(x, *pair(w, p + "ffn_ln"))
        x = add(x, linear(np.maximum(linear(y, *pair(w, p + "ffn.fc1")), 0), *pair(w, p + "ffn.fc2")))
    return x


@dataclass
class Search:
    """The decoding knobs of native/MODEL.md."""

    batch: int
    beam: int
    vocab: int
    steps: int
    start_id: int
    end_id: int
    length_penalty: float = 0.0
    top_k: int = 0
    top_p: float = 0.0
    temperature: float = 1.0
    stop_at_end: bool = False
    draws: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [steps·batch] fp64

    @property
    def sampling(self) -> bool:
        return self.beam == 1 and (self.top_k > 0 or self.top_p > 0)


def position_encoding(t: int, h: int) -> np.ndarray:
    half = h // 2
    d = max(half, 1)
    i = np.arange(h)
    return np.where(i < half, np.sin(t / 10000.0 ** (i / d)), np.cos(t / 10000.0 ** ((i - half) / d)))


def model_logits(w: Weights, memory: np.ndarray, memory_lengths: np.ndarray, beam: int, layers: int,
                 heads: int) -> Callable[[list[list[int]]], np.ndarray]:
    """logits_fn(histories) for the decoding model: row r's history = its input ids at steps 0..t."""
    h = w["embedding.weight"].shape[1]

    def logits(histories: list[list[int]]) -> np.ndarray:
        out = []
        for r, ids in enumerate(histories):
            xs = np.stack([rounded(w["embedding.weight"][i].astype(np.float64) * math.sqrt(h) + position_encoding(t, h))
                           for t, i in enumerate(ids)])
            b = r // beam
            x = decoder_stack(w, xs, memory[b, :memory_lengths[b]], layers, heads)[-1:]
            out.append(linear(layer_norm(x, *pair(w, "final_ln")), *pair(w, "logits"))[0])
        return np.stack(out)

    return logits


def log_softmax(logits: np.ndarray) -> np.ndarray:
    l64 = logits.astype(np.float64)
    top = l64.max()
    return l64 - (top + math.log(np.exp(l64 - top).sum()))


def beam_step(s: Search, logits: np.ndarray, cum: np.ndarray, finished: np.ndarray,
              lengths: np.ndarray) -> tuple[list[int], list[int]]:
    """One step in place on cum/finished/lengths; returns (parents j, tokens v) per row."""
    parents, tokens = [0] * (s.batch * s.beam), [0] * (s.batch * s.beam)
    for b in range(s.batch):
        candidates: list[tuple[float, int]] = []
        for j in range(s.beam):
            r = b * s.beam + j
            if finished[r]:
                candidates.append((float(cum[r]), j * s.vocab + s.end_id))
                continue
            lp = log_softmax(logits[r])
            for v in range(s.vocab):
                candidates.append((float(np.float32(np.float64(cum[r]) + lp[v])), j * s.vocab + v))
        best = sorted(candidates, key=lambda c: (-c[0], c[1]))[: s.beam]
        rows = slice(b * s.beam, (b + 1) * s.beam)
        old_finished, old_lengths = finished[rows].copy(), lengths[rows].copy()
        for i, (score, index) in enumerate(best):
            j, v = divmod(index, s.vocab)
            r = b * s.beam + i
            cum[r] = score
            finished[r] = old_finished[j] or v == s.end_id
            lengths[r] = old_lengths[j] + (0 if old_finished[j] else 1)
            parents[r], tokens[r] = j, v
    return parents, tokens


def sample_row(s: Search, logits: np.ndarray, u: float) -> tuple[int, float]:
    """(token, log p) of one live row."""
    ids = sorted(range(s.vocab), key=lambda i: (-float(logits[i]), i))
    if s.top_k > 0:
        ids = ids[: s.top_k]
    l0 = float(logits[ids[0]])
    weights = [math.exp((float(logits[i]) - l0) / s.temperature) for i in ids]
    prefix = list(np.cumsum(weights))
    kept = len(ids)
    if s.top_p > 0:
        kept = next((i + 1 for i, p in enumerate(prefix) if p / prefix[-1] >= s.top_p), len(ids))
    total = prefix[kept - 1]
    pick = next((i for i in range(kept) if prefix[i] > u * total), kept - 1)
    return ids[pick], math.log(weights[pick] / total)


def decode(s: Search, logits_fn: Callable[[list[list[int]]], np.ndarray]) -> dict[str, np.ndarray]:
    """The decoding loop and finish; outputs named as the worker's."""
    rows = s.batch * s.beam
    cum = np.where(np.arange(rows) % s.beam == 0, 0.0, -np.inf).astype(np.float32)
    finished = np.zeros(rows, dtype=bool)
    lengths = np.zeros(rows, dtype=np.int64)
    histories = [[s.start_id] for _ in range(rows)]
    step_ids: list[list[int]] = []
    parent_ids: list[list[int]] = []
    for t in range(s.steps):
        logits = logits_fn(histories)
        if s.sampling:
            tokens = []
            for b in range(s.batch):
                if finished[b]:
                    tokens.append(s.end_id)
                    continue
                token, log_p = sample_row(s, logits[b], float(s.draws[t * s.batch + b]))
                cum[b] = np.float32(np.float64(cum[b]) + log_p)
                lengths[b] += 1
                finished[b] = token == s.end_id
                tokens.append(token)
            parents = [0] * rows
        else:
            parents, tokens = beam_step(s, logits, cum, finished, lengths)
        histories = [histories[r - r % s.beam + parents[r]] + [tokens[r]] for r in range(rows)]
        step_ids.append(tokens)
        parent_ids.append(parents)
        if s.stop_at_end and finished.all():
            break
    return finish(s, np.array(step_ids), np.array(parent_ids), cum, lengths)


def finish(s: Search, step_ids: np.ndarray, parent_ids: np.ndarray, cum: np.ndarray,
           lengths: np.ndarray) -> dict[str, np.ndarray]:
    steps, rows = step_ids.shape
    scores = np.array([np.float32(float(cum[r]) / ((5.0 + lengths[r]) / 6.0) ** s.length_penalty)
                       for r in range(rows)], dtype=np.float32)
    order: list[int] = []
    for b in range(s.batch):
        beams = list(range(b * s.beam, (b + 1) * s.beam))
        order += sorted(beams, key=lambda r: -scores[r])  # stable: ties keep beam order
    tokens = np.zeros((rows, steps), dtype=np.int64)
    for out_row, r in enumerate(order):
        row = r
        for t in range(steps - 1, -1, -1):
            tokens[out_row, t] = step_ids[t, row]
            row = r - r % s.beam + parent_ids[t, row]
    return {"output_ids": tokens, "lengths": lengths[order], "cum_log_probs": cum[order],
            "scores": scores[order], "step_ids": step_ids, "parent_ids": parent_ids}
