// No run is ever lost or corrupted (issue 17): each case a hostile user or a hostile machine produced
// is replayed here. In-process: short writes and a full disk (fs.writeSync replaced), the run's lock
// (live, stale, another host's), a resumed copy. Through the CLI on the cpu backend: a resume while
// the run goes on, SIGTERM and SIGHUP, a disk that fills during a run (test/support/disk-full.ts),
// an existing run's files, a worker that dies idle, a worker retired (--fresh-process: a worker a
// point), a worker whose parent is killed.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readResults } from '../src/results/reader.js';
import { ResultsWriter } from '../src/results/writer.js';
import { PointSupervisor } from '../src/run/supervisor.js';
import { addonOrSkip, cpuConfig, ENVIRONMENT, failedPoint, okPoint, runInfo } from './harness-fixtures.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(HERE, '../src/cli/main.js');
const DISK_FULL = path.resolve(HERE, 'support/disk-full.js');
const { skip } = addonOrSkip();

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-faults-'));
after(() => fs.rmSync(out, { recursive: true, force: true }));

const POINTS = [okPoint(cpuConfig({ batch: 1 }), [0.5, 0.25, 0.75]), failedPoint(cpuConfig({ batch: 2 }), 'engine said no'), okPoint(cpuConfig({ batch: 4 }), [1.5, 1.25])];
const header = (id: string) => ({ run: runInfo(id), env: ENVIRONMENT, dropped: [] });
const filesOf = (dir: string, id: string) => fs.readdirSync(dir).filter((name) => name.startsWith(`${id}.`)).sort();
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });

