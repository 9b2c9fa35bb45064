// Sweeps in shards: --shard K/N slices (every point in exactly one shard), its refusals, merge's
// refusals of shards that are not one sweep's (exact messages), and on the CPU backend, shards run by
// `ftbench bench --shard` and joined by `ftbench merge` against the same sweep run whole.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from '../src/cli/args.js';
import { readResults } from '../src/results/reader.js';
import type { Results } from '../src/results/schema.js';
import { mergeShards } from '../src/sweep/merge-shards.js';
import { parseShard, shardPoints, sweepPosition } from '../src/sweep/shard.js';
import { H100_DEVICE, makePoint, makeResults, pointConfig } from './gate-fixtures.js';
import { addonOrSkip } from './harness-fixtures.js';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = path.join(DIST, 'src/cli/main.js');
const MERGE = path.join(DIST, 'src/cli/merge.js');

describe('--shard K/N', () => {
  test('the shards of a sweep hold every point exactly once, in the sweep\'s order', () => {
    const points = Array.from({ length: 23 }, (_, i) => i);
    for (let count = 1; count <= 8; count += 1) {
      const shards = Array.from({ length: count }, (_, k) => shardPoints(points, { index: k + 1, count }));
      assert.deepEqual(shards.flat().sort((a, b) => a - b), points, `N=${count}`);
      shards.forEach((slice, k) => slice.forEach((point, j) => {
        assert.equal(sweepPosition({ index: k + 1, count }, j), point);
      }));
    }
    assert.deepEqual(shardPoints(points, { index: 2, count: 5 }), [1, 6, 11, 16, 21]);
  });

  test('is K/N with 1 <= K <= N, for bench only', () => {
    assert.deepEqual(parseShard('2/8'), { index: 2, count: 8 });
    assert.deepEqual(parseBenchArgs(['bench', '--shard', '1/1'])?.shard, { index: 1, count: 1 });
    for (const text of ['0/4', '5/4', '2', 'a/b', '1/0', '-1/4']) {
      assert.throws(() => parseShard(text), { message: `--shard must be K/N with 1 <= K <= N <= 100000 (e.g. 2/8), got ${text}` });
    }
    assert.throws(() => parseBenchArgs(['tune', '--shard', '1/2']), { message: '--shard slices the points of a bench sweep: not for tune or --suite gemm' });
    assert.throws(() => parseBenchArgs(['bench', '--suite', 'gemm', '--shard', '1/2']), { message: '--shard slices the points of a bench sweep: not for tune or --suite gemm' });
    assert.throws(() => parseBenchArgs(['bench', '--resume', 'run-1', '--shard', '1/2']), { message: "--resume runs with the run's own options: drop --shard" });
  });
});

/** Shard `index` of `count` of a sweep of batches 1..5 (a run of the points shardPoints gives it). */
function shardRun(index: number, count: number, edit: (results: Results) => Results = (results) => results): { file: string; results: Results } {
  const configs = shardPoints([1, 2, 3, 4, 5].map((batch) => pointConfig({ batch })), { index, count });
  const results = makeResults(configs.map((config) => makePoint(config, [1, 1.1, 1.2])), H100_DEVICE, `sweep-${index}`);
  const sharded = { ...results, run: { ...results.run, options: { repeat: 1, shard: { index, count } } }, env: { ...results.env, git: { commit: 'abc', dirty: false } } };
  return { file: `shard-${index}.json`, results: edit(sharded) };
}

