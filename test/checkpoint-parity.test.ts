// A checkpoint's parity reference (issue 19): `bench --model` asks the peer worker for transformers'
// own output of the point's ids (the hf_hidden request) and records parity_rel_err against it, or,
// where the worker has no transformers, falls back to the CPU reference and records why. CI runs the
// stand-in worker (test/support/peer-standin.mjs), which answers hf_hidden from the committed fixture's
// expected.json (transformers' float64 output): the recorded error must be the CPU backend's error
// against exactly those values, which no other comparison gives.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkOutputs, relativeL2, type ReferenceOutputs } from '../src/check/correctness.js';
import type { PointConfig } from '../src/engine/config.js';
import type { NativeOutputs } from '../src/engine/native.js';
import { PEER_WORKER_ENV } from '../src/engine/peer-worker-client.js';
import { readResults } from '../src/results/reader.js';
import { addonOrSkip } from './harness-fixtures.js';
import { runCheckpoint } from './support/checkpoint-run.js';
import { STANDIN } from './support/peer-standin-command.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(REPO, 'dist/src/cli/main.js');
const FIXTURES = path.join(REPO, 'test/fixtures/checkpoints');
const { addon, skip } = addonOrSkip();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-parity-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

interface Expected {
  ids: number[][];
  lengths: number[];
  last_hidden_state: number[][][];
}

/** `bench --model <fixture>` on the cpu backend with the stand-in as the peer worker; the run's results (exit 1: a point incorrect). */
function bench(family: string, runId: string, extra: string[], env: Record<string, string> = {}, status = 0) {
  const out = path.join(root, runId);
  const args = ['bench', '--profile', 'smoke', '--backend', 'cpu', '--model', path.join(FIXTURES, family), ...extra,
    '--min-samples', '3', '--min-time', '0', '--warmup', '0', '--out', out, '--run-id', runId];
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8', cwd: REPO, env: { ...process.env, [PEER_WORKER_ENV]: STANDIN.join(' '), ...env },
  });
  assert.equal(result.status, status, result.stdout + result.stderr);
  return { stdout: result.stdout, results: readResults(path.join(out, `${runId}.json`)).results };
}

describe('bench --model: the parity reference', { skip }, () => {
  for (const family of ['bert', 'roberta', 'distilbert']) {
    test(`${family}: parity_rel_err against transformers' output of the fixture's ids`, () => {
      const expectedFile = path.join(FIXTURES, family, 'expected.json');
      const expected = JSON.parse(fs.readFileSync(expectedFile, 'utf8')) as Expected;
      const { stdout, results } = bench(family, `hf-${family}`, ['--inputs', expectedFile]);
      assert.match(stdout, /parity: against transformers standin/);
      assert.deepEqual(results.env.parity, { reference: 'transformers', transformers: 'standin', python: 'standin', torch: 'standin', device: 'Stand-in GPU' });
      const [point] = results.points;
      assert.equal(point.status, 'ok');
      assert.equal(point.correct, true);
      assert.equal(point.parity_reference, 'transformers');
      // The CPU backend against the float32 values the stand-in sent: small, but not 0 (the CPU
      // reference itself would give 0 or nothing).
      const cpu = runCheckpoint(addon!, 'cpu', path.join(FIXTURES, family), expected.ids, expected.lengths).hidden;
      const want = relativeL2(cpu, Float32Array.from(expected.last_hidden_state.flat(2)));
      assert.ok(want > 0 && want <= 1e-5, `cpu vs transformers ${want}`);
      assert.ok(Math.abs(point.parity_rel_err! - want) <= 1e-3 * want, `recorded ${point.parity_rel_err}, expected ${want}`);
      const parityCheck = point.checks.find((c) => c.name === 'checkpoint parity vs transformers');
      assert.equal(parityCheck?.ok, true, JSON.stringify(point.checks));
    });
  }

  test('a failed transformers reference fails the point\'s parity check, with its reason', () => {
    // Seeded ids: not the fixture's, so the stand-in cannot answer (as a folder transformers cannot load).
    const { results } = bench('bert', 'hf-failed', ['--batch', '2', '--seq', '8'], {}, 1);
    const [point] = results.points;
    assert.equal(point.status, 'ok');
    assert.equal(point.correct, false);
    assert.equal(point.parity_reference, 'transformers');
    assert.equal(point.parity_rel_err, undefined);
    const parityCheck = point.checks.find((c) => c.name === 'checkpoint parity vs transformers');
    assert.equal(parityCheck?.ok, false);
    assert.match(parityCheck?.detail ?? '', /the reference failed: .*knows transformers' output for .*expected\.json's ids and lengths only/);
  });

  test('without transformers: the cpu reference, with the reason recorded', () => {
    const expectedFile = path.join(FIXTURES, 'bert', 'expected.json');
    const { stdout, results } = bench('bert', 'hf-absent', ['--inputs', expectedFile], { FTB_STANDIN_NO_TORCH: '1' });
    assert.deepEqual(results.env.parity, { reference: 'cpu', reason: 'no transformers: python standin has no torch' });
    assert.match(stdout, /parity: against the cpu reference \(no transformers: python standin has no torch\)/);
    const [point] = results.points;
    // A cpu point is the CPU reference: nothing to compare with.
    assert.equal(point.correct, true);
    assert.equal(point.parity_reference, undefined);
  });
});

describe('checkOutputs: which reference a checkpoint is compared with', () => {
  const config = {
    path: 'encoder', variant: 'fused', precision: 'fp16', backend: 'cuda', batch: 1, seq: 2, heads: 1, head_size: 2, full_length: true,
    model: { dir: 'm', type: 'bert', name: 'm', sha256: '0'.repeat(64), weights: [] },
  } as unknown as PointConfig;
  const outputs = (hidden: number[]): NativeOutputs => ({
    hidden: Float32Array.from(hidden), lengths: Int32Array.from([2]), outputIds: new Int32Array(), stepIds: new Int32Array(),
    parentIds: new Int32Array(), cumLogProbs: new Float32Array(), scores: new Float32Array(), stepsRun: 1,
  });
  const out = outputs([1, 2, 3, 4]);
  const cpu: ReferenceOutputs = { name: 'cpu', outputs: outputs([1, 2, 3, 4]) };
  const hf: ReferenceOutputs = { name: 'transformers', outputs: outputs([1, 2, 3, 4.001]) };

  test('transformers when given, else the cpu reference', () => {
    const withHf = checkOutputs(config, out, [cpu], hf);
    assert.equal(withHf.parity_reference, 'transformers');
    assert.equal(withHf.parity_rel_err, relativeL2(out.hidden, (hf as { outputs: NativeOutputs }).outputs.hidden));
    assert.equal(withHf.max_rel_err, 0, 'max_rel_err stays the engine references\'');
    const cpuOnly = checkOutputs(config, out, [cpu]);
    assert.deepEqual([cpuOnly.parity_reference, cpuOnly.parity_rel_err], ['cpu', 0]);
  });

  test('over the limit fails', () => {
    const far: ReferenceOutputs = { name: 'transformers', outputs: outputs([1, 2, 3, 5]) };
    const verdict = checkOutputs(config, out, [cpu], far);
    assert.equal(verdict.correct, false);
    assert.match(verdict.checks.at(-1)!.detail!, /relative L2 error .* > 0.002/);
  });
});
