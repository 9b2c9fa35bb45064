// The hostile-input sweep of every command line (bench, tune, gate, dashboard): unwritable and odd
// paths (/proc, a file as a folder, a folder as a file, /dev/null), huge, negative, NaN and infinite
// times and counts, malformed and inconsistent files, path-like run ids, and signals during a run.
// Each must end in one line on stderr and exit 2 (or the signal's exit code), within 30 s, with no
// stack trace, and leave every file it was pointed at as it was: the sweep ends with its counts of
// stack traces, hangs and corrupted files, and they must be 0.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readResults } from '../src/results/reader.js';
import { addonOrSkip, cpuConfig, ENVIRONMENT, okPoint, runInfo } from './harness-fixtures.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const COMMANDS = {
  bench: [path.resolve(HERE, '../src/cli/main.js'), 'bench'],
  tune: [path.resolve(HERE, '../src/cli/main.js'), 'tune'],
  gate: [path.resolve(HERE, '../src/cli/gate.js')],
  dashboard: [path.resolve(HERE, '../dashboards/cli.js')],
};
type Command = keyof typeof COMMANDS;
const TIMEOUT_MS = 30_000;
const { skip } = addonOrSkip();
const STACK_TRACE = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-hostile-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => path.join(dir, name);

// The files the sweep points commands at: a valid run, a baseline named like the runs it starts, and broken ones.
const point = okPoint(cpuConfig({ batch: 1 }), [0.5, 0.25, 0.75]);
const run = { schema: 'ftbench/results@1', run: { ...runInfo('valid'), finished_at: '2026-11-22T10:01:00.000Z', wall_s: 60 }, env: ENVIRONMENT, points: [point], dropped: [] };
const FILES: Record<string, string> = {
  'valid.json': JSON.stringify(run),
  'runs/taken.json': JSON.stringify(run),
  'garbage.json': '{"schema": "ftbench/results@1", "run": ',
  'garbage.jsonl': '\u0000\u0001 not a stream\n',
  'yesterday.json': JSON.stringify({ ...run, run: { ...run.run, started_at: 'yesterday' } }),
  'median.json': JSON.stringify({ ...run, points: [{ ...point, summary: { ...point.summary, gpu_ms_median: 50 } }] }),
  'negative.json': JSON.stringify({ ...run, points: [{ ...point, duration_s: -5, samples_ms: [-1, -2, -3] }] }),
  'huge-timeout.jsonl': `${JSON.stringify({ type: 'header', schema: 'ftbench/results@1', env: ENVIRONMENT, dropped: [],
    run: { ...runInfo('huge-timeout'), options: { ...runInfo('x').options, point_timeout_s: 1e10 } } })}\n`,
  'a-file': 'not a folder\n',
  'gemm-dup.json': '{"schema":"ftbench/gemm-cache@1","device":{},"entries":[]}',
};
for (const [name, text] of Object.entries(FILES)) {
  fs.mkdirSync(path.dirname(at(name)), { recursive: true });
  fs.writeFileSync(at(name), text);
}
fs.mkdirSync(at('a-folder'));
fs.copyFileSync(at('huge-timeout.jsonl'), at('runs/huge-timeout.jsonl'));
fs.copyFileSync(at('garbage.jsonl'), at('runs/garbage.jsonl'));

/** A small cpu sweep, so that a case that wrongly runs ends soon. */
const SMALL = ['--profile', 'smoke', '--backend', 'cpu', '--path', 'encoder', '--seq', '16', '--batch', '1', '--min-samples', '3', '--min-time', '0.001'];

const CASES: [Command, string[]][] = [
  // Paths that cannot be written, or are not what they claim.
  ['bench', [...SMALL, '--out', '/proc/nope']],
  ['bench', [...SMALL, '--out', '/proc/nope/deeper']],
  ['bench', [...SMALL, '--out', at('a-file/sub')]],
  ['bench', [...SMALL, '--out', '/dev/null']],
  ['bench', [...SMALL, '--out', at('runs'), '--markdown', '/proc/nope/summary.md']],
  ['bench', [...SMALL, '--out', at('runs'), '--markdown', at('a-folder')]],
  ['bench', [...SMALL, '--out', at('runs'), '--run-id', 'taken']],
  ['bench', ['--resume', 'garbage', '--out', at('runs')]],
  ['bench', ['--resume', 'huge-timeout', '--out', at('runs')]],
  ['bench', ['--resume', 'missing', '--out', '/proc/nope']],
  ['bench', [...SMALL, '--run-id', '../escape']],
  ['bench', ['--resume', '../../etc/passwd']],
  // Times and counts: huge, negative, NaN, infinite.
  ...[['--point-timeout', '1e10'], ['--point-timeout', '-1'], ['--point-timeout', 'NaN'], ['--point-timeout', 'Infinity'], ['--point-timeout', '0'],
    ['--timeout', '1e10'], ['--min-time', '3e9'], ['--warmup', '-1'], ['--min-samples', '1e12'], ['--min-samples', '-5'], ['--max-noise', 'NaN'],
    ['--max-noise', '0'], ['--repeat', '1e9'], ['--repeat', '0'], ['--batch', '-1'], ['--batch', '1e12'], ['--seq', 'NaN'], ['--seed', '-1'],
    ['--layers', '1e6'], ['--top-p', 'Infinity']].map((flag): [Command, string[]] => ['bench', [...SMALL, '--out', at('runs'), ...flag]]),
  ['tune', ['--point-timeout', 'NaN']],
  ['tune', ['--backend', 'cpu', '--gemm-cache', at('gemm-dup.json')]],
  ['tune', ['--backend', 'cpu', '--gemm-cache', '/proc/nope']],
  // The gate.
  ['gate', ['--baseline', '/proc/nope', '--candidate', at('valid.json')]],
  ['gate', ['--baseline', at('valid.json'), '--candidate', at('a-folder')]],
  ['gate', ['--baseline', at('garbage.json'), '--candidate', at('valid.json')]],
  ['gate', ['--baseline', at('valid.json'), '--candidate', at('yesterday.json')]],
  ['gate', ['--baseline', at('valid.json'), '--candidate', at('median.json')]],
  ['gate', ['--baseline', at('valid.json'), '--candidate', at('negative.json')]],
  ['gate', ['--baseline', at('valid.json'), '--candidate', at('garbage.jsonl')]],
  ['gate', ['--baseline', at('valid.json'), '--candidate', at('valid.json'), '--markdown', '/proc/nope/x.md']],
  ['gate', ['--baseline', at('valid.json'), '--candidate', at('valid.json'), '--json', at('a-folder')]],
  ['gate', ['--baseline', at('valid.json'), '--candidate', at('valid.json'), '--threshold', 'NaN']],
  ['gate', ['--baseline', at('valid.json'), '--candidate', at('valid.json'), '--threshold', '1e10']],
  ['gate', ['--promote', '/proc/nope']],
  ['gate', ['--promote', at('valid.json'), '--device', '../../etc']],
  // The dashboard.
  ['dashboard', [at('missing.json')]],
  ['dashboard', [at('garbage.json')]],
  ['dashboard', [at('median.json')]],
  ['dashboard', [at('valid.json'), '--out', '/proc/nope/x.html']],
  ['dashboard', [at('valid.json'), '--out', at('a-folder')]],
  ['dashboard', [at('valid.json'), '--out', at('a-file/x.html')]],
  ['dashboard', [at('valid.json'), '--compare', at('garbage.jsonl')]],
  ['dashboard', ['/proc/self/status']],
];

