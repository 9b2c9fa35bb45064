// The CUDA decoder and decoding paths (fused and unfused, four precisions) against the CPU reference
// on small random models: decoder features within tolerance, fp32 beam search / greedy / sampling ids
// identical to the reference, end-id stopping, sampling frequencies of a crafted logits row
// (chi-square), notes, graph replay, the stages of kernel traces and memory hygiene. Runs where the addon has the cuda backend, and
// is skipped with the reason everywhere else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { suiteUnless } from './support/suite.js';
import type { NativeConfig, NativeOutputs } from '../src/engine/native.js';
import { relativeL2 } from '../src/check/correctness.js';
import { cudaAvailability, runModel as runModelOn } from './support/cuda.js';

type Precision = 'fp32' | 'tf32' | 'fp16' | 'bf16';
type Variant = 'fused' | 'unfused';

const PRECISIONS: readonly Precision[] = ['fp32', 'tf32', 'fp16', 'bf16'];
const VARIANTS: readonly Variant[] = ['fused', 'unfused'];
/** Relative L2 error of the decoder features allowed against the fp64-accumulating CPU reference. */
const TOLERANCE: Record<Precision, number> = { fp32: 1e-5, tf32: 5e-3, fp16: 1e-2, bf16: 2e-2 };

/** The addon's sampling hook (native/src/addon/addon.cc, Backend::sample_row). */

const DECODER_SHAPES: readonly { name: string; config: Partial<NativeConfig> }[] = [
  {
    name: 'h64 = 2×32, b3 beam 2, 9 steps, mem 11',
    config: { heads: 2, head_size: 32, inter_size: 128, batch: 3, beam: 2, seq: 9, mem_len: 11 },
  },
  // head size 64 (fp16: 8 × 16-byte chunks), memory as long as the steps, full-length memory.
  {
    name: 'h256 = 4×64, b2, 20 steps, full-length memory',
    config: { heads: 4, head_size: 64, inter_size: 512, batch: 2, seq: 20, full_length: true },
  },
  // More steps than the attention block has threads (two keys per thread).
  { name: 'h64 = 8×8, b2, 150 steps', config: { heads: 8, head_size: 8, inter_size: 64, batch: 2, seq: 150, max_seq: 256 } },
];

const decodingBase: Partial<NativeConfig> = {
  path: 'decoding', layers: 2, heads: 2, head_size: 8, inter_size: 32, vocab: 48, batch: 3, seq: 10, mem_len: 6,
  seed: 21,
};

// The skinny GEMM is opt-in (native/src/cuda/NOTES.md, version 12): offered here so that its timing and
// numerics against cuBLASLt are checked; read once, at this process's first plan.
process.env.FTBENCH_SKINNY = '1';
const { addon, skip } = cudaAvailability();

const runModel = (backend: string, config: Partial<NativeConfig>) => runModelOn(addon!, backend, config);

function reference(config: Partial<NativeConfig>): NativeOutputs {
  return runModel('cpu', { ...config, variant: 'reference', precision: 'fp32' }).outputs;
}

/** Ids, parents, lengths identical; cum log-probs and scores within fp32 rounding of the GEMMs. */
function assertSameSearch(actual: NativeOutputs, expected: NativeOutputs, label: string): void {
  assert.equal(actual.stepsRun, expected.stepsRun, `${label}: steps run`);
  assert.deepEqual(Array.from(actual.outputIds), Array.from(expected.outputIds), `${label}: output ids`);
  assert.deepEqual(Array.from(actual.stepIds), Array.from(expected.stepIds), `${label}: step ids`);
  assert.deepEqual(Array.from(actual.parentIds), Array.from(expected.parentIds), `${label}: parent ids`);
  assert.deepEqual(Array.from(actual.lengths), Array.from(expected.lengths), `${label}: lengths`);
  assert.ok(relativeL2(actual.cumLogProbs, expected.cumLogProbs) <= 1e-5, `${label}: cum log-probs`);
  assert.ok(relativeL2(actual.scores, expected.scores) <= 1e-5, `${label}: scores`);
}

