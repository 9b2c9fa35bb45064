// Long sweeps cannot be broken by one point: a point that crashes the engine (abort, segfault), runs
// out of memory or hangs is recorded and the sweep goes on; a run killed with SIGKILL is finished by
// --resume with every point exactly once; Ctrl-C stops after the current point and writes the files.
// Faults come from the engine's test switch (native/src/engine/fault.h).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { suiteUnless } from './support/suite.js';
import { fileURLToPath } from 'node:url';
import { readResults } from '../src/results/reader.js';
import type { Point } from '../src/results/schema.js';
import { addonOrSkip } from './harness-fixtures.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const { skip } = addonOrSkip();
/** Encoder seq {16, 32} and decoding (beam search and sampling) at batch 1, quickly measured. */
const SWEEP = ['bench', '--profile', 'smoke', '--backend', 'cpu', '--batch', '1', '--path', 'encoder,decoding', '--min-samples', '3', '--min-time', '0.001'];
const POINTS = 6;

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-robust-'));
const faultEnv = (fault: string) => ({ ...process.env, FTBENCH_ENABLE_FAULTS: '1', FTBENCH_FAULT: fault });

function bench(runId: string, extra: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [CLI, ...SWEEP, '--out', out, '--run-id', runId, ...extra], { encoding: 'utf8', env });
}

const pointsOf = (runId: string, ext = 'json'): Point[] => readResults(path.join(out, `${runId}.${ext}`)).results.points;
const statusOf = (points: Point[], seq: number) => points.filter((p) => p.config.seq === seq).map((p) => `${p.config.path} ${p.status}`);

