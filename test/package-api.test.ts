// The package as others use it: the `ftbench` dispatcher (each command reached through it, with its
// --help; an unknown command refused in one line), the JSON Schema of a results file (the committed
// file is what the zod schema generates, and it accepts a committed run and refuses a broken one),
// and the library API's exports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import * as api from '../src/index.js';
import { RESULTS_JSON_SCHEMA_FILE, resultsJsonSchemaText } from '../src/results/json-schema.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/ftbench.js');
const COMMITTED_RUN = path.join(ROOT, 'results/h100/encoder-20261123.json');

function ftbench(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the ftbench command', () => {
  test('--help lists every command; each command has its own --help', () => {
    const overview = ftbench('--help');
    assert.equal(overview.status, 0);
    assert.deepEqual([...overview.stdout.matchAll(/^ {2}(\w+) /gm)].map((match) => match[1]), ['bench', 'tune', 'gate', 'dashboard', 'history', 'merge']);
    assert.equal(ftbench().stdout, overview.stdout);
    const helps: [string, RegExp][] = [
      ['bench', /--profile NAME/], ['tune', /--profile NAME/], ['gate', /--baseline <a\.json>/], ['dashboard', /^usage: ftbench dashboard /],
      ['history', /^usage: ftbench history <dir>/], ['merge', /^usage: ftbench merge <out\.json>/],
    ];
    for (const [command, usage] of helps) {
      const help = ftbench(command, '--help');
      assert.equal(help.status, 0, `${command} --help: ${help.stderr}`);
      assert.match(help.stdout, usage, command);
    }
  });

  test('an unknown command: one line naming it and the commands, exit 2', () => {
    const result = ftbench('benhc', '--profile', 'smoke');
    assert.equal(result.status, 2);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, 'ftbench: unknown command benhc (commands: bench, tune, gate, dashboard, history, merge; see ftbench --help)\n');
  });

  test("each command's own errors come through with its exit code", () => {
    const gate = ftbench('gate', '--baseline', 'missing.json');
    assert.equal(gate.status, 2);
    assert.match(gate.stderr, /^gate: --baseline and --candidate are both required/);
    const dashboard = ftbench('dashboard', 'missing.json');
    assert.equal(dashboard.status, 2);
    assert.equal(dashboard.stderr, 'dashboard: missing.json: no such file\n');
  });
});

describe('the JSON Schema of a results file', () => {
  test('the committed schema/results.schema.json is what the zod schema generates (npm run schema)', () => {
    assert.equal(fs.readFileSync(RESULTS_JSON_SCHEMA_FILE, 'utf8'), resultsJsonSchemaText(), 'stale: run npm run schema');
  });

  test('accepts a committed run, refuses one with a field of the wrong type', () => {
    const validate = new Ajv2020({ strict: false, allErrors: false }).compile(JSON.parse(resultsJsonSchemaText()));
    const run = JSON.parse(fs.readFileSync(COMMITTED_RUN, 'utf8'));
    assert.equal(validate(run), true, JSON.stringify(validate.errors));
    run.points[0].summary.gpu_ms_median = 'fast';
    assert.equal(validate(run), false);
    assert.equal(validate.errors?.[0].instancePath, '/points/0/summary/gpu_ms_median');
  });
});

test('the library API: read, compare and render a committed run', () => {
  const { results } = api.readResults(COMMITTED_RUN);
  assert.equal(results.schema, api.SCHEMA_ID);
  const comparison = api.compareRuns(results, results);
  assert.equal(comparison.points.length, results.points.length);
  assert.equal(comparison.regressions, 0);
  const html = api.renderDashboard(results);
  assert.ok(html.startsWith('<!doctype html>'));
  assert.ok(html.includes(results.run.id));
});
