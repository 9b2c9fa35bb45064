// The gate's command line, run as CI runs it: exit codes, messages, output files, --promote.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Results } from '../src/results/schema.js';
import { H100_DEVICE, lognormalSamples, makePoint, makeResults, pointConfig, seededRandom } from './gate-fixtures.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/gate.js');

let dir: string;

function gate(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function write(name: string, data: unknown): string {
  fs.writeFileSync(path.join(dir, name), typeof data === 'string' ? data : JSON.stringify(data, null, 2));
  return name;
}

/** Every time in the run multiplied by `factor`: samples and summaries. */
function scaled(results: Results, factor: number): Results {
  return {
    ...results,
    points: results.points.map((point) => ({
      ...point,
      samples_ms: point.samples_ms.map((ms) => ms * factor),
      summary: point.summary && {
        ...point.summary,
        gpu_ms_median: point.summary.gpu_ms_median * factor,
        gpu_ms_mean: point.summary.gpu_ms_mean * factor,
        gpu_ms_min: point.summary.gpu_ms_min * factor,
        gpu_ms_max: point.summary.gpu_ms_max * factor,
        gpu_ms_p10: point.summary.gpu_ms_p10 * factor,
        gpu_ms_p90: point.summary.gpu_ms_p90 * factor,
        gpu_ms_stdev: point.summary.gpu_ms_stdev * factor,
        host_ms_median: point.summary.host_ms_median === null ? null : point.summary.host_ms_median * factor,
        tokens_per_s: point.summary.tokens_per_s / factor,
      },
    })),
  };
}

function fixtureRun(id: string, device = H100_DEVICE): Results {
  const random = seededRandom(2024);
  const configs = [1, 8, 32].map((batch) => pointConfig({ batch }));
  return makeResults(configs.map((config) => makePoint(config, lognormalSamples(random, 30, 0.5, 0.03))), device, id);
}

describe('gate CLI', () => {
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-gate-'));
    write('base.json', fixtureRun('h100-base'));
    write('slow.json', scaled(fixtureRun('h100-slow'), 1.2));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a baseline against itself passes (exit 0)', () => {
    const { status, stdout, stderr } = gate('--baseline', 'base.json', '--candidate', 'base.json');
    assert.equal(stderr, '');
    assert.equal(status, 0);
    assert.match(stdout, /\ngate PASS; slower 0, faster 0, same 3, noisy 0, too-few-samples 0, incomparable 0; added 0, removed 0\n$/);
  });

  test('every time x1.2 is a regression (exit 1), with markdown and JSON verdicts', () => {
    const { status, stdout } = gate('--baseline', 'base.json', '--candidate', 'slow.json', '--threshold', '5%',
      '--markdown', 'summary.md', '--json', 'verdicts.json');
    assert.equal(status, 1, stdout);
    assert.match(stdout, /\ngate FAIL: 3 regression\(s\); slower 3,/);
    assert.ok(stdout.split('\n').every((line) => line.length <= 120));
    const verdicts = JSON.parse(fs.readFileSync(path.join(dir, 'verdicts.json'), 'utf8'));
    assert.equal(verdicts.schema, 'ftbench/gate@1');
    assert.equal(verdicts.exit_code, 1);
    assert.equal(verdicts.regressions, 3);
    for (const point of verdicts.points) {
      assert.equal(point.verdict, 'slower');
      assert.ok(Math.abs(point.ratio - 1.2) < 1e-12, String(point.ratio));
      assert.ok(point.ci[0] > 1.1 && point.ci[1] < 1.3, JSON.stringify(point.ci));
    }
    const summary = fs.readFileSync(path.join(dir, 'summary.md'), 'utf8');
    assert.ok(summary.startsWith('### ftbench gate: 3 regression(s)\n'), summary);
  });

  test('a directory as --candidate stands for its newest run; other JSON files there are ignored', () => {
    fs.mkdirSync(path.join(dir, 'runs'));
    const later = (results: Results, at: string): Results => ({ ...results, run: { ...results.run, started_at: at } });
    write('runs/a-newest.json', later(scaled(fixtureRun('h100-newest'), 1.2), '2026-11-23T09:00:00.000Z'));
    write('runs/b-older.json', later(fixtureRun('h100-older'), '2026-11-21T09:00:00.000Z'));
    write('runs/gemm-cache.json', { schema: 'ftbench/gemm-cache@1', entries: [] });
    const { status, stdout } = gate('--baseline', 'base.json', '--candidate', 'runs');
    assert.equal(status, 1, stdout);
    assert.match(stdout, /h100-newest/);
    fs.mkdirSync(path.join(dir, 'empty'));
    const empty = gate('--baseline', 'base.json', '--candidate', 'empty');
    assert.deepEqual([empty.status, empty.stderr], [2, 'gate: empty: no ftbench/results@1 files in this directory\n']);
  });

  test('unusable input exits 2 with one clear line', () => {
    write('package.json', { name: 'not-results' });
    write('broken.json', '{"schema": ');
    const { points: _points, ...withoutPoints } = fixtureRun('h100-bad');
    write('nopoints.json', withoutPoints);
    const cases: [string[], string][] = [
      [['--baseline', 'base.json', '--candidate', 'package.json'],
        'gate: package.json: not an ftbench results file (schema is undefined, expected "ftbench/results@1")\n'],
      [['--baseline', 'base.json', '--candidate', 'nopoints.json'],
        'gate: nopoints.json: invalid results file: points: Invalid input: expected array, received undefined\n'],
      [['--baseline', 'missing.json', '--candidate', 'base.json'], 'gate: missing.json: no such file\n'],
      [['--baseline', 'base.json'], 'gate: --baseline and --candidate are both required (or --promote <run.json>); see --help\n'],
      [['--baseline', 'base.json', '--candidate', 'base.json', '--threshold', '5'],
        'gate: --threshold must be a fraction (0.05) or a percentage (5%) between 0 and 100%, got 5\n'],
      [['--baseline', 'base.json', '--candidate', 'base.json', '--metric', 'cpu_ms'],
        'gate: --metric must be one of gpu_ms, host_ms, got cpu_ms\n'],
      [['--promote', 'base.json', '--strict'], 'gate: --strict cannot be used with --promote\n'],
    ];
    for (const [args, message] of cases) {
      const { status, stdout, stderr } = gate(...args);
      assert.deepEqual([status, stderr], [2, message], args.join(' '));
      assert.equal(stdout, '');
    }
    const notJson = gate('--baseline', 'broken.json', '--candidate', 'base.json');
    assert.equal(notJson.status, 2);
    assert.match(notJson.stderr, /^gate: broken\.json: not JSON \(.+\)\n$/);
    const unknownFlag = gate('--baseline', 'base.json', '--candidate', 'base.json', '--treshold', '5%');
    assert.equal(unknownFlag.status, 2);
    assert.match(unknownFlag.stderr, /^gate: Unknown option '--treshold'/);
  });

  test('nothing comparable exits 2', () => {
    const random = seededRandom(5);
    const other = makeResults([makePoint(pointConfig({ batch: 2 }), lognormalSamples(random, 30, 0.5, 0.03))]);
    write('other.json', other);
    const { status, stderr } = gate('--baseline', 'base.json', '--candidate', 'other.json');
    assert.equal(status, 2);
    assert.equal(stderr,
      'gate: nothing comparable: 0 matched point(s), none with timings in both runs (1 only in the candidate, 3 only in the baseline)\n');
  });

  test('an interrupted candidate (8 of 56 points) fails unless --allow-partial', () => {
    const random = seededRandom(56);
    const configs = Array.from({ length: 56 }, (_, i) => pointConfig({ batch: i + 1 }));
    const points = configs.map((config) => makePoint(config, lognormalSamples(random, 30, 0.5, 0.03)));
    write('full.json', makeResults(points, H100_DEVICE, 'full'));
    write('partial.json', makeResults(points.slice(0, 8), H100_DEVICE, 'partial'));
    const refused = gate('--baseline', 'full.json', '--candidate', 'partial.json');
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stdout, /\ngate FAIL: 48 regression\(s\), 48 of them baseline points the candidate lacks \(--allow-partial accepts a partial run\);/);
    const allowed = gate('--baseline', 'full.json', '--candidate', 'partial.json', '--allow-partial');
    assert.equal(allowed.status, 0, allowed.stdout);
    assert.match(allowed.stdout, /\ngate PASS; .*; added 0, removed 48\n$/);
  });

  test('dates: "yesterday" is refused naming the field; a directory\'s newest run is the latest date, not string', () => {
    const yesterday = fixtureRun('yesterday');
    write('yesterday.json', { ...yesterday, run: { ...yesterday.run, started_at: 'yesterday' } });
    const refused = gate('--baseline', 'base.json', '--candidate', 'yesterday.json');
    assert.deepEqual([refused.status, refused.stderr], [2, 'gate: yesterday.json: invalid results file: run.started_at: ' +
      'must be an ISO 8601 date and time with a zone, e.g. 2026-11-22T10:00:00.000Z\n']);
    fs.mkdirSync(path.join(dir, 'zones'));
    const at = (id: string, started_at: string) => ({ ...fixtureRun(id), run: { ...fixtureRun(id).run, started_at } });
    // 10:00 at +05:00 is 05:00 UTC: earlier than 09:00 UTC, though later as a string.
    write('zones/a.json', at('earlier', '2026-11-22T10:00:00+05:00'));
    write('zones/b.json', at('later', '2026-11-22T09:00:00Z'));
    const newest = gate('--baseline', 'base.json', '--candidate', 'zones');
    assert.match(newest.stdout, /^candidate: zones\/b\.json \(run later,/m);
  });

  test('another GPU is refused (exit 2) unless --allow-env-mismatch', () => {
    write('a100.json', fixtureRun('a100-run', { ...H100_DEVICE, name: 'NVIDIA A100-SXM4-80GB' }));
    const refused = gate('--baseline', 'base.json', '--candidate', 'a100.json');
    assert.equal(refused.status, 2);
    assert.equal(refused.stderr, 'gate: runs from different environments: device.name: "NVIDIA H100 80GB HBM3" vs '
      + '"NVIDIA A100-SXM4-80GB" (pass --allow-env-mismatch to compare anyway)\n');
    const allowed = gate('--baseline', 'base.json', '--candidate', 'a100.json', '--allow-env-mismatch');
    assert.equal(allowed.status, 0);
    assert.match(allowed.stdout, /\nenv mismatch \(allowed\): device\.name: "NVIDIA H100 80GB HBM3" vs "NVIDIA A100-SXM4-80GB"\n/);
  });

  test('--promote writes results/baselines/<device>.json and keeps the previous as .prev', () => {
    const baselines = path.join(dir, 'results', 'baselines');
    const first = gate('--promote', 'base.json');
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout, `promoted run h100-base (3 points) to ${path.join('results', 'baselines', 'h100.json')}\n`);
    assert.equal(fs.readFileSync(path.join(baselines, 'h100.json'), 'utf8'), fs.readFileSync(path.join(dir, 'base.json'), 'utf8'));
    const second = gate('--promote', 'slow.json');
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /; previous kept as results\/baselines\/h100\.json\.prev\n$/);
    assert.equal(fs.readFileSync(path.join(baselines, 'h100.json'), 'utf8'), fs.readFileSync(path.join(dir, 'slow.json'), 'utf8'));
    assert.equal(fs.readFileSync(path.join(baselines, 'h100.json.prev'), 'utf8'), fs.readFileSync(path.join(dir, 'base.json'), 'utf8'));
    assert.deepEqual(fs.readdirSync(baselines).sort(), ['h100.json', 'h100.json.prev']);
    // The promoted baseline gates the next run.
    assert.equal(gate('--baseline', 'results/baselines/h100.json', '--candidate', 'base.json').status, 0);
    const named = gate('--promote', 'base.json', '--device', 'h100-pcie');
    assert.equal(named.status, 0, named.stderr);
    assert.ok(fs.existsSync(path.join(baselines, 'h100-pcie.json')));
    assert.equal(gate('--promote', 'base.json', '--device', '../evil').stderr,
      'gate: --device must be lower-case letters, digits, \'.\', \'_\' or \'-\', got "../evil"\n');
  });
});