/** Starts the bench in its own process group (as a shell would), so that a signal can reach the whole group. */
function startBench(runId: string, env: NodeJS.ProcessEnv, extra: string[] = []): ChildProcess {
  return spawn(process.execPath, [CLI, ...SWEEP, '--out', out, '--run-id', runId, ...extra], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves once `runId`'s stream holds `count` points. */
async function pointsStreamed(runId: string, count: number): Promise<void> {
  const file = path.join(out, `${runId}.jsonl`);
  for (let waited = 0; waited < 30_000; waited += 50) {
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.includes('"type":"point"')).length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${file} never reached ${count} points`);
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => {
  if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
  else child.on('exit', (code) => resolve(code));
});

suiteUnless('robust sweeps', skip, () => {
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  for (const [kind, message] of [
    ['segv', /^the worker process died while running the point \(signal SIGSEGV\)$/],
    ['abort', /^the worker process died while running the point \(signal SIGABRT\)$/],
  ] as const) {
    test(`a point whose engine dies (${kind}) is an error point; the sweep goes on in a fresh worker`, () => {
      const result = bench(`fault-${kind}`, [], faultEnv(`${kind}@seq=16`));
      assert.equal(result.status, 1, result.stdout);
      const points = pointsOf(`fault-${kind}`);
      assert.equal(points.length, POINTS);
      assert.deepEqual(statusOf(points, 16), ['encoder error']);
      assert.match(points[0].error!, message);
      assert.ok(points.slice(1).every((p) => p.status === 'ok' && p.correct), 'the points after the crash ran');
      assert.match(result.stdout, /5 of 6 points ok and correct/);
    });
  }

  test('out of memory is status oom, with the engine message', () => {
    const result = bench('fault-oom', [], faultEnv('oom@path=encoder'));
    assert.equal(result.status, 1);
    const points = pointsOf('fault-oom');
    assert.deepEqual(points.map((p) => p.status), ['oom', 'oom', 'ok', 'ok', 'ok', 'ok']);
    assert.equal(points[0].error, 'injected fault: out of memory (FTBENCH_FAULT)');
  });

  test('a point past --point-timeout is stopped and recorded; the next points run', () => {
    // Encoder points only (about 0.1 s each), so that only the hanging one comes near the timeout on a
    // loaded machine; the next point's fresh worker starts outside its timer.
    const result = bench('fault-hang', ['--path', 'encoder', '--point-timeout', '3'], faultEnv('hang@seq=16'));
    assert.equal(result.status, 1);
    const points = pointsOf('fault-hang');
    assert.deepEqual(points.map((p) => `${p.config.seq} ${p.status}`), ['16 error', '32 ok']);
    assert.equal(points[0].error, 'timed out after 3 s (the worker process was killed)');
    assert.ok(points[0].duration_s >= 3 && points[0].duration_s < 15, String(points[0].duration_s));
  });

  test('a run killed with SIGKILL, resumed, ends with every point exactly once', async () => {
    // The third point hangs, so the kill lands mid-sweep with two points streamed.
    const child = startBench('killed', faultEnv('hang@path=decoding'));
    await pointsStreamed('killed', 2);
    process.kill(-child.pid!, 'SIGKILL');
    await exited(child);
    assert.ok(!fs.existsSync(path.join(out, 'killed.json')), 'killed before it could write the JSON');
    assert.equal(pointsOf('killed', 'jsonl').length, 2);

    const resumed = spawnSync(process.execPath, [CLI, 'bench', '--resume', 'killed', '--out', out], { encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stdout + resumed.stderr);
    assert.match(resumed.stdout, /resuming run killed \(profile smoke, cpu\): 2 of 6 points done, 4 to run/);
    const points = pointsOf('killed');
    assert.equal(points.length, POINTS);
    assert.equal(new Set(points.map((p) => p.key)).size, POINTS);
    assert.ok(points.every((p) => p.status === 'ok' && p.correct));
    assert.deepEqual(pointsOf('killed', 'jsonl'), points);
  });

  test('Ctrl-C stops after the current point and writes the files; --resume finishes the run', async () => {
    // Points of at least 400 ms: the interrupt lands while the second one runs.
    const child = startBench('interrupted', process.env, ['--min-time', '0.4']);
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    await pointsStreamed('interrupted', 1);
    process.kill(-child.pid!, 'SIGINT'); // the whole group, worker included, as a terminal's Ctrl-C
    assert.equal(await exited(child), 130);
    assert.match(stderr, /stopping after the current point/);
    const recorded = pointsOf('interrupted');
    assert.ok(recorded.length >= 1 && recorded.length < POINTS, `${recorded.length} points recorded`);
    assert.ok(recorded.every((p) => p.status === 'ok'), 'the point running at Ctrl-C finished normally');
    assert.ok(fs.existsSync(path.join(out, 'interrupted.csv')));

    const resumed = spawnSync(process.execPath, [CLI, 'bench', '--resume', 'interrupted', '--out', out], { encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(pointsOf('interrupted').length, POINTS);
  });

  test('--repeat runs the sweep N times in one process; each point says its pass; resume counts passes', () => {
    const result = bench('repeated', ['--path', 'encoder', '--repeat', '3']);
    assert.equal(result.status, 0, result.stderr);
    // Encoder only: 2 points x 3 passes, then resumed with nothing left to run.
    assert.deepEqual(pointsOf('repeated').map((p) => `${p.config.seq}#${p.repeat}`), ['16#0', '32#0', '16#1', '32#1', '16#2', '32#2']);
    const resumed = spawnSync(process.execPath, [CLI, 'bench', '--resume', 'repeated', '--out', out], { encoding: 'utf8' });
    assert.match(resumed.stdout, /6 of 6 points done, 0 to run/);
  });

  test('a stream whose recorded fresh_process was edited to a non-boolean is refused on resume, naming the field', () => {
    const result = bench('edited', ['--path', 'encoder', '--seq', '16', '--fresh-process']);
    assert.equal(result.status, 0, result.stderr);
    const stream = path.join(out, 'edited.jsonl');
    const text = fs.readFileSync(stream, 'utf8');
    assert.ok(text.includes('"fresh_process":true'));
    fs.writeFileSync(stream, text.replace('"fresh_process":true', '"fresh_process":"yes"'));
    const resumed = spawnSync(process.execPath, [CLI, 'bench', '--resume', 'edited', '--out', out], { encoding: 'utf8' });
    assert.deepEqual([resumed.status, resumed.stderr], [2, 'ftbench: run.options.measurement.fresh_process must be true or false\n']);
  });

  test('--resume takes the run\'s own options, and names a run that exists', () => {
    const extra = spawnSync(process.execPath, [CLI, 'bench', '--resume', 'killed', '--out', out, '--batch', '8'], { encoding: 'utf8' });
    assert.deepEqual([extra.status, extra.stderr], [2, "ftbench: --resume runs with the run's own options: drop --batch\n"]);
    const flagged = spawnSync(process.execPath, [CLI, 'bench', '--resume', 'killed', '--out', out, '--fresh-process'], { encoding: 'utf8' });
    assert.deepEqual([flagged.status, flagged.stderr], [2, "ftbench: --resume runs with the run's own options: drop --fresh-process\n"]);
    const missing = spawnSync(process.execPath, [CLI, 'bench', '--resume', 'nope', '--out', out], { encoding: 'utf8' });
    assert.deepEqual([missing.status, missing.stderr], [2, `ftbench: no run nope to resume: ${path.join(out, 'nope.jsonl')} does not exist\n`]);
  });
});
