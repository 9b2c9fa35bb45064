"""The decoder and decoding peers: one unit = the engine's unit (PROTOCOL.md, "Units") on the FT
decoder stack of ft_decoder.py and the search of search.py.

torch-eager runs the step loop from Python (attention over the written cache prefix);
torch-graph captures the unit's prologue (memory K/V, search reset), one decoding step (two when
beam > 1: the caches alternate) and the finish as CUDA graphs and replays the step `seq` times;
torch-compile calls torch.compile(max-autotune) of the same step. No step reads anything back to
the host, except that with stop_at_end the loop looks at the all-finished flag of the step
before the one just queued (a pinned copy), so the GPU always has a step queued.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from checkpoint import PointConfig, check_model_config, config_error, load_tensors, require
from environment import compute_dtype
from ft_decoder import DecoderStack, DecodingHead
from graphs import capture, compile_max_autotune, warm_up
from search import Search


class DecodingUnit:
    """The decoder path (`seq` steps over DecoderInput, no search) or the decoding path."""

    def __init__(self, torch: Any, config: PointConfig, checkpoint: str, peer: str) -> None:
        expected = {"model_type": "ftbench-decoding", "hidden_size": config.hidden, "num_layers": config.layers,
                    "num_heads": config.heads, "head_size": config.head_size, "intermediate_size": config.inter_size}
        if config.path == "decoding":  # the decoder path has no embedding or logits
            expected["vocab_size"] = config.vocab
        check_model_config(checkpoint, expected)
        self._torch = torch
        self._config = config
        self._decoding = config.path == "decoding"
        dtype = compute_dtype(torch, config.precision)
        weights = load_tensors(checkpoint, "model.safetensors", "cuda")
        inputs = load_tensors(checkpoint, "inputs.safetensors", "cuda")
        source = f"{checkpoint}/inputs.safetensors"
        memory_len = config.mem_len if config.mem_len > 0 else config.seq
        memory = require(inputs, "memory", (config.batch, memory_len, config.hidden), source)
        self.memory_lengths = require(inputs, "memory_lengths", (config.batch,), source).to(torch.int32)
        model_source = f"{checkpoint}/model.safetensors"
        self.stack = DecoderStack(torch, config, weights, memory, self.memory_lengths, dtype, model_source)
        self.step_index = torch.arange(config.seq, device="cuda").view(config.seq, 1)
        self.step_counter = torch.zeros(1, dtype=torch.long, device="cuda")
        if self._decoding:
            self.head = DecodingHead(torch, config, weights, dtype, model_source)
            draws = None
            if config.sampling:
                draws = require(inputs, "sampling_draws", (config.seq * config.batch,), source).to(torch.float64).view(config.seq, config.batch)
            self.search = Search(torch, config, draws)
            self._flags = [torch.zeros(1, dtype=torch.bool, pin_memory=True) for _ in range(2)]
            self._flag_events = [torch.cuda.Event() for _ in range(2)]
        else:
            steps_shape = (config.seq, config.rows, config.hidden)
            self.decoder_input = require(inputs, "decoder_input", steps_shape, source).to(dtype)
            self.hidden = torch.zeros(config.rows, config.hidden, dtype=dtype, device="cuda")
        del weights, inputs
        self.notes = {"kv_cache": "static", "attention": "sdpa",
                      "search": "sampling" if config.sampling else "beam" if self._decoding else "none"}
        self.compile_s: float | None = None
        self._final: dict[str, Any] = {}
        self._executed = 0
        self._ran = False
        self._run_step: Callable[[int], None] = self._eager_step
        self._prologue_graph: Any = None
        self._finish_graph: Any = None
        if peer == "torch-graph":
            self._capture()
        elif peer == "torch-compile":
            self._compile()

    # --- one step -------------------------------------------------------------------------------
    def _step(self, step: Any, prefix: int, mask: Any) -> None:
        c = self._config
        if not self._decoding:
            x = self.decoder_input.index_select(0, step).view(c.rows, c.hidden)
            self.hidden.copy_(self.stack.step(x, step, prefix, mask))
            return
        x = self.head.embed(self.search.ids, step)
        logits = self.head.logits(self.stack.step(x, step, prefix, mask))
        if c.sampling:
            self.search.sample_step(logits, step)
        else:
            self.search.beam_step(logits, step)
            if c.beam > 1:
                self.stack.reorder(self.search.source_rows)

    def _eager_step(self, t: int) -> None:
        self._step(self.step_index[t], t + 1, None)

    def _static_step(self) -> None:
        """A step whose index is the device counter: fixed shapes, so it can be captured or compiled."""
        self._step(self.step_counter, self._config.seq, self.stack.self_mask(self.step_counter))
        self.step_counter.add_(1)

    def _prologue(self) -> None:
        self.stack.start()
        self.step_counter.zero_()
        if self._decoding:
            self.search.reset()

    def _finish(self) -> dict[str, Any]:
        return self.search.finish(self._executed)

    # --- modes ----------------------------------------------------------------------------------
    def _capture(self) -> None:
        torch = self._torch
        start = time.perf_counter()
        self._prologue_graph, _ = capture(torch, self._prologue)

        def two_steps() -> None:  # both cache parities, before either step graph is captured
            self._prologue()
            self._static_step()
            self._static_step()

        warm_up(torch, two_steps, calls=2)
        self._prologue()
        graphs = []
        for _ in self.stack.caches:  # one graph per cache parity: step t replays graphs[t % count]
            graph, _ = capture(torch, self._static_step, warm=False)
            graphs.append(graph)
        self._run_step = lambda t: graphs[t % len(graphs)].replay()
        if self._decoding and not self._config.stop_at_end:
            self._executed = self._config.seq
            self._finish_graph, self._final = capture(torch, self._finish)
        torch.cuda.synchronize()
        self.compile_s = time.perf_counter() - start
        self.notes["graphs"] = f"prologue, {len(graphs)} step" + (", finish" if self._finish_graph else "")

    def _compile(self) -> None:
        torch = self._torch
        compiled = compile_max_autotune(torch, self._static_step)

        def step(_: int) -> None:
            torch.compiler.cudagraph_mark_step_begin()
            compiled()

        self._run_step = step
        # Inductor skips its own CUDA graphs for functions that mutate their inputs (the caches and
        # the search state do): what a user of torch.compile gets, so it is recorded, not worked around.
        self.notes["compile"] = "max-autotune"
        start = time.perf_counter()
        for _ in range(2):  # both cache parities and the autotuning happen in these runs
            self.run()
        torch.cuda.synchronize()
        self.compile_s = time.perf_counter() - start

    # --- the unit -------------------------------------------------------------------------------
    def run(self) -> None:
        self._ran = True
        if self._prologue_graph is not None:
            self._prologue_graph.replay()
        else:
            self._prologue()
        self._executed = self._steps()
        if not self._decoding:
            return
        if self._finish_graph is not None:
            self._finish_graph.replay()
        else:
            self._final = self._finish()

    def _steps(self) -> int:
        """Runs the steps; returns how many ran (with stop_at_end, one past the all-finished one)."""
        c = self._config
        for t in range(c.seq):
            self._run_step(t)
            if not (self._decoding and c.stop_at_end):
                continue
            slot = t % 2
            self._flags[slot].copy_(self.search.all_finished, non_blocking=True)
            self._flag_events[slot].record()
            if t >= 1:
                self._flag_events[1 - slot].synchronize()
                if bool(self._flags[1 - slot]):
                    return t + 1
        return c.seq

    def outputs(self) -> tuple[dict[str, np.ndarray], int]:
        torch = self._torch
        if not self._ran:
            raise config_error("outputs requested before a run")
        torch.cuda.synchronize()
        lengths = self.memory_lengths.cpu().numpy()
        if not self._decoding:
            return {"hidden": self.hidden.float().cpu().numpy(), "lengths": lengths}, self._config.seq
        done = int(self.search.steps_done.item())
        steps = done if self._config.stop_at_end and done > 0 else self._config.seq

        def host(tensor: Any, dtype: Any) -> np.ndarray:
            return tensor.to(dtype).cpu().numpy()

        final = self._final
        return {
            "output_ids": host(final["output_ids"][:, :steps], torch.int32),
            "lengths": host(final["lengths"], torch.int32),
            "cum_log_probs": host(final["cum_log_probs"], torch.float32),
            "scores": host(final["scores"], torch.float32),
            "step_ids": host(self.search.step_ids[:steps], torch.int32),
            "parent_ids": host(self.search.parent_ids[:steps], torch.int32),
        }, steps
