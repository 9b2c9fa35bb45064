"""Checks of the self-test's numpy reference that need no torch or GPU (run: python3 peers/torch/test_reference.py):
beam search against brute-force enumeration on a tiny vocab, sampling on hand-worked cases, and the
order-preserving int64 key that search.py ranks candidates by."""
from __future__ import annotations

import math
import sys

import numpy as np

from selftest_reference import Search, beam_step, decode, log_softmax, sample_row


def table_logits(vocab: int, seed: int):
    """A 'model' whose logits depend on the whole history through a seeded table."""
    cache: dict[tuple[int, ...], np.ndarray] = {}

    def row(history: tuple[int, ...]) -> np.ndarray:
        if history not in cache:
            rng = np.random.default_rng([seed, *history])
            cache[history] = rng.normal(0.0, 2.0, vocab).astype(np.float32)
        return cache[history]

    return lambda histories: np.stack([row(tuple(h)) for h in histories]), row


def brute_force(s: Search, row) -> list[tuple[float, list[int]]]:
    """Every hypothesis of s.steps steps (finished ones only extend with end_id), best first."""
    hypotheses = [(np.float32(0.0), [s.start_id], False)]
    for _ in range(s.steps):
        grown = []
        for cum, history, done in hypotheses:
            if done:
                grown.append((cum, history + [s.end_id], True))
                continue
            lp = log_softmax(row(tuple(history)))
            for v in range(s.vocab):
                grown.append((np.float32(np.float64(cum) + lp[v]), history + [v], v == s.end_id))
        hypotheses = grown
    return sorted(((float(c), h[1:]) for c, h, _ in hypotheses), key=lambda x: -x[0])


def check_beam_search_is_exhaustive_when_wide() -> None:
    for seed in range(5):
        s = Search(batch=1, beam=16, vocab=4, steps=3, start_id=0, end_id=2)
        logits_fn, row = table_logits(s.vocab, seed)
        out = decode(s, logits_fn)
        finite = [(float(c), list(ids)) for c, ids in zip(out["cum_log_probs"], out["output_ids"]) if np.isfinite(c)]
        expected = brute_force(s, row)[: s.beam]
        assert [ids for _, ids in finite] == [ids for _, ids in expected], (seed, finite, expected)
        assert np.allclose([c for c, _ in finite], [c for c, _ in expected], rtol=0, atol=0)


def check_finished_beams_and_ties() -> None:
    s = Search(batch=1, beam=2, vocab=4, steps=1, start_id=0, end_id=3)
    cum = np.array([-1.0, -1.0], dtype=np.float32)
    finished = np.array([True, True])
    lengths = np.array([2, 3])
    parents, tokens = beam_step(s, np.zeros((2, 4), dtype=np.float32), cum, finished, lengths)
    assert parents == [0, 1] and tokens == [3, 3] and list(lengths) == [2, 3], (parents, tokens, lengths)
    # Equal scores: the lower j·vocab + v wins (beam 0's token 1 before beam 1's token 0).
    s = Search(batch=1, beam=2, vocab=4, steps=1, start_id=0, end_id=3)
    cum = np.array([0.0, 0.0], dtype=np.float32)
    logits = np.array([[0, 5, 0, 0], [5, 0, 0, 0]], dtype=np.float32)
    parents, tokens = beam_step(s, logits, cum, np.array([False, False]), np.array([0, 0]))
    assert (parents, tokens) == ([0, 1], [1, 0]), (parents, tokens)


def check_sampling_by_hand() -> None:
    logits = np.array([1, 3, 2, 3], dtype=np.float32)
    s = Search(batch=1, beam=1, vocab=4, steps=1, start_id=0, end_id=0, top_k=2)
    assert sample_row(s, logits, 0.4) == (1, math.log(0.5))  # tie: lower id first
    assert sample_row(s, logits, 0.6) == (3, math.log(0.5))
    s = Search(batch=1, beam=1, vocab=4, steps=1, start_id=0, end_id=0, top_p=0.5)
    token, log_p = sample_row(s, logits, 0.99)  # nucleus = ids 1, 3 (mass 0.799 >= 0.5)
    assert token == 3 and abs(log_p - math.log(0.5)) < 1e-15, (token, log_p)


def check_rank_key() -> None:
    """search.py's key: fp32 bits made order-preserving, then the reversed index (numpy mirror)."""
    rng = np.random.default_rng(7)
    scores = rng.choice(np.array([-np.inf, -3.5, -1.0, -0.25, 0.0, 2.0], dtype=np.float32), size=(4, 50))
    bits = scores.view(np.int32)
    ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF)
    key = ordered.astype(np.int64) * (1 << 32) + ((1 << 32) - 1 - np.arange(50))
    top = -np.sort(-key, axis=1)[:, :7]
    index = (1 << 32) - 1 - (top & ((1 << 32) - 1))
    for r in range(4):
        expected = sorted(range(50), key=lambda i: (-scores[r, i], i))[:7]
        assert list(index[r]) == expected, (r, list(index[r]), expected)


def main() -> int:
    checks = [check_beam_search_is_exhaustive_when_wide, check_finished_beams_and_ties, check_sampling_by_hand,
              check_rank_key]
    failed = 0
    for check in checks:
        try:
            check()
            print(f"PASS {check.__name__}")
        except AssertionError as error:
            failed += 1
            print(f"FAIL {check.__name__}: {error}")
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
