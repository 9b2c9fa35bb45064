// Sweep expansion: counts of the shipped profiles, overrides, and every kind of dropped combination
// with its reason.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Profile } from '../src/sweep/axes.js';
import { getProfile, PROFILES } from '../suites/index.js';
import { ConfigError, validateConfig, type PointConfig } from '../src/engine/config.js';
import { expandProfile, validateOverrides } from '../src/sweep/expand.js';

const count = (points: readonly PointConfig[], predicate: (c: PointConfig) => boolean) => points.filter(predicate).length;
const reasons = (dropped: { reason: string }[]) => [...new Set(dropped.map((d) => d.reason))];

describe('profiles', () => {
  test('smoke on the cpu backend: 16 points over the three paths, variants collapsed once', () => {
    const { points, dropped, notes } = expandProfile(PROFILES.smoke, 'cpu');
    assert.equal(points.length, 16);
    assert.equal(count(points, (c) => c.path === 'encoder'), 4);
    assert.equal(count(points, (c) => c.path === 'decoder'), 4);
    assert.equal(count(points, (c) => c.path === 'decoding'), 8);
    assert.equal(count(points, (c) => c.top_k === 4), 2);
    assert.equal(count(points, (c) => c.top_p === 0.75), 2);
    assert.ok(points.every((c) => c.variant === 'reference' && c.precision === 'fp32' && c.backend === 'cpu'));
    assert.deepEqual(dropped, []);
    assert.deepEqual(notes, ['the cpu backend has one variant, reference: fused and unfused run once, as reference']);
    // max_seq: the largest seq of the sweep, or mem_len when that is larger.
    assert.deepEqual([...new Set(points.filter((c) => c.path === 'encoder').map((c) => c.max_seq))], [32]);
    assert.deepEqual([...new Set(points.filter((c) => c.path !== 'encoder').map((c) => c.max_seq))], [16]);
  });

  test('smoke on cuda: both variants, side by side', () => {
    const { points, notes } = expandProfile(PROFILES.smoke, 'cuda');
    assert.equal(points.length, 32);
    assert.deepEqual(points.slice(0, 2).map((c) => c.variant), ['unfused', 'fused']);
    assert.deepEqual(notes, []);
  });

  test("a100 is FasterTransformer's matrix", () => {
    const { points, dropped } = expandProfile(PROFILES.a100, 'cuda');
    assert.deepEqual(dropped, []);
    const encoder = points.filter((c) => c.path === 'encoder');
    assert.equal(encoder.length, 4 * 2 * 3 * 3); // precisions (fp8 too) x variants x batch x seq
    assert.deepEqual([...new Set(encoder.map((c) => c.seq))], [32, 128, 384]);
    assert.ok(encoder.every((c) => c.layers === 12 && c.heads === 12 && c.head_size === 64 && c.inter_size === 3072));
    assert.equal(count(points, (c) => c.path === 'decoder'), 3 * 2 * 3 * 3); // x batch x beam
    const decoding = points.filter((c) => c.path === 'decoding');
    // beam {1,4,32} + top-k {4,32} + top-p 0.75; and fp8 beam search at beam {1,4} (x batch x variants)
    assert.equal(decoding.length, 3 * 2 * 3 * (3 + 2 + 1) + 3 * 2 * 2);
    assert.ok(decoding.every((c) => c.layers === 6 && c.heads === 8 && c.head_size === 64 && c.inter_size === 2048
      && c.vocab === 31538 && c.seq === 128 && c.mem_len === 128));
    assert.deepEqual([...new Set(points.map((c) => c.precision))], ['fp32', 'fp16', 'bf16', 'fp8']);
    // fp8: the encoder (18) and the beam-search decoding at beam 1 and 4 (x batch x variants: 12).
    assert.deepEqual([...new Set(points.filter((c) => c.precision === 'fp8').map((c) => c.path))], ['encoder', 'decoding']);
    assert.deepEqual([...new Set(points.filter((c) => c.precision === 'fp8' && c.path === 'decoding').map((c) => c.beam))], [1, 4]);
    assert.equal(points.length, 216 + 18 + 12);
  });

  test('h100 adds tf32, batch up to 256 and encoder seq 512 and 1024', () => {
    const { points, dropped } = expandProfile(PROFILES.h100, 'cuda');
    assert.deepEqual(dropped, []);
    assert.deepEqual([...new Set(points.map((c) => c.precision))], ['fp32', 'tf32', 'fp16', 'bf16', 'fp8']);
    const encoder = points.filter((c) => c.path === 'encoder');
    assert.deepEqual([...new Set(encoder.map((c) => c.batch))], [1, 8, 32, 64, 128, 256]);
    assert.deepEqual([...new Set(encoder.map((c) => c.seq))], [32, 128, 384, 512, 1024]);
    assert.equal(encoder.length, 5 * 2 * 6 * 5);
    assert.deepEqual([...new Set(points.filter((c) => c.path === 'decoding').map((c) => c.batch))], [1, 8, 128, 256]);
    assert.equal(points.length, 5 * 2 * 6 * 5 + 4 * 2 * 4 * (3 + 3 + 2 + 1) + 2 * 4 * 2); // + fp8 decoding: beam {1,4}
  });

  test('every point of every profile passes validateConfig, on both backends', () => {
    for (const profile of Object.values(PROFILES)) {
      for (const backend of ['cpu', 'cuda'] as const) {
        for (const config of expandProfile(profile, backend).points) assert.doesNotThrow(() => validateConfig(config));
      }
    }
  });

  test('the a100 profile on the cpu backend drops the precisions it cannot run, with the reason', () => {
    const { points, dropped } = expandProfile(PROFILES.a100, 'cpu');
    assert.equal(points.length, 216 / 2 / 3);
    // fp16 and bf16 beside each fp32 point; the fp8 encoder's 3 x 3 batch x seq; fp8 decoding's 3 x 2 batch x beam
    // (the cpu backend's one variant).
    assert.equal(dropped.length, 2 * points.length + 9 + 6);
    assert.deepEqual(reasons(dropped).filter((r) => r.startsWith('BERT-base encoder')), [
      'BERT-base encoder: precision fp16 on the cpu backend: it runs fp32 only',
      'BERT-base encoder: precision bf16 on the cpu backend: it runs fp32 only',
      'BERT-base encoder fp8: precision fp8 on the cpu backend: the cpu backend emulates fp8 only as the reference of cuda fp8 points (it measures fp32)',
    ]);
    assert.equal(dropped[0].config.precision, 'fp16');
  });

  test('an unknown profile names the field and the choices', () => {
    assert.throws(() => getProfile('nope'), { name: 'ConfigError', message: 'profile must be one of smoke, a100, h100, decoding, stability, got nope' });
    assert.throws(() => getProfile('toString'), { message: 'profile must be one of smoke, a100, h100, decoding, stability, got toString' });
  });
});