describe('checked writes', () => {
  test('short writes: every byte still lands, the run reads back whole', (t) => {
    const writer = new ResultsWriter(out, header('short'));
    const write = fs.writeSync;
    // At most 7 bytes a call, as a nearly full disk or a pipe may do.
    t.mock.method(fs, 'writeSync', (fd: number, data: Buffer | string, offset = 0, length?: number, position?: number | null) => {
      if (typeof data === 'string') return write(fd, Buffer.from(data), 0, Math.min(7, Buffer.byteLength(data)));
      return write(fd, data, offset, Math.min(7, length ?? data.length - offset), position);
    });
    for (const point of POINTS) writer.append(point);
    const results = writer.finish(new Date('2026-11-22T10:01:00.000Z'));
    t.mock.restoreAll();
    assert.deepEqual(readResults(writer.jsonPath).results, results);
    assert.deepEqual(readResults(writer.jsonlPath).results.points, POINTS);
    writer.close();
  });

  test('a full disk while writing the JSON: a FileWriteError naming the file, no temporary left, the stream intact', (t) => {
    const writer = new ResultsWriter(out, header('full-json'));
    for (const point of POINTS) writer.append(point);
    const write = fs.writeSync;
    t.mock.method(fs, 'writeSync', (fd: number, data: Buffer, offset = 0, length = data.length - offset, position?: number | null) => {
      if (length > 100) return write(fd, data, offset, 100, position);
      throw enospc();
    });
    assert.throws(() => writer.finish(new Date()), {
      name: 'FileWriteError', message: `${writer.jsonPath}.${process.pid}.tmp: cannot write (ENOSPC: no space left on device)`,
    });
    t.mock.restoreAll();
    assert.deepEqual(filesOf(out, 'full-json').filter((name) => name !== 'full-json.lock'), ['full-json.jsonl'], 'no .json, no .tmp');
    assert.deepEqual(readResults(writer.jsonlPath).results.points, POINTS);
    writer.close();
    assert.deepEqual(filesOf(out, 'full-json'), ['full-json.jsonl'], 'the lock goes with close()');
  });

  test('a full disk while appending a point: the line is cut off again, the stream stays valid', (t) => {
    const writer = new ResultsWriter(out, header('full-line'));
    writer.append(POINTS[0]);
    const write = fs.writeSync;
    t.mock.method(fs, 'writeSync', (fd: number, data: Buffer, offset = 0, length = data.length - offset, position?: number | null) => {
      if (length > 40) return write(fd, data, offset, 40, position);
      throw enospc();
    });
    assert.throws(() => writer.append(POINTS[1]), { name: 'FileWriteError', message: /full-line\.jsonl: cannot write \(ENOSPC/ });
    t.mock.restoreAll();
    // Space again: the next point follows the last whole line.
    writer.append(POINTS[2]);
    const read = readResults(writer.jsonlPath);
    assert.deepEqual([read.results.points, read.warnings], [[POINTS[0], POINTS[2]], []]);
    writer.close();
  });
});

describe('one writer per run', () => {
  test('a second writer of a run is refused while the first holds it; the lock goes with close()', () => {
    const first = new ResultsWriter(out, header('held'));
    const lock = path.join(out, 'held.lock');
    assert.equal(JSON.parse(fs.readFileSync(lock, 'utf8')).pid, process.pid);
    assert.throws(() => ResultsWriter.resume(out, 'held'), {
      name: 'FileWriteError', message: new RegExp(`^${lock}: the run is in use by pid ${process.pid} on ${os.hostname()} since `),
    });
    first.append(POINTS[0]);
    first.close();
    assert.equal(fs.existsSync(lock), false);
    const resumed = ResultsWriter.resume(out, 'held');
    assert.deepEqual(resumed.written, [POINTS[0]]);
    resumed.close();
  });

  test('a lock whose process died is taken over with a warning; another host\'s lock is not', () => {
    new ResultsWriter(out, header('stale')).append(POINTS[0]);
    // Its lock replaced by that of a killed run.
    const lock = path.join(out, 'stale.lock');
    // A pid that exited: a child that already ran.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    fs.writeFileSync(lock, JSON.stringify({ pid: Number(dead), host: os.hostname(), started_at: '2026-11-22T10:00:00.000Z' }));
    const warnings: string[] = [];
    const resumed = ResultsWriter.resume(out, 'stale', (message) => warnings.push(message));
    assert.deepEqual(warnings, [`${lock}: took over the lock of pid ${dead}, which is no longer running (the run was killed)`]);
    resumed.close();
    fs.writeFileSync(lock, JSON.stringify({ pid: Number(dead), host: 'another-host', started_at: '2026-11-22T10:00:00.000Z' }));
    assert.throws(() => ResultsWriter.resume(out, 'stale'), { message: new RegExp(`^${lock}: the run is in use by pid ${dead} on another-host`) });
  });

  test('resuming a copy writes the copy\'s files, never the original\'s', () => {
    const original = new ResultsWriter(out, header('original'));
    original.append(POINTS[0]);
    const jsonl = path.join(out, 'original.jsonl');
    fs.copyFileSync(jsonl, path.join(out, 'copy.jsonl'));
    const before = fs.readFileSync(jsonl, 'utf8');
    const copy = ResultsWriter.resume(out, 'copy');
    copy.append(POINTS[2]);
    copy.finish(new Date());
    assert.equal(fs.readFileSync(jsonl, 'utf8'), before);
    assert.deepEqual(filesOf(out, 'original').filter((name) => !name.endsWith('.lock')), ['original.jsonl']);
    assert.deepEqual(readResults(path.join(out, 'copy.json')).results.points, [POINTS[0], POINTS[2]]);
    copy.close();
    original.close();
  });
});

/** Encoder seq {16, 32} and decoding at batch 1 (6 points), quickly measured. */
const SWEEP = ['bench', '--profile', 'smoke', '--backend', 'cpu', '--batch', '1', '--path', 'encoder,decoding', '--min-samples', '3', '--min-time', '0.001'];
const faultEnv = (fault: string) => ({ ...process.env, FTBENCH_ENABLE_FAULTS: '1', FTBENCH_FAULT: fault });
const STACK_TRACE = /\n\s+at .+:\d+:\d+\)?\n/;

function start(args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return Object.assign(child, { output: () => output });
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => {
  if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
  else child.on('exit', (code) => resolve(code));
});