/** The decoder stack's stages in every step (native/src/cuda/models/decoder_stack.h), and memory_kv per run. */
const STACK_STAGES = ['layernorm', 'qkv_gemm', 'self_attention', 'self_out_gemm', 'cross_q_gemm', 'cross_attention',
  'cross_out_gemm', 'ffn1_gemm_relu', 'ffn2_gemm', 'bias_residual', 'memory_kv'];
/** A decoding's own stages around the stack (native/src/cuda/models/decoding.h), besides its search. */
const DECODING_STAGES = [...STACK_STAGES, 'step_counter', 'search_init', 'embedding', 'logits_gemm', 'finish_search'];
/** The fused decoding folds the final LayerNorm into the last residual add: no bias_residual kernel. */
const FUSED_DECODING_STAGES = DECODING_STAGES.filter((stage) => stage !== 'bias_residual');

/**
 * Traces one run of `config` and checks every record names its stage, and that the stages are exactly
 * `expected` (each of them launched something, none other did).
 */
function assertTraceStages(config: Partial<NativeConfig>, expected: readonly string[], label: string): void {
  const model = new addon!.Model('cuda', config);
  try {
    const { records } = model.profile(1);
    assert.ok(records.length > 0, `${label}: the trace has records`);
    const unnamed = records.filter((r) => r.stage === '').map((r) => r.name);
    assert.deepEqual(unnamed, [], `${label}: activities under no stage`);
    assert.deepEqual([...new Set(records.map((r) => r.stage))].sort(), [...expected].sort(), `${label}: stages`);
  } finally {
    model.release();
  }
}

function mostFrequent(ids: Int32Array): number {
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
}

suiteUnless('CUDA decoder', skip, () => {
  for (const shape of DECODER_SHAPES) {
    test(`features match the CPU reference: ${shape.name}`, (t) => {
      const config = { path: 'decoder', layers: 2, seed: 20261122, ...shape.config };
      const expected = reference(config);
      for (const precision of PRECISIONS) {
        for (const variant of VARIANTS) {
          const label = `${variant} ${precision}`;
          const { outputs } = runModel('cuda', { ...config, variant, precision });
          assert.deepEqual(outputs.lengths, expected.lengths, `${label}: memory lengths`);
          assert.equal(outputs.hidden.length, expected.hidden.length, `${label}: output size`);
          assert.ok(outputs.hidden.every(Number.isFinite), `${label}: every output finite`);
          const error = relativeL2(outputs.hidden, expected.hidden);
          t.diagnostic(`${label}: relative L2 error ${error.toExponential(2)}`);
          assert.ok(error <= TOLERANCE[precision], `${label}: relative L2 error ${error} > ${TOLERANCE[precision]}`);
        }
      }
    });
  }

  test('a graph replay computes exactly what eager launches compute', () => {
    const config = { path: 'decoder', layers: 2, ...DECODER_SHAPES[0].config, variant: 'fused', precision: 'fp16' };
    const graphed = runModel('cuda', { ...config, graph: true });
    const eager = runModel('cuda', { ...config, graph: false });
    assert.match(graphed.notes.graph, /^on/);
    assert.equal(eager.notes.graph, 'off');
    assert.deepEqual(graphed.outputs.hidden, eager.outputs.hidden);
  });

  test('a kernel trace names the stage of every activity: step input, the layer sub-steps, output', () => {
    const config = { path: 'decoder', layers: 2, ...DECODER_SHAPES[0].config };
    const stages = [...STACK_STAGES, 'step_counter', 'step_input', 'output'];
    assertTraceStages({ ...config, variant: 'fused', precision: 'fp16' }, stages, 'fused fp16');
    assertTraceStages({ ...config, variant: 'unfused', precision: 'fp32' }, [...stages, 'cache_clear'], 'unfused fp32');
  });
});

