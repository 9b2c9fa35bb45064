// End to end on the CPU reference: `bench --profile smoke --batch 1` writes the stream, the JSON and
// the CSV; every point is ok and correct; the files read back as the same run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { suiteUnless } from './support/suite.js';
import { fileURLToPath } from 'node:url';
import { CSV_HEADER } from '../reporters/csv.js';
import { readResults } from '../src/results/reader.js';
import { addonOrSkip } from './harness-fixtures.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const { skip } = addonOrSkip();

suiteUnless('bench end to end', skip, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-e2e-'));
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  test('smoke, batch 1, on the cpu backend', () => {
    const summary = path.join(out, 'summary.md');
    // --backend cpu: on a GPU machine the default would be cuda.
    const args = ['bench', '--profile', 'smoke', '--batch', '1', '--backend', 'cpu', '--out', out, '--run-id', 'e2e', '--markdown', summary];
    const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    // Not a terminal: progress is one plain line per point on stderr.
    const progress = result.stderr.trimEnd().split('\n');
    assert.equal(progress.length, 8, result.stderr);
    progress.forEach((line, i) => assert.match(line, new RegExp(`^\\[${i + 1}/8\\] (encoder|decoder|decoding) reference fp32 b1 .*\\(ETA (-|\\d+s)\\)$`)));
    assert.equal(result.status, 0, result.stdout);
    assert.deepEqual(fs.readdirSync(out).sort(), ['e2e.csv', 'e2e.json', 'e2e.jsonl', 'summary.md']);

    const { results, warnings } = readResults(path.join(out, 'e2e.json'));
    assert.deepEqual(warnings, []);
    const { points, run, env } = results;
    // batch 1: encoder seq {16, 32}; decoder beam {1, 4}; decoding beam {1, 4}, top-k 4, top-p 0.75.
    assert.deepEqual(points.map((p) => `${p.config.path} b${p.config.batch} beam${p.config.beam} s${p.config.seq} k${p.config.top_k} p${p.config.top_p}`), [
      'encoder b1 beam1 s16 k0 p0', 'encoder b1 beam1 s32 k0 p0',
      'decoder b1 beam1 s8 k0 p0', 'decoder b1 beam4 s8 k0 p0',
      'decoding b1 beam1 s8 k0 p0', 'decoding b1 beam4 s8 k0 p0', 'decoding b1 beam1 s8 k4 p0', 'decoding b1 beam1 s8 k0 p0.75',
    ]);
    for (const point of points) {
      assert.equal(point.status, 'ok', point.key);
      assert.equal(point.correct, true, point.key);
      assert.ok(point.checks.length >= 3 && point.checks.every((c) => c.ok), point.key);
      assert.equal(point.max_rel_err, null);
      assert.ok(point.samples_ms.length >= 20, `${point.key}: ${point.samples_ms.length} samples`);
      // The stop rule's minimum of backend time, unless the wall-clock timeout stopped the point first
      // (a loaded machine: the timeout is wall time, the minimum backend time).
      const backendMs = point.samples_ms.reduce((a, b) => a + b, 0);
      assert.ok(backendMs >= 200 || point.summary!.stop_reason === 'timeout', `${point.key}: at least 200 ms of backend time (${backendMs} ms, ${point.summary!.stop_reason})`);
      assert.ok(point.summary!.gpu_ms_p10 <= point.summary!.gpu_ms_median && point.summary!.gpu_ms_median <= point.summary!.gpu_ms_p90);
      assert.ok(point.summary!.tokens_per_s > 0 && point.summary!.tflops! > 0);
    }
    assert.equal(run.profile, 'smoke');
    assert.equal(run.backend, 'cpu');
    assert.equal(run.command, `ftbench ${args.join(' ')}`);
    assert.ok(run.wall_s! > 0 && run.finished_at !== null);
    assert.equal(env.device.backend, 'cpu');
    assert.equal(env.host.node, process.version);
    assert.ok(env.host.cores >= 1);

    const streamed = readResults(path.join(out, 'e2e.jsonl')).results;
    assert.deepEqual(streamed.points, points);
    const csv = fs.readFileSync(path.join(out, 'e2e.csv'), 'utf8').trimEnd().split('\n');
    assert.equal(csv[0], CSV_HEADER.join(','));
    assert.equal(csv.length, 1 + points.length);
    assert.ok(csv.slice(1).every((line) => line.includes(',ok,') && line.includes(',true,')));
    assert.match(fs.readFileSync(summary, 'utf8'), /^### ftbench run e2e\n\nProfile \*\*smoke\*\* .*: 8 of 8 points ok and correct, 0 combinations dropped/);
    assert.match(result.stdout, /8 of 8 points ok and correct in [\d.]+ s; wrote /);
  });
});
