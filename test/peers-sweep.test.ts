// Peers in a sweep: --peers on the variant axis (where they are added, where dropped and why, the
// a100 profile's peer scope), the run's one hello (env.peers, unavailable peers dropped), a sweep
// with peers run by the point worker against the stand-in, and the gate reporting peer changes
// without failing on them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { describe, test } from 'node:test';
import { PROFILES } from '../suites/index.js';
import { configKey, isPeerVariant, PEER_VARIANTS, type PointConfig } from '../src/engine/config.js';
import { loadAddon } from '../src/engine/native.js';
import { PEER_WORKER_ENV } from '../src/engine/peer-worker-client.js';
import { expandProfile } from '../src/sweep/expand.js';
import { planPeers } from '../src/cli/sweep-plan.js';
import { PointSupervisor } from '../src/run/supervisor.js';
import { PointSchema } from '../src/results/schema.js';
import { compareRuns } from '../src/gate/compare.js';
import { makePoint, makeResults, pointConfig } from './gate-fixtures.js';
import { addonOrSkip } from './harness-fixtures.js';
import { STANDIN } from './support/peer-standin-command.js';

const reasons = (dropped: { reason: string }[]) => [...new Set(dropped.map((d) => d.reason))];
const label = (c: PointConfig) => `${c.path} ${c.variant} b${c.batch} s${c.seq} beam${c.beam}`;

describe('peers on the variant axis', () => {
  test('--peers puts each peer next to the engine variants of its point; hf-generate on decoding only', () => {
    const { points, dropped } = expandProfile(PROFILES.smoke, 'cuda', { peers: ['torch-graph', 'hf-generate'], batch: [1], graph: false });
    assert.deepEqual(points.slice(0, 3).map(label), ['encoder unfused b1 s16 beam1', 'encoder fused b1 s16 beam1', 'encoder torch-graph b1 s16 beam1']);
    // --no-graph leaves the peers alone: torch-graph replays graphs by its name.
    assert.deepEqual(points.slice(0, 3).map((c) => c.graph), [false, false, true]);
    assert.ok(points.filter((c) => c.variant === 'hf-generate').every((c) => c.path === 'decoding'));
    assert.equal(points.filter((c) => c.variant === 'hf-generate').length, points.filter((c) => c.path === 'decoding' && c.variant === 'fused').length);
    assert.deepEqual(reasons(dropped), [
      'encoder: hf-generate on the encoder: it runs the decoding path only',
      'decoder and beam-search decoding, 8 steps: hf-generate on the decoder: it runs the decoding path only',
    ]);
  });

  test('off the cuda backend peers are dropped with the reason; the engine points stay as they were', () => {
    const plain = expandProfile(PROFILES.smoke, 'cpu');
    const { points, dropped, notes } = expandProfile(PROFILES.smoke, 'cpu', { peers: ['torch-eager'] });
    assert.deepEqual(points, plain.points);
    assert.deepEqual(notes, plain.notes);
    assert.equal(dropped.length, points.length);
    assert.deepEqual([...new Set(reasons(dropped).map((r) => r.replace(/^[^:]+: /, '')))], ["variant torch-eager on the cpu backend: peers run on the cuda backend's GPU"]);
  });

  test('a peer the machine cannot run is dropped with what the worker said', () => {
    const { points, dropped } = expandProfile(PROFILES.smoke, 'cuda', { peers: ['torch-eager', 'torch-graph'], path: ['encoder'] },
      { 'torch-graph': 'torch 2.11.0 sees no CUDA GPU' });
    assert.deepEqual([...new Set(points.map((c) => c.variant))], ['unfused', 'fused', 'torch-eager']);
    assert.deepEqual(reasons(dropped), ['encoder: torch-graph unavailable: torch 2.11.0 sees no CUDA GPU']);
  });

  test('a100 --peers: torch peers for every fp16/bf16 encoder and beam-search decoding point, the engine matrix unchanged', () => {
    const engine = expandProfile(PROFILES.a100, 'cuda').points;
    const { points, dropped } = expandProfile(PROFILES.a100, 'cuda', { peers: ['torch-eager', 'torch-graph'] });
    assert.deepEqual(dropped, []);
    assert.deepEqual(points.filter((c) => !isPeerVariant(c.variant)).map(configKey), engine.map(configKey));
    const peers = points.filter((c) => isPeerVariant(c.variant));
    assert.equal(peers.length, 2 * (2 * 3 * 3 + 2 * 3 * 3)); // peers x (encoder: precisions x batch x seq; decoding: x batch x beam)
    assert.ok(peers.every((c) => ['fp16', 'bf16'].includes(c.precision) && c.top_k === 0 && c.top_p === 0 && c.path !== 'decoder'));
    // Each peer point right after the engine variants of the same point (their unfused outputs are its reference).
    for (const [i, c] of points.entries()) {
      if (c.variant === 'torch-eager') assert.deepEqual(points.slice(i - 2, i).map((p) => p.variant), ['unfused', 'fused']);
    }
    assert.ok(!expandProfile(PROFILES.a100, 'cuda', { peers: ['torch-eager'] }).points.some((c) => c.variant === 'torch-compile'));
  });
});