describe('merging shards', () => {
  test('joins them in the sweep\'s order, and says which shards are missing', () => {
    const { results, missing } = mergeShards([shardRun(2, 3), shardRun(1, 3), shardRun(3, 3)], 'sweep', 'ftbench merge sweep.json');
    assert.deepEqual(results.points.map((point) => point.config.batch), [1, 2, 3, 4, 5]);
    assert.deepEqual(missing, []);
    assert.equal(results.run.id, 'sweep');
    assert.equal(results.run.options.shard, undefined);
    assert.deepEqual(results.run.options.merged_shards, {
      count: 3, shards: [1, 2, 3].map((index) => ({ index, run_id: `sweep-${index}`, host: 'test CPU' })),
    });
    assert.deepEqual(mergeShards([shardRun(1, 3), shardRun(3, 3)], 'part', 'ftbench merge').missing, [2]);
  });

  test('refuses shards measured differently, naming what differs', () => {
    const otherDriver = shardRun(2, 2, (r) => ({ ...r, env: { ...r.env, device: { ...r.env.device, driver: '575.1', memory_free_mb: '1' } } }));
    assert.throws(() => mergeShards([shardRun(1, 2), otherDriver], 'x', 'c'),
      { message: 'shard-1.json and shard-2.json differ: device.driver: "580.95.05" vs "575.1"' });
    const otherCommit = shardRun(2, 2, (r) => ({ ...r, env: { ...r.env, git: { commit: 'def', dirty: true } } }));
    assert.throws(() => mergeShards([shardRun(1, 2), otherCommit], 'x', 'c'),
      { message: 'shard-1.json and shard-2.json differ: env.git.commit: "abc" vs "def"; env.git.dirty: false vs true' });
    const otherOptions = shardRun(2, 2, (r) => ({ ...r, run: { ...r.run, profile: 'a100', options: { repeat: 2, shard: { index: 2, count: 2 } } } }));
    assert.throws(() => mergeShards([shardRun(1, 2), otherOptions], 'x', 'c'),
      { message: 'shard-1.json and shard-2.json differ: run.profile: "h100" vs "a100"; run.options.repeat: 1 vs 2' });
    assert.throws(() => mergeShards([shardRun(1, 2), shardRun(2, 3)], 'x', 'c'),
      { message: 'shard-1.json and shard-2.json differ: run.options.shard: 1/2 vs 2/3' });
  });

  test('refuses overlapping points, a shard twice, and a run that is not a shard', () => {
    const overlapping = shardRun(2, 2, (r) => ({ ...r, points: [...r.points, shardRun(1, 2).results.points[0]] }));
    assert.throws(() => mergeShards([shardRun(1, 2), overlapping], 'x', 'c'),
      { message: `shard-1.json and shard-2.json both hold point ${shardRun(1, 2).results.points[0].key}` });
    assert.throws(() => mergeShards([shardRun(1, 2), { ...shardRun(1, 2), file: 'again.json' }], 'x', 'c'),
      { message: 'shard-1.json and again.json are both shard 1/2' });
    const whole = shardRun(1, 1, (r) => ({ ...r, run: { ...r.run, options: { repeat: 1 } } }));
    assert.throws(() => mergeShards([whole], 'x', 'c'),
      { message: 'shard-1.json: not a shard (run.options.shard is absent: shards come from bench --shard K/N)' });
  });
});

const { skip } = addonOrSkip();

describe('bench --shard and merge on the cpu backend', { skip }, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-shards-'));
  after(() => fs.rmSync(out, { recursive: true, force: true }));
  const FAST = ['--profile', 'smoke', '--batch', '1', '--backend', 'cpu', '--min-samples', '3', '--min-time', '0', '--warmup', '0', '--timeout', '0.05'];
  const bench = (...args: string[]) => spawnSync(process.execPath, [BENCH, 'bench', ...FAST, '--out', out, ...args], { encoding: 'utf8' });
  const merge = (...args: string[]) => spawnSync(process.execPath, [MERGE, ...args], { encoding: 'utf8', cwd: out });

  test('the merged shards are the unsharded run\'s points, in its order', () => {
    assert.equal(bench('--run-id', 'whole').status, 0);
    for (const k of [1, 2, 3]) assert.equal(bench('--run-id', `part-${k}`, '--shard', `${k}/3`).status, 0);
    const parts = [1, 2, 3].map((k) => readResults(path.join(out, `part-${k}.json`)).results);
    assert.deepEqual(parts.map((part) => part.points.length), [3, 3, 2]);
    assert.deepEqual(parts.map((part) => part.run.options.shard), [1, 2, 3].map((index) => ({ index, count: 3 })));

    const merged = merge('merged.json', 'part-3.json', 'part-1.json', 'part-2.json');
    assert.equal(merged.status, 0, merged.stderr);
    assert.equal(merged.stdout, 'merge: 8 points from 3 of 3 shards; wrote merged.json, merged.csv\n');
    const { results } = readResults(path.join(out, 'merged.json'));
    const whole = readResults(path.join(out, 'whole.json')).results;
    assert.deepEqual(results.points.map((point) => point.key), whole.points.map((point) => point.key));
    assert.equal(results.run.id, 'merged');
  });

  test('a shard with no points, an existing output and a mismatched shard are refused with one line', () => {
    const empty = bench('--run-id', 'none', '--shard', '9/9');
    assert.equal(empty.status, 2);
    assert.equal(empty.stderr, 'ftbench: --shard 9/9: no points in this shard (the sweep has 8)\n');
    assert.equal(merge('merged.json', 'part-1.json').stderr, 'merge: merged.json already exists: merge writes a new run\n');
    assert.equal(bench('--run-id', 'other-1', '--shard', '1/3', '--seed', '7').status, 0);
    const refused = merge('mixed.json', 'part-2.json', 'other-1.json');
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /^merge: other-1\.json and part-2\.json differ: run\.options\.overrides: \{"batch":\[1\],"seed":7\} vs \{"batch":\[1\]\}\n$/);
    assert.ok(!fs.existsSync(path.join(out, 'mixed.json')));
  });
});