async function until(what: string, condition: () => boolean, ms = 30_000): Promise<void> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const streamedPoints = (id: string) => {
  const file = path.join(out, `${id}.jsonl`);
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.includes('"type":"point"')).length : 0;
};
const pointsOf = (id: string, ext = 'json') => readResults(path.join(out, `${id}.${ext}`)).results.points;
/** Whether process `pid` runs (a zombie no longer does: in a container nothing may reap it). */
const running = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const childrenOf = (pid: number) => execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean).map(Number);
/** A process's command line, or '' once it has gone. */
const commandOf = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};
/** childrenOf, or none where ps finds none (it exits 1 then). */
const childrenNow = (pid: number) => {
  try {
    return childrenOf(pid);
  } catch {
    return [];
  }
};

/** A supervisor of quickly measured cpu points, and a point for it. */
const quickSupervisor = () => ({
  supervisor: new PointSupervisor({
    work: { measurement: { min_samples: 3, min_time_ms: 1, max_noise_pct: 50, timeout_ms: 10_000, warmup_ms: 1 } }, timeoutMs: 60_000,
  }),
  config: cpuConfig({ batch: 1, seq: 16 }),
});

describe('runs through the CLI', { skip }, () => {
  test('a resume while the run goes on is refused; SIGTERM and SIGHUP stop at once with the files written', async () => {
    // Decoding hangs: the run stops there with the two encoder points streamed.
    const running = start([...SWEEP, '--out', out, '--run-id', 'busy', '--point-timeout', '600'], faultEnv('hang@path=decoding'));
    await until('two points', () => streamedPoints('busy') === 2);
    const refused = spawnSync(process.execPath, [CLI, 'bench', '--resume', 'busy', '--out', out], { encoding: 'utf8' });
    assert.equal(refused.status, 2, refused.stdout);
    assert.match(refused.stderr, new RegExp(`^ftbench: ${path.join(out, 'busy.lock')}: the run is in use by pid ${running.pid} on `));
    assert.equal(streamedPoints('busy'), 2, 'the refused resume wrote nothing');

    process.kill(running.pid!, 'SIGTERM'); // the bench alone, as `kill <pid>` does
    assert.equal(await exited(running), 143, running.output());
    assert.match(running.output(), /interrupted \(SIGTERM\): 2 points recorded/);
    assert.equal(pointsOf('busy').length, 2);

    const resumed = start(['bench', '--resume', 'busy', '--out', out], faultEnv('hang@path=decoding'));
    await until('the resume to hang', () => /resuming run busy/.test(resumed.output()));
    await new Promise((resolve) => setTimeout(resolve, 500));
    process.kill(-resumed.pid!, 'SIGHUP'); // the whole group, as a closed terminal does
    assert.equal(await exited(resumed), 129, resumed.output());
    assert.equal(fs.existsSync(path.join(out, 'busy.lock')), false);

    const finished = spawnSync(process.execPath, [CLI, 'bench', '--resume', 'busy', '--out', out], { encoding: 'utf8' });
    assert.equal(finished.status, 0, finished.stdout + finished.stderr);
    const points = pointsOf('busy');
    assert.equal(new Set(points.map((p) => p.key)).size, 6);
    assert.equal(points.length, 6);
  });

  test('a disk that fills while the run writes its JSON: one line, exit 2, nothing half-written, --resume finishes it', () => {
    const env = { ...process.env, FTBENCH_TEST_DISK_FULL: '\\.json\\.\\d+\\.tmp$' };
    const full = spawnSync(process.execPath, ['--import', DISK_FULL, CLI, ...SWEEP, '--path', 'encoder', '--out', out, '--run-id', 'full'], { encoding: 'utf8', env });
    assert.equal(full.status, 2, full.stderr);
    // After the progress lines, one line: the error.
    const lines = full.stderr.trimEnd().split('\n');
    assert.match(lines.pop()!, new RegExp(`^ftbench: ${path.join(out, 'full.json')}\\.\\d+\\.tmp: cannot write \\(ENOSPC: no space left on device\\)$`));
    assert.ok(lines.every((line) => /^\[\d\/2\] /.test(line)), full.stderr);
    assert.deepEqual(filesOf(out, 'full'), ['full.jsonl']);
    assert.equal(pointsOf('full', 'jsonl').length, 2);
    const resumed = spawnSync(process.execPath, [CLI, 'bench', '--resume', 'full', '--out', out], { encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(pointsOf('full').length, 2);
  });

  test('an existing run\'s files are replaced only with --force', () => {
    const baseline = path.join(out, 'kept.json');
    fs.writeFileSync(baseline, '{"a committed baseline": true}\n');
    const args = [...SWEEP, '--path', 'encoder', '--seq', '16', '--out', out, '--run-id', 'kept'];
    const refused = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    assert.deepEqual([refused.status, refused.stderr],
      [2, `ftbench: ${baseline} already exists: choose another --run-id or --out, or pass --force to replace them\n`]);
    assert.equal(fs.readFileSync(baseline, 'utf8'), '{"a committed baseline": true}\n');
    const forced = spawnSync(process.execPath, [CLI, ...args, '--force'], { encoding: 'utf8' });
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(pointsOf('kept').length, 1);
  });

  test('a worker that dies while idle is replaced; the next point runs', async () => {
    const { supervisor, config } = quickSupervisor();
    try {
      assert.equal((await supervisor.run(config)).status, 'ok');
      const [worker] = childrenOf(process.pid);
      process.kill(worker, 'SIGKILL');
      // Until this process has reaped it (its 'exit' event has fired): the worker died while idle.
      await until('the idle worker to be reaped', () => !fs.existsSync(`/proc/${worker}`));
      const next = await supervisor.run(config);
      assert.equal(next.status, 'ok', next.error);
    } finally {
      supervisor.close();
    }
  });

  test('retire(): the idle worker has exited when it resolves; the next point runs in a new one', async () => {
    const { supervisor, config } = quickSupervisor();
    try {
      assert.equal((await supervisor.run(config)).status, 'ok');
      const [first] = childrenOf(process.pid);
      await supervisor.retire();
      assert.ok(!fs.existsSync(`/proc/${first}`), 'the retired worker is gone (exited and reaped)');
      await supervisor.retire();  // no worker: resolves at once
      assert.equal((await supervisor.run(config)).status, 'ok');
      const [second] = childrenOf(process.pid);
      assert.ok(second !== undefined && second !== first, `a new worker (${first} -> ${second})`);
    } finally {
      supervisor.close();
    }
  });

  test('--fresh-process: each point in a worker of its own, recorded in the run options', async () => {
    const bench = start([...SWEEP, '--path', 'encoder', '--fresh-process', '--out', out, '--run-id', 'fresh']);
    const workers = new Set<number>();
    while (bench.exitCode === null) {
      for (const pid of childrenNow(bench.pid!)) {
        // The bench's other children (systeminformation's probes) are not workers.
        if (commandOf(pid).includes('point-worker')) workers.add(pid);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await exited(bench);
    const results = readResults(path.join(out, 'fresh.json')).results;
    assert.equal(results.points.length, 2, bench.output());
    assert.ok(results.points.every((point) => point.status === 'ok'));
    assert.equal((results.run.options.measurement as { fresh_process?: boolean }).fresh_process, true);
    assert.equal(workers.size, 2, `workers seen: ${[...workers].join(', ')}`);
  });

  test('a worker whose parent is killed exits after its point, quietly', async () => {
    // Points of at least 1 s: the parent dies while its worker measures.
    const bench = start([...SWEEP, '--path', 'encoder', '--min-time', '1', '--out', out, '--run-id', 'orphan']);
    await until('the worker', () => streamedPoints('orphan') === 1 && childrenOf(bench.pid!).length === 1);
    const [worker] = childrenOf(bench.pid!);
    process.kill(bench.pid!, 'SIGKILL');
    await until('the orphaned worker to exit', () => !running(worker), 20_000);
    await exited(bench);
    assert.doesNotMatch(bench.output(), STACK_TRACE);
    assert.doesNotMatch(bench.output(), /ERR_IPC_CHANNEL_CLOSED|EPIPE/);
  });
});
