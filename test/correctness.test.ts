// Correctness checks: each invariant passes on valid outputs and fails, with a detail, on outputs
// broken in exactly that way; comparisons with references; the CPU engine's own outputs pass.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { suiteUnless } from './support/suite.js';
import type { PointConfig } from '../src/engine/config.js';
import { checkOutputs, relativeL2, type Verdict } from '../src/check/correctness.js';
import type { NativeOutputs } from '../src/engine/native.js';
import { addonOrSkip, cpuConfig } from './harness-fixtures.js';

function outputs(fields: Partial<Record<keyof NativeOutputs, ArrayLike<number> | number>>): NativeOutputs {
  return {
    hidden: Float32Array.from((fields.hidden as ArrayLike<number>) ?? []),
    lengths: Int32Array.from((fields.lengths as ArrayLike<number>) ?? []),
    outputIds: Int32Array.from((fields.outputIds as ArrayLike<number>) ?? []),
    stepIds: Int32Array.from((fields.stepIds as ArrayLike<number>) ?? []),
    parentIds: Int32Array.from((fields.parentIds as ArrayLike<number>) ?? []),
    cumLogProbs: Float32Array.from((fields.cumLogProbs as ArrayLike<number>) ?? []),
    scores: Float32Array.from((fields.scores as ArrayLike<number>) ?? []),
    stepsRun: (fields.stepsRun as number) ?? 0,
  };
}

const failed = (verdict: Verdict) => verdict.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);

describe('encoder checks', () => {
  // batch 2, seq 3, hidden 2; sequence 1 has length 2, so its last row is padding.
  const config = cpuConfig({ heads: 1, head_size: 2, batch: 2, seq: 3, max_seq: 3 });
  const hidden = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0];
  const lengths = [3, 2];

  test('valid outputs pass', () => {
    const verdict = checkOutputs(config, outputs({ hidden, lengths }));
    assert.deepEqual(failed(verdict), []);
    assert.equal(verdict.correct, true);
    assert.equal(verdict.max_rel_err, null);
    assert.deepEqual(verdict.checks.map((c) => c.name), ['output sizes', 'hidden finite', 'lengths in 1..3', 'padded rows zero']);
  });

  test('a NaN, a non-zero padded row, a bad length, a wrong size each fail with where', () => {
    const nan = [...hidden];
    nan[4] = NaN;
    assert.deepEqual(failed(checkOutputs(config, outputs({ hidden: nan, lengths }))), ['hidden finite: hidden[4] = NaN']);
    const padded = [...hidden];
    padded[11] = 0.5;
    assert.deepEqual(failed(checkOutputs(config, outputs({ hidden: padded, lengths }))),
      ['padded rows zero: sequence 1 (length 2): padded hidden[1] = 0.5 (offset 10)']);
    assert.deepEqual(failed(checkOutputs(config, outputs({ hidden, lengths: [4, 2] }))), ['lengths in 1..3: lengths[0] = 4']);
    assert.deepEqual(failed(checkOutputs({ ...config, full_length: true }, outputs({ hidden, lengths }))), ['lengths in 3..3: lengths[1] = 2']);
    assert.equal(checkOutputs(config, outputs({ hidden: hidden.slice(1), lengths })).checks[0].detail, 'hidden has 11 values, expected 12');
  });

  test('compared with references: relative L2 error against the precision tolerance', () => {
    const scaled = (factor: number) => outputs({ hidden: hidden.map((v) => v * factor), lengths });
    const close = checkOutputs(config, scaled(1 + 2e-6), [{ name: 'unfused', outputs: outputs({ hidden, lengths }) }]);
    assert.equal(close.correct, true);
    assert.ok(Math.abs(close.max_rel_err! - 2e-6) < 1e-7, String(close.max_rel_err));
    const far = checkOutputs(config, scaled(1 + 1e-3), [
      { name: 'unfused', outputs: scaled(1 + 1e-3) },
      { name: 'cpu', outputs: outputs({ hidden, lengths }) },
    ]);
    assert.deepEqual(failed(far), ['hidden vs cpu: relative L2 error 1.00e-3 > 0.00001']);
    assert.ok(Math.abs(far.max_rel_err! - 1e-3) < 1e-6);
    const fp16 = checkOutputs({ ...config, precision: 'fp16' }, scaled(1 + 1e-3), [{ name: 'cpu', outputs: outputs({ hidden, lengths }) }]);
    assert.equal(fp16.correct, true);
  });

  test('relativeL2', () => {
    assert.equal(relativeL2([3, 4], [3, 4]), 0);
    assert.equal(relativeL2([3, 5], [3, 4]), 1 / 5);
    assert.equal(relativeL2([1], [0]), Infinity);
    assert.throws(() => relativeL2([1], [1, 2]), { message: 'comparing 1 values with 2' });
  });
});

