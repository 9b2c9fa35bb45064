"""Part (f) of the self-test: torch-graph fp16 times at every shape of issue 18's H200 table, printed
next to the table's figures (INFO lines, not checks: they depend on the GPU), so one run shows
whether the peer is as strong as a careful user's PyTorch.

Encoder: BERT-base dims (12 layers, 12 x 64, inter 3072), full length. Decoding: FT's decoding
model (6 layers, 8 x 64, inter 2048, vocab 31538, mem_len 128), beam search, all steps.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from selftest_io import Model, Values, bert_weights, decoding_weights, native_config, write_decoding_checkpoint, write_encoder_checkpoint

BERT: dict[str, Any] = dict(layers=12, heads=12, head_size=64, inter_size=3072, beam=1, mem_len=0, full_length=True, precision="fp16")
FT: dict[str, Any] = dict(layers=6, heads=8, head_size=64, inter_size=2048, vocab=31538, mem_len=128, full_length=True,
          precision="fp16", length_penalty=0.6, start_id=1, end_id=2, max_seq=512)
# (peer, shape, table ms (torch-graph unless eager), iterations per sample)
ENCODER_SHAPES = [((1, 32), 0.711, 50), ((1, 128), 0.750, 50), ((8, 128), 0.993, 50), ((32, 32), 1.070, 50),
                  ((32, 128), 2.177, 20), ((32, 384), 6.302, 10)]
DECODING_SHAPES = [("torch-graph", (8, 4, 32), 22.40, 5), ("torch-eager", (8, 4, 32), 148.0, 2),
                   ("torch-graph", (1, 1, 32), 17.37, 5), ("torch-graph", (8, 1, 32), 20.25, 5),
                   ("torch-graph", (128, 4, 128), 427.0, 2), ("torch-graph", (1, 4, 128), 83.3, 2),
                   ("torch-graph", (8, 4, 128), 102.5, 2)]


def verdict(ms: float, table_ms: float) -> str:
    ratio = ms / table_ms
    if ratio <= 1.15:
        return f"{ratio:.2f}x the table: {'faster' if ratio < 0.85 else 'within 15 %'}"
    return f"{ratio:.2f}x the table: SLOWER than the table by more than 15 %"


def print_timings(test: Any) -> None:
    values = Values(99)
    workdir = test.workdir
    h = BERT["heads"] * BERT["head_size"]
    weights: Model = bert_weights(values, BERT["layers"], h, BERT["inter_size"])
    for (batch, seq), table_ms, iterations in ENCODER_SHAPES:
        c = native_config(path="encoder", batch=batch, seq=seq, max_seq=512, **BERT)
        directory = os.path.join(workdir, f"bert-b{batch}-s{seq}")
        inputs = {"encoder_input": values.uniform((batch, seq, h), 1.0), "encoder_lengths": np.full(batch, seq, np.int32)}
        write_encoder_checkpoint(directory, c, weights, inputs)
        weights = os.path.join(directory, "model.safetensors")  # the next shapes link it
        ms, _ = test.median_ms("torch-graph", directory, c, iterations)
        print(f"INFO (f) encoder b{batch} s{seq} fp16 torch-graph {ms:.3f} ms; table {table_ms} ms; {verdict(ms, table_ms)}",
              flush=True)
    h = FT["heads"] * FT["head_size"]
    weights = decoding_weights(values, FT["layers"], h, FT["inter_size"], FT["vocab"])
    for peer, (batch, beam, steps), table_ms, iterations in DECODING_SHAPES:
        c = native_config(batch=batch, beam=beam, seq=steps, **FT)
        directory = os.path.join(workdir, f"ft-b{batch}-beam{beam}-s{steps}")
        if not os.path.isdir(directory):  # the eager and graph points of a shape share it
            inputs = {"memory": values.uniform((batch, FT["mem_len"], h), 1.0),
                      "memory_lengths": np.full(batch, FT["mem_len"], np.int32)}
            write_decoding_checkpoint(directory, c, weights, inputs)
            weights = os.path.join(directory, "model.safetensors")
        ms, _ = test.median_ms(peer, directory, c, iterations)
        print(f"INFO (f) decoding b{batch} beam {beam} {steps} steps fp16 {peer} {ms:.2f} ms; table {table_ms} ms; "
              f"{verdict(ms, table_ms)}", flush=True)
