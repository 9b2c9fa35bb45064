"""The encoder peer: Hugging Face BertModel (sdpa attention) loaded from the point's checkpoint, its
BertEncoder run on the point's input hidden states with the extended attention mask of the input
lengths; rows past a sequence's length are zeroed (native/MODEL.md, "Encoder").

torch-eager calls the encoder; torch-graph replays one captured forward; torch-compile calls
torch.compile(max-autotune) of it.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from checkpoint import PointConfig, check_model_config, config_error, load_tensors, require
from environment import compute_dtype
from graphs import capture, compile_max_autotune, timed_warm_up


class EncoderUnit:
    def __init__(self, torch: Any, config: PointConfig, checkpoint: str, peer: str) -> None:
        from transformers import BertModel

        check_model_config(checkpoint, {
            "model_type": "bert", "hidden_size": config.hidden, "num_hidden_layers": config.layers,
            "num_attention_heads": config.heads, "intermediate_size": config.inter_size})
        self._torch = torch
        dtype = compute_dtype(torch, config.precision)
        model = BertModel.from_pretrained(checkpoint, attn_implementation="sdpa", dtype=dtype)
        # Only the layer stack runs (the engine has no embeddings); the rest is never moved to the GPU.
        self.encoder = model.encoder.to("cuda").eval()
        source = f"{checkpoint}/inputs.safetensors"
        inputs = load_tensors(checkpoint, "inputs.safetensors", "cuda")
        shape = (config.batch, config.seq, config.hidden)
        self.hidden_states = require(inputs, "encoder_input", shape, source).to(dtype)
        self.lengths = require(inputs, "encoder_lengths", (config.batch,), source).to(torch.int32)
        valid = torch.arange(config.seq, device="cuda")[None, :] < self.lengths[:, None]
        self.row_mask = valid[:, :, None].to(dtype)
        # HF's extended mask: 0 where attended, the dtype's minimum where masked. Without padding a
        # user passes none (as HF's own mask helpers do), which lets sdpa pick its fastest kernel.
        padded = bool((self.lengths < config.seq).any())
        self.attention_mask = (1.0 - valid[:, None, None, :].to(dtype)) * torch.finfo(dtype).min if padded else None
        self.notes = {"attention": "sdpa", "mask": "extended (padded)" if padded else "none (full length)"}
        self.compile_s: float | None = None
        self._graph: Any = None
        self._compiled: Any = None
        self._last: Any = None
        self._ran = False
        if peer == "torch-graph":
            start = time.perf_counter()
            self._graph, self._last = capture(torch, self.forward)
            torch.cuda.synchronize()
            self.compile_s = time.perf_counter() - start
        elif peer == "torch-compile":
            self._compiled = compile_max_autotune(torch, self.forward)
            self.compile_s = timed_warm_up(torch, self._compiled)

    def forward(self) -> Any:
        hidden = self.encoder(hidden_states=self.hidden_states, attention_mask=self.attention_mask)[0]
        return hidden * self.row_mask

    def run(self) -> None:
        self._ran = True
        if self._graph is not None:
            self._graph.replay()
        elif self._compiled is not None:
            self._torch.compiler.cudagraph_mark_step_begin()
            self._last = self._compiled()
        else:
            self._last = self.forward()

    def outputs(self) -> tuple[dict[str, np.ndarray], int]:
        if not self._ran:
            raise config_error("outputs requested before a run")
        self._torch.cuda.synchronize()
        hidden = self._last.float().cpu().numpy()
        return {"hidden": hidden, "lengths": self.lengths.cpu().numpy()}, 1