describe("the run's hello", () => {
  const withWorker = async <T>(env: Record<string, string>, body: () => Promise<T>) => {
    Object.assign(process.env, { [PEER_WORKER_ENV]: STANDIN.join(' '), ...env });
    try {
      return await body();
    } finally {
      for (const name of [PEER_WORKER_ENV, ...Object.keys(env)]) delete process.env[name];
    }
  };
  const peerPoints = expandProfile(PROFILES.smoke, 'cuda', { peers: [...PEER_VARIANTS] }).points;

  test('records the worker\'s versions; every peer it offers can run', async () => {
    const plan = await withWorker({}, () => planPeers(peerPoints));
    assert.deepEqual(plan, {
      env: { python: 'standin', torch: 'standin', transformers: 'standin', torch_cuda: 'standin', cudnn: null, device: 'Stand-in GPU' },
      unavailable: {},
    });
  });

  test('without torch every peer variant is unavailable with the reason; a sweep without peers asks nothing', async () => {
    const plan = await withWorker({ FTB_STANDIN_NO_TORCH: '1' }, () => planPeers(peerPoints));
    assert.deepEqual(plan.unavailable, Object.fromEntries(PEER_VARIANTS.map((peer) => [peer, 'python standin has no torch'])));
    const none = await withWorker({ FTB_STANDIN_CRASH: 'hello' }, () => planPeers(expandProfile(PROFILES.smoke, 'cuda').points));
    assert.deepEqual(none, { unavailable: {} });
  });
});

const { skip } = addonOrSkip();

describe('a sweep with peers in the point worker (stand-in)', { skip }, () => {
  test('peer points come back with the schema of every point; the worker and its files go with the sweep', async () => {
    const before = new Set(fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('ftbench-peers-')));
    process.env[PEER_WORKER_ENV] = STANDIN.join(' ');
    const supervisor = new PointSupervisor({
      work: { measurement: { min_samples: 3, min_time_ms: 0, max_noise_pct: 1, timeout_ms: 10_000, warmup_ms: 0 } },
      timeoutMs: 60_000,
    });
    const configs = expandProfile(PROFILES.smoke, 'cuda', { peers: ['torch-eager', 'hf-generate'], batch: [1], seq: [16], steps: [8], beam: [1] })
      .points.filter((c) => isPeerVariant(c.variant));
    try {
      const points = [];
      for (const config of configs) points.push(await supervisor.run(config));
      assert.deepEqual(points.map((p) => `${label(p.config)} ${p.status}`), configs.map((c) => `${label(c)} ok`));
      for (const point of points) {
        assert.doesNotThrow(() => PointSchema.parse(point));
        assert.equal(point.notes.peer, point.config.variant);
        assert.ok(point.summary && point.summary.samples >= 3);
      }
      // The stand-in's "encoder" returns its input: a failed check, not a failed point. Without the
      // cuda backend (CI) the unfused reference cannot run; with it, the outputs differ.
      const encoder = points.find((p) => p.config.path === 'encoder')!;
      assert.equal(encoder.correct, false);
      const cudaBuilt = loadAddon().backends().includes('cuda');
      assert.match(encoder.checks.find((c) => c.name === 'hidden vs unfused')!.detail!,
        cudaBuilt ? /^relative L2 error [0-9.e+-]+ > 0\.00001$/ : /^the reference failed: backend 'cuda' is not built/);
      assert.ok(encoder.checks.filter((c) => !c.name.startsWith('hidden vs')).every((c) => c.ok));
      assert.deepEqual(points.filter((p) => p.config.variant === 'hf-generate').map((p) => p.correct), [null, null, null]);
    } finally {
      supervisor.close();
      delete process.env[PEER_WORKER_ENV];
    }
    const left = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('ftbench-peers-') && !before.has(name));
    for (let waited = 0; waited < 5000 && left().length > 0; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(left(), []);
  });
});

describe('the gate and peers', () => {
  test('a peer point that got slower or incorrect is reported with its verdict, never a regression', () => {
    const samples = (ms: number) => Array.from({ length: 30 }, (_, i) => ms * (1 + 0.001 * (i % 5)));
    const peer = pointConfig({ variant: 'torch-graph', graph: true });
    const eager = pointConfig({ variant: 'torch-eager', graph: false });
    const fused = pointConfig();
    const baseline = makeResults([makePoint(peer, samples(1)), makePoint(eager, samples(1)), makePoint(fused, samples(1))]);
    const slower = makeResults([makePoint(peer, samples(1.5)), makePoint(eager, samples(1), { correct: false }), makePoint(fused, samples(1))]);
    const comparison = compareRuns(baseline, slower);
    assert.equal(comparison.regressions, 0);
    const byVariant = Object.fromEntries(comparison.points.map((p) => [p.config.variant, p]));
    assert.equal(byVariant['torch-graph'].verdict, 'slower');
    assert.match(byVariant['torch-graph'].reason, /\(peer: reported, not gated\)$/);
    assert.equal(byVariant['torch-eager'].verdict, 'incomparable');
    assert.equal(byVariant['torch-eager'].reason, 'correct -> incorrect (max_rel_err 1.00e-3) (peer: reported, not gated)');
    const engineSlower = makeResults([makePoint(peer, samples(1)), makePoint(eager, samples(1)), makePoint(fused, samples(1.5))]);
    assert.equal(compareRuns(baseline, engineSlower).regressions, 1);
  });
});
