"""Token selection of the decoding path on the GPU (native/MODEL.md, "Beam search", "Sampling",
"Finish"), with the engine's exact semantics and no host synchronisation:

- beam search: candidate score = fp32(cum + log_softmax) (cum stored in fp32), a finished beam
  offers only end_id at its cum, beams > 0 start at -inf; the `beam` best per sentence by score,
  ties to the lower j·vocab + v. torch.topk alone leaves ties to the implementation, so it ranks an
  int64 key: the score's fp32 bits made order-preserving, then the reversed candidate index.
- sampling: candidates by logit (ties: lower id), top_k / top_p, the given draw u, fp64 sums.
- finish: gather-tree through parent_ids, GNMT length penalty, beams sorted by score (stable).
All state lives in static device buffers updated in place, so a step can be captured in a graph.
"""
from __future__ import annotations

from typing import Any

from checkpoint import PointConfig

LOW_32 = (1 << 32) - 1


class Search:
    def __init__(self, torch: Any, config: PointConfig, draws: Any) -> None:
        self._torch = torch
        self._config = config
        rows, steps, device = config.rows, config.seq, "cuda"
        self.cum = torch.zeros(rows, dtype=torch.float32, device=device)
        self.finished = torch.zeros(rows, dtype=torch.bool, device=device)
        self.lengths = torch.zeros(rows, dtype=torch.int32, device=device)
        self.ids = torch.full((rows,), config.start_id, dtype=torch.long, device=device)
        self.source_rows = torch.arange(rows, device=device)  # row each new beam continues
        self.step_ids = torch.zeros(steps, rows, dtype=torch.long, device=device)
        self.parent_ids = torch.zeros(steps, rows, dtype=torch.long, device=device)
        self.steps_done = torch.zeros(1, dtype=torch.long, device=device)  # 1 + first all-finished step; 0: none
        self.all_finished = torch.zeros(1, dtype=torch.bool, device=device)
        self.initial_cum = torch.where(torch.arange(rows, device=device) % config.beam == 0, 0.0, float("-inf"))
        self.sentence_base = torch.arange(rows, device=device) // config.beam * config.beam
        width = config.beam * config.vocab if not config.sampling else config.vocab
        self.reversed_index = LOW_32 - torch.arange(width, dtype=torch.long, device=device)
        self.draws = draws  # [steps, batch] fp64, or None without sampling
        count = config.top_k if config.top_k > 0 else config.vocab
        self.candidate_positions = torch.arange(count, device=device)
        self.tokens = torch.zeros(steps, rows, dtype=torch.long, device=device)  # gather-tree output

    def reset(self) -> None:
        self.cum.copy_(self.initial_cum)
        self.finished.zero_()
        self.lengths.zero_()
        self.ids.fill_(self._config.start_id)
        self.steps_done.zero_()
        self.all_finished.zero_()

    def ranked(self, scores: Any, count: int) -> Any:
        """Indices of the `count` best entries of each row of fp32 `scores`, best first, ties to the lower index."""
        torch = self._torch
        bits = scores.contiguous().view(torch.int32)
        ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF)  # int order == float order
        key = ordered.to(torch.long) * (1 << 32) + self.reversed_index
        if count == key.shape[-1]:
            top = torch.sort(key, dim=-1, descending=True).values
        else:
            top = torch.topk(key, count, dim=-1).values
        return LOW_32 - (top & LOW_32)

    def beam_step(self, logits: Any, step: Any) -> None:
        torch = self._torch
        c = self._config
        scores = torch.log_softmax(logits.float(), dim=-1).add_(self.cum[:, None])
        end_scores = torch.where(self.finished, self.cum, scores[:, c.end_id])
        scores.masked_fill_(self.finished[:, None], float("-inf"))
        scores[:, c.end_id] = end_scores
        flat = scores.view(c.batch, c.beam * c.vocab)
        best = self.ranked(flat, c.beam)  # [batch, beam]: j·vocab + v
        parents = best // c.vocab
        tokens = (best % c.vocab).view(-1)
        rows = (self.sentence_base.view(c.batch, c.beam) + parents).view(-1)
        was_finished = self.finished.index_select(0, rows)
        self.lengths.copy_(self.lengths.index_select(0, rows) + (~was_finished).to(torch.int32))
        self.finished.copy_(was_finished | (tokens == c.end_id))
        self.cum.copy_(flat.gather(1, best).view(-1))
        self.ids.copy_(tokens)
        self.source_rows.copy_(rows)
        self._record(step, tokens, parents.view(-1))

    def sample_step(self, logits: Any, step: Any) -> None:
        torch = self._torch
        c = self._config
        logits = logits.float()
        count = self.candidate_positions.shape[0]
        ids = self.ranked(logits, count)  # [batch, count]
        values = logits.gather(1, ids).double()
        weights = torch.exp((values - values[:, :1]) / c.temperature)
        prefix = weights.cumsum(dim=-1)
        if c.top_p > 0:
            reached = (prefix / prefix[:, -1:] < c.top_p).sum(dim=-1, keepdim=True) + 1
            kept = reached.clamp(max=count)
        else:
            kept = torch.full_like(prefix[:, :1], count, dtype=torch.long)
        kept_total = prefix.gather(1, kept - 1)
        threshold = self.draws.index_select(0, step).view(c.batch, 1) * kept_total
        below = (prefix <= threshold) & (self.candidate_positions[None, :] < kept)
        pick = torch.minimum(below.sum(dim=-1, keepdim=True), kept - 1)
        chosen = ids.gather(1, pick).view(-1)
        log_p = torch.log(weights.gather(1, pick) / kept_total).view(-1)
        live = ~self.finished
        self.ids.copy_(torch.where(live, chosen, c.end_id))
        self.cum.copy_(torch.where(live, (self.cum.double() + log_p).float(), self.cum))
        self.lengths.add_(live.to(torch.int32))
        self.finished.copy_(self.finished | (self.ids == c.end_id))
        self._record(step, self.ids, torch.zeros_like(self.ids))

    def _record(self, step: Any, tokens: Any, parents: Any) -> None:
        torch = self._torch
        self.step_ids.index_copy_(0, step, tokens.view(1, -1))
        self.parent_ids.index_copy_(0, step, parents.view(1, -1))
        self.all_finished.copy_(self.finished.all().view(1))
        first = self.all_finished & (self.steps_done == 0)
        self.steps_done.copy_(torch.where(first, step + 1, self.steps_done))

    def finish(self, executed: int) -> dict[str, Any]:
        """Gather-tree over the `executed` steps, scores, and the beams of each sentence by score."""
        torch = self._torch
        c = self._config
        rows = torch.arange(c.rows, device="cuda")
        for t in range(executed - 1, -1, -1):
            self.tokens[t] = self.step_ids[t].index_select(0, rows)
            rows = self.sentence_base + self.parent_ids[t].index_select(0, rows)
        penalty = torch.pow((5.0 + self.lengths.double()) / 6.0, c.length_penalty)
        scores = (self.cum.double() / penalty).float()
        order = torch.sort(scores.view(c.batch, c.beam), dim=1, descending=True, stable=True).indices
        ranked = (self.sentence_base.view(c.batch, c.beam) + order).view(-1)
        return {
            "output_ids": self.tokens[:executed].index_select(1, ranked).t(),
            "lengths": self.lengths.index_select(0, ranked),
            "cum_log_probs": self.cum.index_select(0, ranked),
            "scores": scores.index_select(0, ranked),
        }