const hashes = (): Map<string, string> => new Map(Object.keys(FILES).map((name) =>
  [name, crypto.createHash('sha256').update(fs.readFileSync(at(name))).digest('hex')]));

/** What the sweep found, over every case. */
const found = { cases: 0, stackTraces: [] as string[], hangs: [] as string[], wrongExit: [] as string[], corrupted: [] as string[] };

function record(label: string, status: number | null, output: string, expected: number, timedOut: boolean): void {
  found.cases += 1;
  if (timedOut) found.hangs.push(label);
  if (STACK_TRACE.test(output)) found.stackTraces.push(`${label}: ${output}`);
  if (!timedOut && status !== expected) found.wrongExit.push(`${label}: exit ${status}: ${output}`);
}

describe('hostile inputs to every CLI', () => {
  const before = hashes();

  test('bad paths, values and files: one line, exit 2, no stack trace, no hang', () => {
    for (const [command, args] of CASES) {
      const result = spawnSync(process.execPath, [...COMMANDS[command], ...args], { encoding: 'utf8', timeout: TIMEOUT_MS, killSignal: 'SIGKILL' });
      const label = `${command} ${args.join(' ')}`;
      const timedOut = result.signal === 'SIGKILL';
      record(label, result.status, `${result.stderr}${result.stdout}`, 2, timedOut);
      if (!timedOut && result.status === 2 && !/^\S+: .+\n$/.test(result.stderr)) found.wrongExit.push(`${label}: not one line: ${result.stderr}`);
    }
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    test(`${signal} during a run: exit ${code}, the run's files written and readable`, { skip }, async () => {
      const id = `signal-${signal}`;
      const args = [...SMALL, '--seq', '16,32', '--min-time', '0.5', '--out', at('runs'), '--run-id', id];
      const child = spawn(process.execPath, [...COMMANDS.bench, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      const exit = new Promise<number | null>((resolve) => child.on('exit', (status) => resolve(status)));
      const stream = at(`runs/${id}.jsonl`);
      for (let waited = 0; waited < TIMEOUT_MS && !(fs.existsSync(stream) && fs.readFileSync(stream, 'utf8').includes('"type":"point"')); waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      process.kill(-child.pid!, signal);
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), TIMEOUT_MS);
      const status = await exit;
      clearTimeout(timer);
      record(`bench ${signal}`, status, output, code, status === null);
      const { results } = readResults(at(`runs/${id}.json`));
      assert.ok(results.points.length >= 1, output);
    });
  }

  test('the sweep: 0 stack traces, 0 hangs, 0 corrupted files', (t) => {
    const after = hashes();
    found.corrupted.push(...[...before].filter(([name, hash]) => after.get(name) !== hash).map(([name]) => name));
    const leftovers = fs.readdirSync(at('runs')).filter((name) => /\.(tmp|lock)$/.test(name));
    found.corrupted.push(...leftovers);
    for (const name of fs.readdirSync(at('runs')).filter((file) => /^signal-.*\.jsonl?$/.test(file))) {
      try {
        readResults(at(`runs/${name}`));
      } catch (error) {
        found.corrupted.push(`${name}: ${(error as Error).message}`);
      }
    }
    const summary = `${found.cases} cases: ${found.stackTraces.length} stack traces, ${found.hangs.length} hangs, ` +
      `${found.corrupted.length} corrupted files, ${found.wrongExit.length} wrong exits`;
    t.diagnostic(summary);
    console.log(`hostile-input sweep: ${summary}`);
    assert.deepEqual({ stackTraces: found.stackTraces, hangs: found.hangs, corrupted: found.corrupted, wrongExit: found.wrongExit },
      { stackTraces: [], hangs: [], corrupted: [], wrongExit: [] });
  });
});