describe('decoder checks', () => {
  const config = cpuConfig({ path: 'decoder', heads: 1, head_size: 2, batch: 2, beam: 2, seq: 4, mem_len: 5 });
  test('sizes, finite hidden, memory lengths', () => {
    const hidden = [1, 2, 3, 4, 5, 6, 7, 8];
    assert.deepEqual(failed(checkOutputs(config, outputs({ hidden, lengths: [5, 3] }))), []);
    assert.deepEqual(failed(checkOutputs(config, outputs({ hidden, lengths: [6, 3] }))), ['memory lengths in 0..5: lengths[0] = 6']);
    assert.deepEqual(failed(checkOutputs(config, outputs({ hidden: [...hidden.slice(1), Infinity, 1], lengths: [5, 3] }))),
      ['output sizes: hidden has 9 values, expected 8', 'hidden finite: hidden[7] = Infinity']);
  });
});

describe('decoding checks', () => {
  // One sentence, beam 2, 3 steps, end_id 2. Beams after each step (parent -> token):
  // t0: [0->5, 0->7]; t1: [1->2 (7 2, finished), 0->4 (5 4)]; t2: [0->2 (7 2 2), 1->6 (5 4 6)].
  const config = cpuConfig({ path: 'decoding', vocab: 10, batch: 1, beam: 2, seq: 3, max_seq: 3, end_id: 2 });
  const valid = {
    stepIds: [5, 7, 2, 4, 2, 6],
    parentIds: [0, 0, 1, 0, 0, 1],
    outputIds: [7, 2, 2, 5, 4, 6],
    lengths: [2, 3],
    cumLogProbs: [-1.5, -2],
    scores: [-1.5, -2],
    stepsRun: 3,
  };
  const broken = (changes: Partial<typeof valid>, c: PointConfig = config) => failed(checkOutputs(c, outputs({ ...valid, ...changes })));

  test('valid outputs pass every check', () => {
    const verdict = checkOutputs(config, outputs(valid));
    assert.deepEqual(failed(verdict), []);
    assert.deepEqual(verdict.checks.map((c) => c.name), [
      'steps run 3', 'output sizes', 'ids in 0..9', 'parent ids in 0..1', 'lengths in 1..3', 'cum log-probs finite and <= 0',
      'scores follow cum log-probs and length penalty', 'beams sorted by score', 'lengths match end ids',
      'output ids = gather-tree of step ids and parent ids',
    ]);
  });

  test('each broken invariant fails, with where', () => {
    assert.deepEqual(broken({ parentIds: [0, 0, 1, 0, 0, 2] }), [
      'parent ids in 0..1: parent_ids[5] = 2',
      'output ids = gather-tree of step ids and parent ids: output row 1 (sentence 0, beam 1) is not the gather-tree of any final beam',
    ]);
    assert.deepEqual(broken({ scores: [-2, -1.5], cumLogProbs: [-2, -1.5] }), ["beams sorted by score: sentence 0: beam 1 scores -1.5 > beam 0's -2"]);
    assert.deepEqual(broken({ outputIds: [7, 2, 2, 5, 4, 6], stepIds: [5, 7, 2, 4, 2, 10] }), [
      'ids in 0..9: step_ids[5] = 10',
      'output ids = gather-tree of step ids and parent ids: output row 1 (sentence 0, beam 1) is not the gather-tree of any final beam',
    ]);
    assert.deepEqual(broken({ lengths: [3, 3] }), ['lengths match end ids: row 0: length 3, its ids say 2']);
    assert.deepEqual(broken({ lengths: [2, 4] }), ['lengths in 1..3: lengths[1] = 4', 'lengths match end ids: row 1: length 4, its ids say 3']);
    assert.deepEqual(broken({ cumLogProbs: [0.5, -2], scores: [0.5, -2] }), ['cum log-probs finite and <= 0: cum_log_probs[0] = 0.5']);
    assert.deepEqual(broken({}, { ...config, length_penalty: 1 }), ['scores follow cum log-probs and length penalty: scores[0] = -1.5']);
    assert.deepEqual(broken({ outputIds: [7, 2, 2, 5, 4, 7] }), [
      'output ids = gather-tree of step ids and parent ids: output row 1 (sentence 0, beam 1) is not the gather-tree of any final beam',
    ]);
    assert.deepEqual(broken({ outputIds: [7, 2, 5, 5, 4, 6], stepIds: [5, 7, 2, 4, 5, 6] }), [
      'lengths match end ids: row 0: a token other than end_id after end_id',
    ]);
  });

  test('the length penalty: score = cum / ((5 + length) / 6)^penalty in fp32', () => {
    const scores = [Math.fround(-1.5 / (7 / 6)), Math.fround(-2 / (8 / 6))];
    assert.deepEqual(broken({ scores }, { ...config, length_penalty: 1 }), []);
  });

  test('a wrong number of steps stops the checks that index by it', () => {
    assert.deepEqual(broken({ stepsRun: 2 }), ['steps run 3: steps_run = 2', 'output sizes: output_ids has 6 values, expected 4']);
    assert.deepEqual(broken({ stepsRun: 2 }, { ...config, stop_at_end: true }), ['output sizes: output_ids has 6 values, expected 4']);
  });

  test('compared with a reference: scores within tolerance on the rows whose ids agree', () => {
    const reference = { name: 'cpu', outputs: outputs(valid) };
    assert.equal(checkOutputs(config, outputs(valid), [reference]).max_rel_err, 0);
    const differing = checkOutputs(config, outputs({ ...valid, scores: [-1.5, -2.5], cumLogProbs: [-1.5, -2.5] }), [reference]);
    assert.deepEqual(failed(differing), ['scores vs cpu (rows with equal ids): relative L2 error 2.00e-1 > 0.00001']);
  });

  test('a near-tie broken the other way: the share of equal ids recorded, scores compared on the rows that agree', () => {
    const fp16 = { ...config, precision: 'fp16' as const };
    // Row 1 chose another last token (and so another score): 5 of 6 ids equal; row 0's score matches.
    const diverged = outputs({ ...valid, outputIds: [7, 2, 2, 5, 4, 8] });
    const verdict = checkOutputs(fp16, outputs(valid), [{ name: 'unfused', outputs: diverged }, { name: 'cpu', outputs: outputs(valid) }]);
    assert.deepEqual(failed(verdict), []);
    assert.equal(verdict.ids_equal_fraction, 5 / 6, 'the unfused run is the one recorded');
    assert.deepEqual(verdict.checks.filter((c) => c.name.includes('unfused')).map((c) => `${c.name}: ${c.detail}`), [
      'output ids vs unfused: 1 of 6 ids differ (1 of 2 rows equal)',
      'scores vs unfused (rows with equal ids): relative L2 error 0.00e+0 <= 0.01',
    ]);
    // A wrong score on a row whose ids agree fails; no row in common passes in fp16, fails in fp32.
    const offScore = checkOutputs(fp16, outputs({ ...valid, scores: [-1.6, -2], cumLogProbs: [-1.6, -2] }), [{ name: 'unfused', outputs: diverged }]);
    assert.deepEqual(failed(offScore), ['scores vs unfused (rows with equal ids): relative L2 error 6.67e-2 > 0.01']);
    const noneInCommon = [{ name: 'unfused', outputs: outputs({ ...valid, outputIds: [7, 2, 5, 5, 4, 8] }) }];
    const none = checkOutputs(fp16, outputs(valid), noneInCommon);
    assert.deepEqual(failed(none), []);
    assert.equal(none.checks.at(-1)?.detail, "no row has the reference's ids (66.7% of ids equal): not compared in fp16");
    assert.deepEqual(failed(checkOutputs(config, outputs(valid), noneInCommon)), ["scores vs unfused: no row has the reference's ids: nothing to compare"]);
  });
});

