// The peer backend against the CI stand-in worker (test/support/peer-standin.mjs, which speaks the
// protocol of peers/torch/PROTOCOL.md with a formula model): availability, the protocol round
// trip, peer points through the runner, and what a crash, a hang or a coded failure makes of a point.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { DEFAULT_CONFIG, type PeerVariantName, type PointConfig } from '../src/engine/config.js';
import { TensorId, type NativeOutputs } from '../src/engine/native.js';
import { PeerBackend, type PeerTimeouts } from '../src/engine/peer-model.js';
import { probePeers } from '../src/engine/peer-worker-client.js';
import type { ReferenceSource } from '../src/check/references.js';
import { runPoint } from '../src/measure/runner.js';
import { PointSchema } from '../src/results/schema.js';
import type { Measurement } from '../src/sweep/axes.js';
import { addonOrSkip } from './harness-fixtures.js';
import { STANDIN } from './support/peer-standin-command.js';

const FAST: PeerTimeouts = { load_ms: 10_000, request_ms: 10_000 };
const measurement: Measurement = { min_samples: 3, min_time_ms: 0, max_noise_pct: 1, timeout_ms: 10_000, warmup_ms: 0 };

/** Runs `body` with the stand-in's knobs set in the environment its workers start with. */
async function withKnobs<T>(knobs: Record<string, string>, body: () => Promise<T>): Promise<T> {
  Object.assign(process.env, knobs);
  try {
    return await body();
  } finally {
    for (const name of Object.keys(knobs)) delete process.env[name];
  }
}

/** A file the stand-in logs its requests to, and their ops so far. */
function requestLog() {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-standin-')), 'requests.jsonl');
  const requests = () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line)) : []);
  return { file, requests, ops: () => requests().map((r: { op: string }) => r.op) };
}

describe('peer availability', () => {
  test('the stand-in says hello with its versions and peers', async () => {
    const probe = await probePeers(STANDIN);
    assert.equal(probe.unavailable, undefined);
    assert.deepEqual(probe.hello?.peers, ['torch-eager', 'torch-graph', 'torch-compile', 'hf-generate']);
    assert.equal(probe.hello?.device, 'Stand-in GPU');
  });

  test('no torch, or no python at all: unavailable with the reason, never an error', async () => {
    const noTorch = await withKnobs({ FTB_STANDIN_NO_TORCH: '1' }, () => probePeers(STANDIN));
    assert.equal(noTorch.unavailable, 'python standin has no torch');
    const missing = await probePeers(['ftbench-no-such-python3', 'worker.py']);
    assert.equal(missing.hello, undefined);
    assert.equal(missing.unavailable, 'cannot start the peer worker (ftbench-no-such-python3 worker.py): spawn ftbench-no-such-python3 ENOENT');
  });
});

const { addon, skip } = addonOrSkip();

const peerPoint = (variant: PeerVariantName, overrides: Partial<PointConfig> = {}): PointConfig => ({
  ...DEFAULT_CONFIG, backend: 'cuda', path: 'encoder', variant, precision: 'fp16', graph: variant === 'torch-graph',
  layers: 2, heads: 2, head_size: 4, inter_size: 16, batch: 2, seq: 5, max_seq: 8, ...overrides,
});

/** The stand-in's encoder outputs for `c`: the engine's input with rows past each length zeroed. */
function standinEncoderOutputs(c: PointConfig): NativeOutputs {
  const native = { ...c, variant: 'reference', precision: 'fp32' };
  const h = c.heads * c.head_size;
  const hidden = addon!.tensor(native, TensorId.EncoderInput, 0, c.batch * c.seq * h);
  const lengths = Int32Array.from({ length: c.batch }, (_, b) => addon!.sequenceLength(native, TensorId.EncoderLengths, b, c.seq));
  for (let b = 0; b < c.batch; b++) hidden.fill(0, (b * c.seq + lengths[b]) * h, (b + 1) * c.seq * h);
  return {
    hidden, lengths, outputIds: new Int32Array(), stepIds: new Int32Array(), parentIds: new Int32Array(),
    cumLogProbs: new Float32Array(), scores: new Float32Array(), stepsRun: 1,
  };
}

/** References that hold what the stand-in computes, standing for the unfused variant. */
const standinReferences: ReferenceSource = {
  of: (c) => [{ name: 'unfused', outputs: standinEncoderOutputs(c) }],
  offer: () => {},
};

/** A peer point of `variant` run by `peers`, against references holding the stand-in's outputs. */
const runPeer = (peers: PeerBackend, variant: PeerVariantName) =>
  runPoint(peerPoint(variant), { measurement, addon, peers, references: standinReferences });

