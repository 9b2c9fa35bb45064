"""The hf-generate peer (decoding path only): what most users run today, Hugging Face generate() with
beam search or sampling on an encoder-decoder model of the point's dimensions (an M2M100 config:
pre-LN layers, sinusoidal positions, ReLU FFN, sdpa attention; random weights, seeded).

The memory tensor is fed as precomputed encoder outputs, so only decoding is timed, and
min_new_tokens = max_new_tokens = seq makes every run take all steps. sdpa picks its own kernels, as a
user's run would. The memory's padding mask reaches the decoder's cross-attention through a forward
pre-hook rather than generate()'s attention_mask argument: on the H200 (torch 2.11, transformers 5.17),
beam search over precomputed encoder outputs with a padded memory made the mask builder index past the
mask's rows (CUDA "index out of bounds" in masking_utils' padding mask, from M2M100's cross-attention
mask), while full-length memory and beam 1 ran; the hook hands the decoder the same mask, its rows
repeated for the beams. Its outputs are not compared with the engine's (different weights and
semantics): only output_ids and lengths, whose row count is checked.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from checkpoint import PointConfig, config_error, load_tensors, require
from environment import compute_dtype
from errors import ENGINE, PeerError


def pad_token(config: PointConfig) -> int:
    """A token that is neither start nor end (M2M100 needs a distinct pad)."""
    return next(t for t in range(3) if t not in (config.start_id, config.end_id))


class HfGenerateUnit:
    def __init__(self, torch: Any, config: PointConfig, checkpoint: str, peer: str) -> None:
        if config.path != "decoding":
            raise config_error(f"hf-generate runs the decoding path only, got path {config.path!r}")
        from transformers import AutoModelForSeq2SeqLM, M2M100Config
        from transformers.modeling_outputs import BaseModelOutput

        self._torch = torch
        self._config = config
        dtype = compute_dtype(torch, config.precision)
        inputs = load_tensors(checkpoint, "inputs.safetensors", "cuda")
        source = f"{checkpoint}/inputs.safetensors"
        memory_len = config.mem_len if config.mem_len > 0 else config.seq
        memory = require(inputs, "memory", (config.batch, memory_len, config.hidden), source).to(dtype)
        lengths = require(inputs, "memory_lengths", (config.batch,), source)
        self._memory = memory
        # generate() lays out a batch's beams consecutively: each memory row repeated beam times.
        memory_mask = torch.arange(memory_len, device="cuda")[None, :] < lengths[:, None]
        self._decoder_memory_mask = memory_mask.repeat_interleave(config.beam, dim=0).long()
        model_config = M2M100Config(
            vocab_size=config.vocab, d_model=config.hidden, encoder_layers=1, decoder_layers=config.layers,
            encoder_attention_heads=config.heads, decoder_attention_heads=config.heads,
            encoder_ffn_dim=config.inter_size, decoder_ffn_dim=config.inter_size, activation_function="relu",
            max_position_embeddings=max(config.seq, memory_len) + 2, dropout=0.0, attention_dropout=0.0,
            activation_dropout=0.0, encoder_layerdrop=0.0, decoder_layerdrop=0.0, scale_embedding=True,
            pad_token_id=pad_token(config), bos_token_id=config.start_id, eos_token_id=config.end_id,
            decoder_start_token_id=config.start_id, forced_bos_token_id=None,
        )
        torch.manual_seed(config.seed)
        model = AutoModelForSeq2SeqLM.from_config(model_config, attn_implementation="sdpa", dtype=dtype)
        self.model = model.to("cuda").eval()
        self.model.get_decoder().register_forward_pre_hook(self._cross_attention_mask, with_kwargs=True)
        self._encoder_output_type = BaseModelOutput
        self.generate_options: dict[str, Any] = {
            "max_new_tokens": config.seq, "min_new_tokens": config.seq, "num_beams": config.beam,
            "num_return_sequences": config.beam, "do_sample": config.sampling, "use_cache": True,
        }
        if config.beam > 1:
            self.generate_options.update(length_penalty=config.length_penalty, early_stopping=False)
        if config.sampling:
            self.generate_options.update(top_k=config.top_k if config.top_k > 0 else None,
                                         top_p=config.top_p if config.top_p > 0 else None,
                                         temperature=config.temperature)
        self.notes = {"model": "M2M100 (random weights)", "attention": "sdpa (its own kernel choice)",
                      "search": "sampling" if config.sampling else "beam"}
        self.compile_s: float | None = None
        self._last: Any = None

    def _cross_attention_mask(self, _module: Any, args: tuple, kwargs: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
        """The memory mask for each decoder call, which must see batch × beam memory rows."""
        memory = kwargs.get("encoder_hidden_states")
        if memory is not None:
            rows = memory.shape[0]
            if rows != self._config.rows:
                raise PeerError(ENGINE, f"hf-generate: the decoder got {rows} memory rows, not batch × beam = {self._config.rows}")
            kwargs["encoder_attention_mask"] = self._decoder_memory_mask
        return args, kwargs

    def run(self) -> None:
        self._torch.manual_seed(self._config.seed)  # sampling draws repeat from unit to unit
        # A fresh wrapper each unit: generate() expands encoder_outputs in place by the beam count, so
        # one object passed again would grow beam-fold each unit (3 × 4^8 rows by the eighth at beam 4).
        encoder_outputs = self._encoder_output_type(last_hidden_state=self._memory)
        self._last = self.model.generate(encoder_outputs=encoder_outputs, **self.generate_options)

    def outputs(self) -> tuple[dict[str, np.ndarray], int]:
        if self._last is None:
            raise config_error("outputs requested before a run")
        ids = self._last[:, 1:].cpu().numpy().astype(np.int32)  # column 0 is the decoder start token
        if ids.shape[0] != self._config.rows:
            raise PeerError(ENGINE, f"hf-generate returned {ids.shape[0]} sequences, not batch × beam = {self._config.rows}")
        steps = ids.shape[1]
        ended = ids == self._config.end_id
        lengths = np.where(ended.any(axis=1), ended.argmax(axis=1) + 1, steps).astype(np.int32)
        return {"output_ids": ids, "lengths": lengths}, steps
