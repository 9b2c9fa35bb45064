"""Self-test of the torch peer worker on a CUDA machine: `python3 peers/torch/selftest.py` (exit 0 only
if every check passes; one line per check). It writes tiny checkpoints with random weights, spawns
worker.py and speaks PROTOCOL.md to it:
  (a) encoder torch-eager / torch-graph vs a float64 numpy reference of native/MODEL.md;
  (b) decoding (greedy, beam 4, top-k, top-p, stop_at_end) ids equal to the reference, torch-graph
      ids equal to torch-eager; the decoder path's hidden state;
  (c) measure (cold and hot); (d) coded errors (OOM, bad configs) and the worker staying usable;
  (e) hf-generate; torch-compile on tiny shapes (skip with --no-compile);
  (g) hf_hidden (a --model checkpoint's parity reference) on the committed transformers-made fixtures
      (test/fixtures/checkpoints/) against their float64 expected.json, and its errors;
  (f) INFO lines: torch-graph fp16 times at the issue's H200 shapes (skip with --no-timings).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import traceback
from typing import Any, Callable

import numpy as np

import selftest_reference as ref
from selftest_io import (Values, WorkerClient, bert_weights, decoding_weights, native_config, read_outputs,
                         write_decoding_checkpoint, write_encoder_checkpoint, write_model, write_safetensors)

ENCODER = dict(layers=2, heads=4, head_size=8, inter_size=64, batch=3, seq=10, mem_len=0, beam=1)
DECODING = dict(layers=2, heads=4, head_size=8, inter_size=64, vocab=16, batch=3, seq=8, mem_len=6)
DECODING_CASES: dict[str, dict[str, Any]] = {
    "greedy": dict(beam=1),
    "beam 4": dict(beam=4),
    "top_k 5, temperature 0.7": dict(beam=1, top_k=5, temperature=0.7),
    "top_p 0.8": dict(beam=1, top_p=0.8),
    "beam 2, stop_at_end, 16 steps": dict(beam=2, seq=16, stop_at_end=True),
    "top_k 5, stop_at_end, 16 steps": dict(beam=1, top_k=5, seq=16, stop_at_end=True),
}
INT_OUTPUTS = ("output_ids", "lengths", "step_ids", "parent_ids")


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
        self.passed += ok
        self.failed += not ok
        return ok

    def section(self, name: str, body: Callable[[], None]) -> None:
        try:
            body()
        except Exception as error:  # a broken section is one failure; the others still run
            traceback.print_exc(file=sys.stderr)
            self.check(name, False, f"{type(error).__name__}: {' '.join(str(error).split())}")


def relative_l2(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.linalg.norm(actual.astype(np.float64) - expected) / max(np.linalg.norm(expected), 1e-30))


class SelfTest:
    def __init__(self, workdir: str, client: WorkerClient, checks: Checks) -> None:
        self.workdir = workdir
        self.client = client
        self.checks = checks
        self.values = Values(2024)
        self.runs = 0

    def point(self, peer: str, checkpoint: str, config: dict[str, Any], units: int = 1) -> tuple[dict[str, np.ndarray], int]:
        """load, `units` runs, outputs (the last unit's); raises with the worker's reply on any failure."""
        reply = self.client.request("load", peer=peer, checkpoint=checkpoint, config={**config, "variant": peer})
        if not reply["ok"]:
            raise RuntimeError(f"load {peer}: {reply}")
        for _ in range(units):
            reply = self.client.request("run")
            if not reply["ok"]:
                raise RuntimeError(f"run {peer}: {reply}")
        self.runs += 1
        out_dir = os.path.join(self.workdir, f"out-{self.runs}")
        reply = self.client.request("outputs", dir=out_dir)
        if not reply["ok"]:
            raise RuntimeError(f"outputs {peer}: {reply}")
        return read_outputs(out_dir, reply["files"]), reply["steps_run"]

    # (a) ---------------------------------------------------------------------------------------
    def encoder(self, compile_too: bool) -> None:
        for full in (False, True):
            c = native_config(path="encoder", **ENCODER, full_length=full)
            h = c["heads"] * c["head_size"]
            weights = bert_weights(self.values, c["layers"], h, c["inter_size"])
            x = self.values.uniform((c["batch"], c["seq"], h), 1.0)
            lengths = np.full(c["batch"], c["seq"], np.int32) if full else np.array([10, 6, 7], np.int32)
            directory = os.path.join(self.workdir, f"encoder-{'full' if full else 'padded'}")
            write_encoder_checkpoint(directory, c, weights, {"encoder_input": x, "encoder_lengths": lengths})
            expected = ref.encoder(weights, x, lengths, c["layers"], c["heads"]).astype(np.float64)
            peers = ["torch-eager", "torch-graph"] + (["torch-compile"] if compile_too and not full else [])
            for peer in peers:
                for precision, tolerance in (("fp32", 1e-5), ("fp16", 2e-3)):
                    if peer == "torch-compile" and precision == "fp16":
                        continue
                    out, _ = self.point(peer, directory, {**c, "precision": precision})
                    error = relative_l2(out["hidden"], expected)
                    ok = error <= tolerance and np.array_equal(out["lengths"], lengths)
                    label = f"(a) encoder {'full' if full else 'padded'} {peer} {precision}"
                    self.checks.check(label, ok, f"relative L2 {error:.2e} (limit {tolerance:g})")

    # (g) ---------------------------------------------------------------------------------------
    def hf_hidden(self) -> None:
        fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "checkpoints")
        for family in ("bert", "roberta", "distilbert"):
            folder = os.path.join(fixtures, family)
            with open(os.path.join(folder, "expected.json")) as f:
                expected = json.load(f)
            out_dir = os.path.join(self.workdir, f"hf-{family}")
            reply = self.client.request("hf_hidden", model=folder, ids=expected["ids"], lengths=expected["lengths"], dir=out_dir)
            if not reply["ok"]:
                raise RuntimeError(f"hf_hidden {family}: {reply}")
            hidden = read_outputs(out_dir, reply["files"])["hidden"]
            error = relative_l2(hidden, np.array(expected["last_hidden_state"], np.float64))
            ok = error <= 1e-5 and reply["device"] == "cuda"
            self.checks.check(f"(g) hf_hidden {family} fp32 on {reply['device']} = expected.json", ok, f"relative L2 {error:.2e} (limit 1e-05)")
        reply = self.client.request("hf_hidden", model=self.workdir, ids=[[2, 3]], lengths=[2], dir=self.workdir)
        self.checks.check("(g) hf_hidden of a folder without config.json -> ERR_FTB_CONFIG", reply.get("code") == "ERR_FTB_CONFIG", str(reply.get("error")))
        reply = self.client.request("hf_hidden", model=os.path.join(fixtures, "bert"), ids=[[2, 3]], lengths=[3], dir=self.workdir)
        self.checks.check("(g) hf_hidden with a length past the ids -> ERR_FTB_CONFIG", reply.get("code") == "ERR_FTB_CONFIG", str(reply.get("error")))

    # (b) ---------------------------------------------------------------------------------------
    def decoding_checkpoint(self) -> tuple[str, dict[str, np.ndarray], dict[str, np.ndarray]]:
        c = native_config(**DECODING)
        h = c["heads"] * c["head_size"]
        weights = decoding_weights(self.values, c["layers"], h, c["inter_size"], c["vocab"])
        # Token identity outweighs the positions (outputs vary from step to step) and end_id comes up
        # often enough that beams finish at different steps and stop_at_end stops early.
        weights["embedding.weight"] *= 3.0
        weights["logits.bias"][c["end_id"]] += 2.0
        steps = max(case.get("seq", c["seq"]) for case in DECODING_CASES.values())
        inputs = {
            "memory": self.values.uniform((c["batch"], c["mem_len"], h), 1.0),
            "memory_lengths": np.array([6, 3, 5], np.int32),
            "decoder_input": self.values.uniform((c["seq"], c["batch"] * 2, h), 1.0),  # decoder path, beam 2
            "sampling_draws": self.values.draws(steps * c["batch"]),
        }
        directory = os.path.join(self.workdir, "decoding")
        write_decoding_checkpoint(directory, c, weights, inputs)
        return directory, weights, inputs

    def decoding(self, compile_too: bool) -> None:
        directory, weights, inputs = self.decoding_checkpoint()
        for name, case in DECODING_CASES.items():
            c = native_config(**{**DECODING, **case})
            # The draws tensor must hold exactly seq·batch values for the point: a per-case copy.
            case_dir = self.with_draws(directory, inputs, c)
            logits_fn = ref.model_logits(weights, inputs["memory"], inputs["memory_lengths"], c["beam"], c["layers"],
                                         c["heads"])
            search = ref.Search(batch=c["batch"], beam=c["beam"], vocab=c["vocab"], steps=c["seq"], start_id=c["start_id"],
                                end_id=c["end_id"], length_penalty=float(np.float32(c["length_penalty"])),
                                top_k=c["top_k"], top_p=float(np.float32(c["top_p"])),
                                temperature=float(np.float32(c["temperature"])), stop_at_end=c["stop_at_end"],
                                draws=inputs["sampling_draws"])
            expected = ref.decode(search, logits_fn)
            eager: dict[str, np.ndarray] = {}
            peers = ["torch-eager", "torch-graph"] + (["torch-compile"] if compile_too and name == "beam 4" else [])
            for peer in peers:
                out, steps = self.point(peer, case_dir, c)
                same = [k for k in INT_OUTPUTS if np.array_equal(out[k], expected[k])]
                floats = max(float(np.max(np.abs(out[k] - expected[k]) / np.maximum(np.abs(expected[k]), 1.0)))
                             for k in ("cum_log_probs", "scores"))
                finished = int(np.sum(expected["output_ids"][:, -1] == c["end_id"]))
                detail = (f"steps_run {steps}/{len(expected['step_ids'])}, ids equal: {', '.join(same) or 'none'}; "
                          f"cum/scores max rel {floats:.1e}; {finished} of {len(expected['lengths'])} beams ended")
                ok = len(same) == len(INT_OUTPUTS) and steps == len(expected["step_ids"]) and floats <= 1e-5
                self.checks.check(f"(b) decoding {name} {peer} fp32 = reference", ok, detail)
                if peer == "torch-eager":
                    eager = out
                else:
                    ok = all(np.array_equal(out[k], eager[k]) for k in INT_OUTPUTS)
                    self.checks.check(f"(b) decoding {name} {peer} ids = torch-eager", ok)
        self.decoder_path(directory, weights, inputs)

    def with_draws(self, directory: str, inputs: dict[str, np.ndarray], c: dict[str, Any]) -> str:
        case_dir = os.path.join(self.workdir, f"decoding-seq{c['seq']}")
        if not os.path.isdir(case_dir):
            os.makedirs(case_dir)
            write_model(case_dir, os.path.join(directory, "model.safetensors"))
            shutil.copy(os.path.join(directory, "config.json"), case_dir)
            trimmed = {**inputs, "sampling_draws": inputs["sampling_draws"][: c["seq"] * c["batch"]]}
            write_safetensors(os.path.join(case_dir, "inputs.safetensors"), trimmed)
        return case_dir

    def decoder_path(self, directory: str, weights: dict[str, np.ndarray], inputs: dict[str, np.ndarray]) -> None:
        c = native_config(**{**DECODING, "path": "decoder", "beam": 2})
        case_dir = self.with_draws(directory, inputs, c)
        expected = np.stack([
            ref.decoder_stack(weights, inputs["decoder_input"][:, r], inputs["memory"][r // 2, :inputs["memory_lengths"][r // 2]],
                              c["layers"], c["heads"])[-1]
            for r in range(c["batch"] * 2)]).astype(np.float64)
        for peer in ("torch-eager", "torch-graph"):
            out, _ = self.point(peer, case_dir, c)
            error = relative_l2(out["hidden"], expected)
            self.checks.check(f"(b) decoder path {peer} fp32 hidden", error <= 1e-5, f"relative L2 {error:.2e}")

    # (c) (d) (e) -------------------------------------------------------------------------------
    def timing(self) -> None:
        directory = os.path.join(self.workdir, "decoding-seq8")
        c = native_config(**{**DECODING, "beam": 4})
        for peer in ("torch-eager", "torch-graph"):
            self.point(peer, directory, c)
            cold = self.client.request("measure", iterations=3, flush_l2=True)
            hot = self.client.request("measure", iterations=3, flush_l2=False)
            ok = all(r["ok"] and r["ms"] > 0 and r["sm_clock_mhz"] >= 0 for r in (cold, hot))
            detail = f"cold {cold.get('ms', 0):.3f} ms, hot {hot.get('ms', 0):.3f} ms, SM {hot.get('sm_clock_mhz')} MHz"
            self.checks.check(f"(c) measure {peer}", ok, detail)

    def errors(self) -> None:
        directory = os.path.join(self.workdir, "decoding-seq8")
        base = native_config(**{**DECODING, "beam": 4})
        bad = {
            "precision fp8": ("torch-eager", directory, {**base, "precision": "fp8"}),
            "hf-generate on the encoder path": ("hf-generate", os.path.join(self.workdir, "encoder-full"),
                                                native_config(path="encoder", **ENCODER, full_length=True)),
            "layers differ from the checkpoint": ("torch-eager", directory, {**base, "layers": 3}),
            "missing checkpoint": ("torch-eager", os.path.join(self.workdir, "nowhere"), base),
            "top_k with beam 4": ("torch-eager", directory, {**base, "top_k": 4}),
        }
        for name, (peer, checkpoint, config) in bad.items():
            reply = self.client.request("load", peer=peer, checkpoint=checkpoint, config=config)
            ok = not reply["ok"] and reply["code"] == "ERR_FTB_CONFIG"
            self.checks.check(f"(d) {name} -> ERR_FTB_CONFIG", ok, str(reply.get("error")))
        self.client.request("release")
        reply = self.client.request("measure", iterations=1, flush_l2=False)
        self.checks.check("(d) measure after release -> ERR_FTB_CONFIG", reply.get("code") == "ERR_FTB_CONFIG")
        self.out_of_memory()

    def out_of_memory(self) -> None:
        c = native_config(layers=2, heads=4, head_size=8, inter_size=64, vocab=64, batch=4096, beam=32, seq=4096,
                          max_seq=4096, mem_len=1, full_length=True)
        directory = os.path.join(self.workdir, "oom")
        h = c["heads"] * c["head_size"]
        inputs = {"memory": self.values.uniform((c["batch"], 1, h), 1.0),
                  "memory_lengths": np.ones(c["batch"], np.int32)}
        write_decoding_checkpoint(directory, c, decoding_weights(self.values, 2, h, 64, 64), inputs)
        reply = self.client.request("load", peer="torch-graph", checkpoint=directory, config={**c, "variant": "torch-graph"})
        self.checks.check("(d) a point too large for the GPU -> ERR_FTB_OOM", reply.get("code") == "ERR_FTB_OOM",
                          str(reply.get("error"))[:160])
        out, _ = self.point("torch-graph", os.path.join(self.workdir, "decoding-seq8"), native_config(**{**DECODING, "beam": 4}))
        self.checks.check("(d) the worker runs a point after the OOM", out["output_ids"].shape == (12, 8))

    def hf_generate(self) -> None:
        directory = os.path.join(self.workdir, "decoding-seq8")
        for name, case in (("beam 4", dict(beam=4)), ("top_k 5", dict(beam=1, top_k=5))):
            c = native_config(**{**DECODING, **case})
            # Three units: a unit that changed what the next one runs (once, each grew the batch) shows.
            out, steps = self.point("hf-generate", directory, {**c, "precision": "fp16"}, units=3)
            rows = c["batch"] * c["beam"]
            ok = out["output_ids"].shape == (rows, c["seq"]) and out["lengths"].shape == (rows,) and steps == c["seq"]
            self.checks.check(f"(e) hf-generate {name} fp16 output shape after 3 units", ok, f"output_ids {list(out['output_ids'].shape)}")

    # (f) ---------------------------------------------------------------------------------------
    def timings(self) -> None:
        from selftest_timings import print_timings

        print_timings(self)

    def median_ms(self, peer: str, checkpoint: str, config: dict[str, Any], iterations: int) -> tuple[float, Any]:
        reply = self.client.request("load", peer=peer, checkpoint=checkpoint, config={**config, "variant": peer})
        if not reply["ok"]:
            raise RuntimeError(f"load {peer}: {reply}")
        self.client.request("measure", iterations=max(1, iterations // 2), flush_l2=False)  # warm-up
        samples = [self.client.request("measure", iterations=iterations, flush_l2=False)["ms"] for _ in range(5)]
        return statistics.median(samples), reply.get("compile_s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-compile", action="store_true", help="skip torch-compile (its compile takes minutes)")
    parser.add_argument("--no-timings", action="store_true", help="skip the (f) timings at the H200 shapes")
    parser.add_argument("--timings-only", action="store_true", help="run only hello and the (f) timings")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (checkpoints, worker log)")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="ftb-peer-selftest-")
    checks = Checks()
    client = WorkerClient(os.path.join(workdir, "worker.log"))
    test = SelfTest(workdir, client, checks)
    hello = client.request("hello")
    ready = checks.check("hello: torch with a CUDA device", bool(hello.get("cuda_available")), str(hello))
    if ready and not args.timings_only:
        checks.section("(a) encoder", lambda: test.encoder(not args.no_compile))
        checks.section("(b) decoding", lambda: test.decoding(not args.no_compile))
        checks.section("(c) measure", test.timing)
        checks.section("(d) errors", test.errors)
        checks.section("(e) hf-generate", test.hf_generate)
        checks.section("(g) hf_hidden", test.hf_hidden)
    if ready and not args.no_timings:
        checks.section("(f) timings", test.timings)
    code = client.close()
    checks.check("worker exits 0 on exit", code == 0, f"exit code {code}")
    remove = not args.keep and checks.failed == 0
    print(f"{checks.passed} passed, {checks.failed} failed (work directory {workdir}{', removed' if remove else ''})")
    if remove:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