describe('peer points through the runner (stand-in worker)', { skip }, () => {
  const backends: PeerBackend[] = [];
  const backend = (timeouts = FAST) => {
    const created = new PeerBackend(addon!, { command: STANDIN, timeouts });
    backends.push(created);
    return created;
  };
  after(async () => {
    for (const created of backends) await created.close();
  });

  test('the protocol round trip: load, measure, run, outputs, release, on the engine\'s inputs', async () => {
    const log = requestLog();
    const peers = backend();
    const c = peerPoint('torch-graph');
    const model = await withKnobs({ FTB_STANDIN_LOG: log.file }, () => peers.load({ ...c, variant: 'torch-graph' }));
    assert.deepEqual(model.notes(), { peer: 'torch-graph', standin: 'true', load_s: '0.010', compile_s: '0.020' });
    // 0.001 ms · layers · batch · beam · seq, × 1.05 cold.
    assert.deepEqual(await model.measure(3, true), { ms: 0.001 * 2 * 2 * 1 * 5 * 1.05, smClockMhz: 1980 });
    await model.run();
    const outputs = await model.outputs();
    assert.deepEqual(outputs, standinEncoderOutputs(c));
    assert.deepEqual(model.gemms(), []);
    await model.release();
    assert.deepEqual(log.ops(), ['load', 'measure', 'run', 'outputs', 'release']);
    const load = log.requests()[0];
    const { backend: _backend, mode: _mode, ...native } = c;
    assert.deepEqual(load.config, native);
    assert.equal(fs.readFileSync(path.join(load.checkpoint, 'config.json'), 'utf8').includes('"model_type": "bert"'), true);
  });

  test('a peer point: measured by the runner, checked against its references, with the schema of every point', async () => {
    const peers = backend();
    const point = await runPeer(peers, 'torch-eager');
    assert.equal(point.status, 'ok', point.error);
    assert.equal(point.correct, true);
    assert.equal(point.max_rel_err, 0);
    assert.deepEqual(point.checks.map((check) => [check.name, check.ok]),
      [['output sizes', true], ['hidden finite', true], ['lengths in 1..5', true], ['padded rows zero', true], ['hidden vs unfused', true]]);
    // torch-eager: 0.002 ms · layers · batch · seq; under 1 ms: cold samples (× 1.05).
    assert.ok(point.samples_ms.length >= 3 && point.samples_ms.every((ms) => Math.abs(ms - 0.002 * 2 * 2 * 5 * 1.05) < 1e-12));
    assert.equal(point.summary?.mode, 'cold');
    assert.equal(point.summary?.sm_clock_mhz, 1980);
    assert.deepEqual(point.notes, { peer: 'torch-eager', standin: 'true', load_s: '0.010' });
    assert.doesNotThrow(() => PointSchema.parse(point));
  });

  test('hf-generate: measured, its outputs unchecked, the reason in its notes', async () => {
    const c = peerPoint('hf-generate', { path: 'decoding', vocab: 64, beam: 2, seq: 4, mem_len: 3 });
    const point = await runPoint(c, { measurement, addon, peers: backend(), references: standinReferences });
    assert.equal(point.status, 'ok', point.error);
    assert.equal(point.correct, null);
    assert.deepEqual(point.checks, []);
    assert.match(point.notes.correctness, /^unchecked: hf-generate runs generate\(\)'s own search/);
    assert.equal(point.summary?.tokens_per_s, (2 * 4) / (point.summary!.gpu_ms_median / 1000));
  });

  test('a worker that crashes fails its point; the next point starts a fresh worker', async () => {
    const peers = backend();
    const crashed = await withKnobs({ FTB_STANDIN_CRASH: 'measure' }, () =>
      runPeer(peers, 'torch-eager'));
    assert.equal(crashed.status, 'error');
    assert.equal(crashed.error, 'measure: the peer worker exited (exit code 3)');
    assert.equal(crashed.summary, null);
    const next = await runPeer(peers, 'torch-eager');
    assert.equal(next.status, 'ok', next.error);
  });

  test('a worker that hangs is killed at the request\'s timeout: an error point', async () => {
    const peers = backend({ load_ms: 10_000, request_ms: 300 });
    const started = Date.now();
    const hung = await withKnobs({ FTB_STANDIN_HANG: 'measure:2' }, () =>
      runPeer(peers, 'torch-eager'));
    assert.equal(hung.status, 'error');
    assert.equal(hung.error, 'measure: the peer worker did not answer within 0.3 s (killed)');
    assert.ok(Date.now() - started < 5000);
  });

  test('coded failures: OOM -> oom, a config the peer cannot run -> error; the worker stays in use', async () => {
    const log = requestLog();
    const peers = backend();
    const points = await withKnobs({ FTB_STANDIN_FAIL: 'measure:ERR_FTB_OOM:2', FTB_STANDIN_LOG: log.file },
      async () => [await runPeer(peers, 'torch-eager'), await runPeer(peers, 'torch-eager')]);
    assert.deepEqual(points.map((p) => [p.status, p.error]), [
      ['oom', 'measure: stand-in failure injected at measure (FTB_STANDIN_FAIL)'],
      ['oom', 'measure: stand-in failure injected at measure (FTB_STANDIN_FAIL)'],
    ]);
    // One worker served both points (one log), each model released after its failure.
    assert.deepEqual(log.ops().filter((op: string) => op !== 'measure'), ['load', 'release', 'load', 'release']);
    const refused = await withKnobs({ FTB_STANDIN_FAIL: 'load:ERR_FTB_CONFIG' }, () =>
      runPeer(backend(), 'torch-compile'));
    assert.deepEqual([refused.status, refused.error], ['error', 'load: stand-in failure injected at load (FTB_STANDIN_FAIL)']);
  });

  test('a worker without torch fails its peer points with the reason, and is not asked again', async () => {
    const log = requestLog();
    const peers = backend();
    const points = await withKnobs({ FTB_STANDIN_NO_TORCH: '1', FTB_STANDIN_LOG: log.file },
      async () => [await runPeer(peers, 'torch-eager'), await runPeer(peers, 'torch-graph')]);
    assert.deepEqual(points.map((p) => [p.status, p.error]), [
      ['error', 'peers unavailable: load: python3 has no torch'], ['error', 'peers unavailable: load: python3 has no torch'],
    ]);
    assert.deepEqual(log.ops(), ['load']);
  });
});