const { addon, skip } = addonOrSkip();

suiteUnless('the CPU engine', skip, () => {
  const run = (config: PointConfig) => {
    const model = new addon!.Model('cpu', config);
    try {
      model.run();
      return model.outputs();
    } finally {
      model.release();
    }
  };
  const small = { layers: 2, heads: 2, head_size: 8, inter_size: 32, vocab: 40, mem_len: 6, max_seq: 12, batch: 3 };

  test('its outputs pass every check on every path', () => {
    for (const config of [
      cpuConfig({ ...small, path: 'encoder', seq: 12 }),
      cpuConfig({ ...small, path: 'decoder', beam: 3, seq: 5 }),
      cpuConfig({ ...small, path: 'decoding', beam: 4, seq: 10, length_penalty: 0.6 }),
      cpuConfig({ ...small, path: 'decoding', beam: 4, seq: 10, end_id: 7, stop_at_end: true }),
      cpuConfig({ ...small, path: 'decoding', beam: 1, seq: 10, top_k: 5, temperature: 0.8 }),
      cpuConfig({ ...small, path: 'decoding', beam: 1, seq: 10, top_p: 0.6 }),
    ]) {
      const verdict = checkOutputs(config, run(config));
      assert.deepEqual(failed(verdict), [], `${config.path} beam ${config.beam}`);
      assert.ok(verdict.checks.length >= 3);
    }
  });

  test('swapping two beams of a sentence breaks the order (and nothing else)', () => {
    const config = cpuConfig({ ...small, path: 'decoding', beam: 4, seq: 10 });
    const out = run(config);
    const steps = out.stepsRun;
    const swap = <T extends Int32Array | Float32Array>(a: T, width: number) => {
      const first = a.slice(0, width);
      a.copyWithin(0, width, 2 * width);
      a.set(first, width);
    };
    assert.notEqual(out.scores[0], out.scores[1], 'the two best beams score differently');
    swap(out.outputIds, steps);
    swap(out.lengths, 1);
    swap(out.cumLogProbs, 1);
    swap(out.scores, 1);
    assert.deepEqual(failed(checkOutputs(config, out)).map((f) => f.split(':')[0]), ['beams sorted by score']);
  });
});