describe('overrides', () => {
  test('--path filters sweeps; --batch replaces the axis in every sweep', () => {
    const { points } = expandProfile(PROFILES.smoke, 'cpu', { path: ['encoder', 'decoder'], batch: [2] });
    assert.equal(points.length, 2 + 2);
    assert.ok(points.every((c) => c.batch === 2 && c.path !== 'decoding'));
  });

  test('--steps replaces seq on the decoder and decoding only; --seq everywhere else', () => {
    const { points } = expandProfile(PROFILES.smoke, 'cpu', { seq: [12], steps: [5, 6] });
    assert.deepEqual([...new Set(points.filter((c) => c.path === 'encoder').map((c) => c.seq))], [12]);
    assert.deepEqual([...new Set(points.filter((c) => c.path !== 'encoder').map((c) => c.seq))], [5, 6]);
    assert.deepEqual([...new Set(points.filter((c) => c.path !== 'encoder').map((c) => c.max_seq))], [16]); // mem_len 16
    const longer = expandProfile(PROFILES.smoke, 'cpu', { steps: [40] }).points.filter((c) => c.path === 'decoding');
    assert.ok(longer.every((c) => c.max_seq === 40));
  });

  test('model dims, seed, full_length and graph reach every point', () => {
    const { points } = expandProfile(PROFILES.smoke, 'cpu', { layers: 3, heads: 4, head_size: 8, inter_size: 32, vocab: 50, seed: 7, full_length: true, graph: false });
    assert.ok(points.every((c) => c.layers === 3 && c.heads === 4 && c.head_size === 8 && c.inter_size === 32
      && c.seed === 7 && c.full_length && !c.graph));
    assert.ok(points.filter((c) => c.path === 'decoding').every((c) => c.vocab === 50));
  });

  test('graph: fused replays one and unfused launches eagerly unless told; only the unfused encoder can replay one', () => {
    const graphs = (overrides = {}) => expandProfile(PROFILES.smoke, 'cuda', overrides);
    const byDefault = graphs().points;
    assert.ok(byDefault.every((c) => c.graph === (c.variant === 'fused')));
    const everyGraph = graphs({ graph: true });
    assert.ok(everyGraph.points.every((c) => c.graph && (c.variant === 'fused' || c.path === 'encoder')));
    assert.equal(count(everyGraph.points, (c) => c.variant === 'unfused'), 4);
    assert.ok(reasons(everyGraph.dropped).includes(
      'decoder and beam-search decoding, 8 steps: graph on the unfused decoding: it launches each step from the host (only the encoder\'s unfused forward replays a graph)'));
    assert.ok(graphs({ graph: false }).points.every((c) => !c.graph));
  });

  test('beam > 1 on the encoder is dropped with the reason', () => {
    const { points, dropped } = expandProfile(PROFILES.smoke, 'cpu', { beam: [4] });
    assert.equal(count(points, (c) => c.path === 'encoder'), 0);
    assert.ok(reasons(dropped).includes('encoder: beam 4 on the encoder: beam width applies to the decoder and decoding paths'));
    assert.ok(reasons(dropped).includes('top-k sampling, 8 steps: top_k 4 with beam 4: sampling needs beam 1 (a wider beam runs beam search)'));
    assert.ok(reasons(dropped).includes('top-p sampling, 8 steps: top_p 0.75 with beam 4: sampling needs beam 1 (a wider beam runs beam search)'));
    assert.equal(points.length, 2 + 2); // decoder and decoding, batch {1, 4}, beam 4
  });

  test('sampling settings on the encoder or decoder are dropped with the reason', () => {
    const { points, dropped } = expandProfile(PROFILES.smoke, 'cpu', { top_k: [2] });
    assert.ok(points.every((c) => c.path === 'decoding' && c.top_k === 2 && c.beam === 1));
    assert.ok(reasons(dropped).includes('encoder: top_k 2 on the encoder: sampling applies to the decoding path only'));
    assert.ok(reasons(dropped).includes('decoder and beam-search decoding, 8 steps: top_k 2 on the decoder: sampling applies to the decoding path only'));
  });

  test('temperature without top_k or top_p is dropped: it would only repeat greedy search', () => {
    const { points, dropped } = expandProfile(PROFILES.smoke, 'cpu', { path: ['decoding'], beam: [1], temperature: [0.5] });
    assert.ok(points.every((c) => c.top_k > 0 || c.top_p > 0));
    assert.deepEqual(reasons(dropped), [
      'decoder and beam-search decoding, 8 steps: temperature 0.5 without top_k or top_p: temperature only changes sampling',
    ]);
  });

  test('duplicates are dropped: top_k 0 turns the top-k sweep into greedy points already listed', () => {
    const { points, dropped } = expandProfile(PROFILES.smoke, 'cpu', { path: ['decoding'], top_k: [0] });
    assert.equal(points.length, 4 + 2); // beam search {1,4} x batch {1,4}, top-p x batch
    assert.deepEqual(reasons(dropped), ['top-k sampling, 8 steps: duplicate of an earlier point']);
    assert.equal(dropped.length, 2);
  });

  test('a variant the cuda backend does not have is dropped with the reason', () => {
    const { points, dropped } = expandProfile(PROFILES.smoke, 'cuda', { variant: ['reference', 'fused'] });
    assert.ok(points.every((c) => c.variant === 'fused'));
    assert.equal(dropped.length, points.length);
    assert.deepEqual(reasons(dropped)[0], 'encoder: variant reference on the cuda backend: it runs fused, unfused');
  });

  test('an override that fits no point is refused by the config rules, naming the field', () => {
    const refused = (overrides: Parameters<typeof validateOverrides>[0], message: string) =>
      assert.throws(() => validateOverrides(overrides), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.message, message);
        return true;
      });
    refused({ batch: [1, 0] }, 'batch must be 1..4096, got 0');
    refused({ beam: [64] }, 'beam must be 1..32, got 64');
    refused({ seq: [5000] }, 'seq must be 1..4096, got 5000');
    refused({ steps: [0] }, 'steps must be 1..4096, got 0');
    refused({ batch: [1.5] }, 'batch must be an integer, got 1.5');
    refused({ top_k: [2000] }, 'top_k must be 0..1024, got 2000');
    refused({ top_p: [1.5] }, 'top_p must be 0..1, got 1.5');
    refused({ temperature: [0] }, 'temperature must be > 0, got 0');
    refused({ layers: 65 }, 'layers must be 1..64, got 65');
    refused({ heads: 0 }, 'heads must be 1..128, got 0');
    refused({ head_size: 257 }, 'head_size must be 1..256, got 257');
    refused({ inter_size: 0 }, 'inter_size must be 1..65536, got 0');
    refused({ vocab: 1 }, 'vocab must be 2..1048576, got 1');
    refused({ seed: -1 }, 'seed must be 0..9007199254740991, got -1');
    assert.doesNotThrow(() => validateOverrides({ batch: [1, 4096], beam: [32], steps: [4096], top_p: [0, 1], vocab: 31538 }));
  });

  test('a point that breaks a cross-field rule stops the expansion with the config message', () => {
    // beam 16 needs a vocabulary of at least 32.
    assert.throws(() => expandProfile(PROFILES.smoke, 'cpu', { path: ['decoding'], beam: [16], vocab: 16 }), {
      name: 'ConfigError', message: 'beam must be 1..8, got 16',
    });
  });

  test('a profile without that path yields nothing (the CLI reports it)', () => {
    const encoderOnly: Profile = { ...PROFILES.smoke, sweeps: [PROFILES.smoke.sweeps[0]] };
    assert.deepEqual(expandProfile(encoderOnly, 'cpu', { path: ['decoding'] }), { points: [], dropped: [], notes: [] });
  });
});