suiteUnless('CUDA decoding', skip, () => {
  const sampleRow = addon?.sampleRow;

  const searches: readonly { name: string; config: Partial<NativeConfig> }[] = [
    { name: 'greedy', config: {} },
    { name: 'beam 4, length penalty 0.6', config: { beam: 4, length_penalty: 0.6 } },
    { name: 'beam 4, vocab 53 (padded to 56), head size 16', config: { beam: 4, vocab: 53, head_size: 16, seq: 14 } },
    { name: 'beam 32, vocab 80', config: { beam: 32, vocab: 80, batch: 2, seq: 6 } },
    // Several vocabulary chunks per row in the fused top-k: ⌈vocab / 4096⌉ for beams up to 8 (one pass,
    // 1, 2, 4 or 8 keys kept per thread; beam 3 keeps 4 and offers 3), ⌈vocab / 1024⌉ for wider beams
    // (radix select; beam 32 above has a single chunk).
    { name: 'greedy, vocab 9000', config: { vocab: 9000 } },
    { name: 'beam 2', config: { beam: 2 } },
    { name: 'beam 3, vocab 9001', config: { beam: 3, vocab: 9001, seq: 8 } },
    { name: 'beam 4, vocab 9001', config: { beam: 4, vocab: 9001, seq: 8 } },
    { name: 'beam 8, vocab 9001', config: { beam: 8, vocab: 9001, seq: 6 } },
    { name: 'beam 16, vocab 3001', config: { beam: 16, vocab: 3001, seq: 6 } },
    // Past 128 keys the fused attention splits a head's keys over two blocks (self: through the
    // cache indirection; cross: memory lengths in [100, 200]).
    { name: 'beam 4, 140 steps, memory 200', config: { beam: 4, seq: 140, max_seq: 140, mem_len: 200 } },
  ];
  for (const search of searches) {
    test(`fp32 ${search.name}: fused, unfused and CPU choose identical ids`, () => {
      const config = { ...decodingBase, ...search.config };
      const expected = reference(config);
      for (const variant of VARIANTS) {
        assertSameSearch(runModel('cuda', { ...config, variant, precision: 'fp32' }).outputs, expected, variant);
      }
      if ((config.beam ?? 1) > 1) assert.ok(new Set(expected.parentIds).size > 1, 'beams are reordered');
    });
  }

  test('16-bit and tf32 runs stay well formed; their ids mostly agree with the unfused run', (t) => {
    const config = { ...decodingBase, beam: 4 };
    for (const precision of ['tf32', 'fp16', 'bf16'] as const) {
      const unfused = runModel('cuda', { ...config, variant: 'unfused', precision }).outputs;
      const fused = runModel('cuda', { ...config, variant: 'fused', precision }).outputs;
      for (const out of [unfused, fused]) {
        assert.ok(out.outputIds.every((id) => id >= 0 && id < config.vocab!), `${precision}: ids in the vocabulary`);
        assert.ok(out.scores.every(Number.isFinite), `${precision}: finite scores`);
      }
      const same = fused.outputIds.filter((id, i) => id === unfused.outputIds[i]).length / fused.outputIds.length;
      t.diagnostic(`${precision}: fraction of fused ids equal to unfused ${same.toFixed(3)}`);
    }
  });

  test('top_k 1 picks the greedy tokens', () => {
    const greedy = reference(decodingBase);
    for (const variant of VARIANTS) {
      for (const sampling of [{ top_k: 1 }, { top_k: 1, temperature: 3 }]) {
        const out = runModel('cuda', { ...decodingBase, ...sampling, variant, precision: 'fp32' }).outputs;
        assert.deepEqual(Array.from(out.outputIds), Array.from(greedy.outputIds), `${variant} ${JSON.stringify(sampling)}`);
      }
    }
  });

  test('fp32 sampling draws the CPU reference ids (top-k, top-p, temperature)', () => {
    const greedy = reference(decodingBase);
    const modes = [{ top_k: 4 }, { top_k: 32, temperature: 1.5 }, { top_p: 0.75 }, { top_k: 16, top_p: 0.8, temperature: 0.7 }];
    for (const sampling of modes) {
      const config = { ...decodingBase, ...sampling };
      const expected = reference(config);
      assert.notDeepEqual(Array.from(expected.outputIds), Array.from(greedy.outputIds), 'sampling departs from greedy');
      for (const variant of VARIANTS) {
        assertSameSearch(runModel('cuda', { ...config, variant, precision: 'fp32' }).outputs, expected,
          `${variant} ${JSON.stringify(sampling)}`);
      }
    }
  });

  test('an end id stops sentences: stop_at_end runs fewer steps, as the reference', () => {
    const frequent = mostFrequent(reference(decodingBase).outputIds);
    for (const extra of [{ beam: 3 }, { top_k: 4 }]) {
      const config = { ...decodingBase, ...extra, end_id: frequent, stop_at_end: true, seq: 16 };
      const expected = reference(config);
      assert.ok(expected.stepsRun < config.seq, 'every sentence ended before seq');
      for (const variant of VARIANTS) {
        const out = runModel('cuda', { ...config, variant, precision: 'fp32' }).outputs;
        assertSameSearch(out, expected, `${variant} ${JSON.stringify(extra)}`);
        for (let r = 0; r < out.lengths.length; r++) {
          const ids = Array.from(out.outputIds.subarray(r * out.stepsRun, (r + 1) * out.stepsRun));
          const end = ids.indexOf(frequent);
          assert.ok(end >= 0 && ids.slice(end).every((id) => id === frequent), `row ${r} ends with end ids`);
        }
      }
    }
  });

  test('sampling frequencies of a crafted logits row match its top-k / top-p distribution (chi-square)', (t) => {
    assert.ok(sampleRow, 'the addon exposes sampleRow');
    const vocab = 40;
    const logits = Float32Array.from({ length: vocab }, (_, v) => 1 - 0.05 * ((v * 7) % vocab));
    logits[11] = logits[4];  // a tie: the lower id ranks first
    const modes = [{ top_k: 4 }, { top_k: 32, temperature: 1.5 }, { top_p: 0.75 }, { top_k: 8, top_p: 0.5, temperature: 0.8 }];
    const seeds = [1, 2, 3];  // 3 × 4096 draws
    for (const mode of modes) {
      const expected = distribution(logits, mode);
      for (const [backend, variant] of [['cpu', 'reference'], ['cuda', 'fused'], ['cuda', 'unfused']] as const) {
        const counts = new Array<number>(vocab).fill(0);
        for (const seed of seeds) {
          const config = { ...decodingBase, vocab, batch: 4096, seed, ...mode, variant, precision: 'fp32' };
          const ids = sampleRow!(backend, config, logits);
          if (backend === 'cuda') {
            assert.deepEqual(Array.from(ids), Array.from(sampleRow!('cpu', { ...config, variant: 'reference' }, logits)),
              `${variant} ${JSON.stringify(mode)}: the reference's draws`);
          }
          for (const id of ids) counts[id]++;
        }
        const draws = seeds.length * 4096;
        let chi2 = 0;
        let kept = 0;
        for (let v = 0; v < vocab; v++) {
          if (expected[v] === 0) {
            assert.equal(counts[v], 0, `${backend} ${variant} ${JSON.stringify(mode)}: id ${v} is outside the candidates`);
            continue;
          }
          kept++;
          chi2 += (counts[v] - draws * expected[v]) ** 2 / (draws * expected[v]);
        }
        const limit = chiSquareCritical(kept - 1);
        t.diagnostic(`${backend} ${variant} ${JSON.stringify(mode)}: chi2 ${chi2.toFixed(1)} over ${kept - 1} dof (limit ${limit.toFixed(1)})`);
        assert.ok(chi2 <= limit, `${backend} ${variant} ${JSON.stringify(mode)}: chi2 ${chi2} > ${limit}`);
      }
    }
  });

  test('few-row GEMMs: the skinny kernel is timed against cuBLASLt on each 16-bit shape, within tolerance, and runs only where faster', () => {
    // fp32 / fp16 / bf16; epilogues none (projections), bias_relu (fused ffn1), bias (logits); 1, 3 and 12 rows.
    const limits = { f16: 5e-3, bf16: 2e-2 } as const;
    let timed = 0;
    for (const precision of ['fp32', 'fp16', 'bf16'] as const) {
      for (const [batch, beam] of [[1, 1], [3, 1], [3, 4]] as const) {
        const run = runModel('cuda', { ...decodingBase, batch, beam, variant: 'fused', precision });
        for (const choice of run.gemms.filter((g) => g.m <= 128 && g.batch_count === 1)) {
          const label = `${precision} b${batch} beam ${beam} ${choice.role}`;
          if (precision === 'fp32') {
            assert.doesNotMatch(choice.note ?? '', /skinny/, `${label}: fp32 runs cuBLASLt untimed`);
            continue;
          }
          const timing = /^skinny kernel ([0-9.e+-]+) us vs cuBLASLt \((tuned|heuristic)\) ([0-9.e+-]+) us, relative L2 ([0-9.e+-]+)/.exec(choice.note ?? '');
          assert.ok(timing, `${label}: ${choice.note}`);
          const [skinnyUs, cublasUs, error] = [Number(timing[1]), Number(timing[3]), Number(timing[4])];
          assert.ok(error <= limits[choice.dtype as keyof typeof limits], `${label}: relative L2 ${error}`);
          assert.ok(skinnyUs > 0 && cublasUs > 0, label);
          if (choice.source === 'skinny') assert.ok(skinnyUs < 0.97 * cublasUs, `${label}: ${choice.note}`);
          else assert.match(choice.note!, /cuBLASLt kept$/, label);
          timed += 1;
        }
        const cpu = reference({ ...decodingBase, batch, beam });
        if (precision === 'fp32') assertSameSearch(run.outputs, cpu, `${precision} b${batch} beam ${beam}`);
      }
    }
    assert.ok(timed >= 6 * 7, `every few-row 16-bit shape was timed (${timed})`);
  });

  test('notes name the search, the attention kernels and the graph; the GEMMs are listed with their algorithms', () => {
    const fused = runModel('cuda', { ...decodingBase, beam: 4, variant: 'fused', precision: 'fp16' });
    assert.match(fused.notes.graph, /^on/);
    assert.match(fused.notes.search, /^beam_chunk_lists \(statistics and the 8 best logits .* 1 vocabulary chunks\) \+ beam_rank_lists/);
    assert.match(fused.notes.self_attention, /cache indirection/);
    const gemm = (run: typeof fused, role: string) => run.gemms.find((g) => g.role === role);
    assert.deepEqual(fused.gemms.map((g) => g.role), ['qkv', 'self_out', 'cross_q', 'cross_kv', 'cross_out', 'ffn1', 'ffn2', 'logits']);
    const logits = gemm(fused, 'logits')!;
    assert.deepEqual({ ...logits, algo: undefined, source: undefined, note: undefined, tuned_ms: undefined, heuristic_ms: undefined }, {
      role: 'logits', m: 12, n: 48, k: 16, batch_count: 1, trans_a: false, trans_b: false, dtype: 'f16', epilogue: 'bias', algo: undefined,
      source: undefined, note: undefined, tuned_ms: undefined, heuristic_ms: undefined,
    });
    // 12 rows: the skinny kernel was timed against cuBLASLt's heuristic; whichever was faster runs.
    if (logits.source === 'skinny') {
      assert.ok(logits.tuned_ms! < logits.heuristic_ms!, JSON.stringify(logits));
      assert.match(logits.note!, /^skinny kernel [0-9.]+ us vs cuBLASLt \(heuristic\) [0-9.]+ us, relative L2 /);
    } else {
      assert.deepEqual([logits.source, logits.tuned_ms, logits.heuristic_ms], ['heuristic', null, null]);
      assert.match(logits.note!, /^skinny kernel .*: cuBLASLt kept$/);
      assert.ok(logits.algo.id > 0 || logits.algo.tile > 0, 'the algorithm is described');
    }
    assert.equal(gemm(fused, 'ffn1')!.epilogue, 'bias_relu');
    const unfused = runModel('cuda', { ...decodingBase, beam: 4, variant: 'unfused', precision: 'fp32' });
    assert.equal(unfused.notes.graph, 'off');
    assert.match(unfused.notes.search, /segmented radix sort/);
    assert.deepEqual(['m', 'n', 'k', 'batch_count', 'dtype'].map((f) => gemm(unfused, 'self_scores')![f as 'm']), [1, 10, 8, 24, 'f32']);
    const sampling = runModel('cuda', { ...decodingBase, top_k: 4, variant: 'fused', precision: 'bf16' }).notes;
    assert.match(sampling.search, /^topk_sampling/);
  });

  test('a kernel trace names the stage of every activity: embedding, layer sub-steps, logits, search', () => {
    assertTraceStages({ ...decodingBase, beam: 4, variant: 'fused', precision: 'fp16' },
      [...FUSED_DECODING_STAGES, 'beam_search'], 'fused beam search');
    // The unfused beam search copies the caches by parents, which start cleared.
    assertTraceStages({ ...decodingBase, beam: 4, variant: 'unfused', precision: 'fp32' },
      [...DECODING_STAGES, 'beam_search', 'cache_clear', 'cache_reorder'], 'unfused beam search');
    // stop_at_end reads the finished flags after every step.
    assertTraceStages({ ...decodingBase, top_k: 4, stop_at_end: true, variant: 'fused', precision: 'bf16' },
      [...FUSED_DECODING_STAGES, 'sampling', 'stop_check'], 'fused sampling, stop_at_end');
  });

  test('a graph replay computes exactly what eager launches compute', () => {
    const config = { ...decodingBase, beam: 4, variant: 'fused', precision: 'fp16' };
    const graphed = runModel('cuda', { ...config, graph: true }).outputs;
    const eager = runModel('cuda', { ...config, graph: false }).outputs;
    assertSameSearch(graphed, eager, 'graph vs eager');
  });

  test('measure() times whole decodings; repeated runs give the same ids', () => {
    const model = new addon!.Model('cuda', { ...decodingBase, beam: 4, variant: 'fused', precision: 'fp16' });
    try {
      model.run();
      const first = model.outputs();
      const { ms, smClockMhz } = model.measure(3);
      assert.ok(Number.isFinite(ms) && ms > 0 && ms < 1000, `measured ${ms} ms`);
      assert.ok(smClockMhz > 0, `SM clock ${smClockMhz} MHz`);
      assertSameSearch(model.outputs(), first, 'after measure');
    } finally {
      model.release();
    }
  });

  test('device memory does not grow over create/run/release cycles', () => {
    const combos = PRECISIONS.flatMap((precision) => VARIANTS.map((variant) => ({ precision, variant })));
    const cycle = (i: number) => runModel('cuda', { ...decodingBase, beam: 1 + (i % 2) * 3, ...combos[i % combos.length] });
    for (let i = 0; i < combos.length * 2; i++) cycle(i);
    const before = Number(addon!.deviceInfo('cuda').memory_free_mb);
    for (let i = 0; i < 100; i++) cycle(i);
    const after = Number(addon!.deviceInfo('cuda').memory_free_mb);
    assert.ok(after >= before - 2, `free device memory went from ${before} MiB to ${after} MiB`);
  });
});

/** Probabilities of the reference's sampling rule (native/MODEL.md, "Sampling") over one logits row. */
function distribution(logits: Float32Array, mode: { top_k?: number; top_p?: number; temperature?: number }): number[] {
  const ids = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
  const candidates = mode.top_k ? ids.slice(0, mode.top_k) : ids;
  const weights = candidates.map((id) => Math.exp((logits[id] - logits[candidates[0]]) / (mode.temperature ?? 1)));
  const total = weights.reduce((a, b) => a + b, 0);
  let kept = weights.length;
  if (mode.top_p) {
    let prefix = 0;
    kept = weights.findIndex((w) => (prefix += w) / total >= Math.fround(mode.top_p!)) + 1 || weights.length;
  }
  const keptTotal = weights.slice(0, kept).reduce((a, b) => a + b, 0);
  const p = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < kept; i++) p[candidates[i]] = weights[i] / keptTotal;
  return p;
}

/** Chi-square value exceeded with probability 0.001 (Wilson–Hilferty), or 0 for no freedom. */
function chiSquareCritical(dof: number): number {
  if (dof <= 0) return 0;
  const z = 3.090232;
  const a = 2 / (9 * dof);
  return dof * (1 - a + z * Math.sqrt(a)) ** 3;
}