describe('checkpoint parity', () => {
  const model = { dir: 'm', type: 'bert', name: 'tiny', sha256: 'ab'.repeat(32), weights: [] };
  const hidden = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0];
  const lengths = [3, 2];
  const reference = (values: number[]) => [{ name: 'cpu', outputs: outputs({ hidden: values, lengths }) }];
  const config = (precision: PointConfig['precision']): PointConfig =>
    ({ ...cpuConfig({ heads: 1, head_size: 2, batch: 2, seq: 3, max_seq: 3, model }), backend: 'cuda', variant: 'fused', precision });

  test('a checkpoint point records parity_rel_err against the cpu reference and fails past its precision\'s limit', () => {
    const off = hidden.map((v) => v * (1 + 1e-3));
    const fp16 = checkOutputs(config('fp16'), outputs({ hidden: off, lengths }), reference(hidden));
    assert.ok(Math.abs(fp16.parity_rel_err! - 1e-3) < 1e-6, String(fp16.parity_rel_err));
    assert.equal(fp16.correct, true);
    const tight = hidden.map((v) => v * (1 + 3e-3));
    const failing = checkOutputs(config('fp16'), outputs({ hidden: tight, lengths }), reference(hidden));
    assert.equal(failing.correct, false);
    assert.match(failed(failing).join('\n'), /^checkpoint parity vs cpu: relative L2 error 3\.00e-3 > 0\.002$/m);
  });

  test('a synthetic point records none', () => {
    const synthetic = { ...config('fp32'), model: undefined };
    assert.equal(checkOutputs(synthetic, outputs({ hidden, lengths }), reference(hidden)).parity_rel_err, undefined);
  });
});

