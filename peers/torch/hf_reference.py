"""Hugging Face's own output for a user's checkpoint (issue 19's parity reference): the `hf_hidden`
request of PROTOCOL.md. It loads the folder the runner's `--model` names with transformers'
AutoModel (the family's base model; a fine-tuned head is dropped), in fp32, on CUDA when there is one
(TF32 off, so fp32 means IEEE fp32) else on the CPU, in eval mode, with textbook (eager) attention,
and returns last_hidden_state for the point's ids with the attention mask of its lengths; rows past
a sequence's length are set to 0 (only the valid tokens are compared). The model is freed after
every request: the engine needs the device's memory for the points that follow.
"""
from __future__ import annotations

import gc
import os
from typing import Any

import numpy as np

from environment import optional_module
from errors import UNAVAILABLE, PeerError, config_error


def token_rows(request: dict[str, Any]) -> tuple[list[list[int]], list[int]]:
    """ids [batch][seq] (all rows alike, ids >= 0) and lengths [batch] (1..seq), checked."""
    ids, lengths = request.get("ids"), request.get("lengths")
    if not isinstance(ids, list) or not ids or not all(isinstance(row, list) for row in ids):
        raise config_error("ids must be a non-empty list of lists of token ids")
    seq = len(ids[0])
    if seq == 0 or any(len(row) != seq for row in ids):
        raise config_error("ids must have rows of one length (at least one id)")
    if any(not isinstance(i, int) or isinstance(i, bool) or i < 0 for row in ids for i in row):
        raise config_error("ids must be non-negative integers")
    if not isinstance(lengths, list) or len(lengths) != len(ids) or any(
            not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= seq for n in lengths):
        raise config_error(f"lengths must list one length 1..{seq} per row of ids")
    return ids, lengths


def hf_hidden(request: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """last_hidden_state [batch, seq, h] float32 of the request's model and ids, and what computed it."""
    model_dir = request.get("model")
    if not isinstance(model_dir, str) or not os.path.isfile(os.path.join(model_dir, "config.json")):
        raise config_error(f"model must be a checkpoint folder with a config.json, got {model_dir!r}")
    ids, lengths = token_rows(request)
    torch = optional_module("torch")
    transformers = optional_module("transformers") if torch is not None else None
    if torch is None or transformers is None:
        raise PeerError(UNAVAILABLE, f"python3 has no {'torch' if torch is None else 'transformers'}")
    torch.set_grad_enabled(False)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model = transformers.AutoModel.from_pretrained(model_dir, attn_implementation="eager")
    try:
        # AutoModel may keep the file's dtype (transformers 5 loads "auto"): fp32 is asked for here.
        vocab = model.config.vocab_size
        if max(max(row) for row in ids) >= vocab:
            # On CUDA an id past the table is a device-side assert that would end the worker's usefulness.
            raise config_error(f"ids must be below the model's vocab_size {vocab}")
        model = model.to(device=device, dtype=torch.float32).eval()
        seq = len(ids[0])
        mask = torch.tensor([[1 if s < n else 0 for s in range(seq)] for n in lengths], device=device)
        out = model(input_ids=torch.tensor(ids, device=device), attention_mask=mask).last_hidden_state
        hidden = (out * mask.unsqueeze(-1).to(out.dtype)).float().cpu().numpy()
    finally:
        del model
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()
    about = {"transformers": transformers.__version__, "torch": torch.__version__.split("+")[0], "device": device}
    return {"hidden": np.ascontiguousarray(hidden, dtype=np.float32)}, about
