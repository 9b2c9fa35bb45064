// Runs each point in a worker process (src/run/point-worker.ts), so that a point that crashes the engine
// (CUDA fault, abort, signal) or never finishes is recorded as that point's error and the sweep
// goes on in a fresh worker. One worker serves point after point while none fails, so the engine's
// one-time costs (CUDA context, library handles, CPU references) are paid once. A worker that dies
// between points is replaced before the next one; a worker that is slow to start (a loaded machine,
// a CUDA context) does not eat into its point's time: the point's timer starts when the worker says
// it is ready. With measurement.fresh_process each point gets a worker of its own: retire() lets the
// last one exit (its CUDA context gone) before the next starts.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PointConfig } from '../engine/config.js';
import type { WorkerMessage, WorkRequest } from './point-worker.js';
import { failedPoint, type PointWork } from '../measure/runner.js';
import type { Point } from '../results/schema.js';

const WORKER = fileURLToPath(new URL('./point-worker.js', import.meta.url));
/** How long a retiring worker may take to exit on its own. */
const RETIRE_TIMEOUT_MS = 10_000;

export interface SupervisorOptions {
  work: PointWork;
  /**
   * A point still running after this long is stopped (its worker killed) and recorded as an error;
   * a new worker gets as long again to start.
   */
  timeoutMs: number;
}

export class PointSupervisor {
  private worker: ChildProcess | undefined;
  /** Whether the current worker has said it is ready (its engine loaded). */
  private ready = false;

  constructor(private readonly options: SupervisorOptions) {}

  /** Runs one point in the worker; never rejects for what the point or its worker did. */
  run(config: PointConfig): Promise<Point> {
    // A worker that died while idle is replaced, not written to.
    const worker = this.worker?.connected ? this.worker : this.start();
    const startedAt = new Date();
    const elapsed = () => (Date.now() - startedAt.getTime()) / 1000;
    const failed = (message: string) => failedPoint(config, 'error', message, startedAt, elapsed());
    const seconds = this.options.timeoutMs / 1000;
    return new Promise((resolve) => {
      const settle = (point: Point) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        resolve(point);
      };
      const stopAfter = (message: string) => setTimeout(() => {
        worker.off('exit', onExit);
        this.stop();
        settle(failed(message));
      }, this.options.timeoutMs);
      const send = () => {
        clearTimeout(timer);
        timer = stopAfter(`timed out after ${seconds} s (the worker process was killed)`);
        // A send to a worker dying at this moment fails here; its 'exit' records the point.
        worker.send({ config, work: this.options.work } satisfies WorkRequest, () => {});
      };
      const onMessage = (message: WorkerMessage) => {
        if ('ready' in message) {
          this.ready = true;
          send();
        } else {
          settle('point' in message ? message.point : failed(`harness error in the worker: ${message.harnessError}`));
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        settle(failed(`the worker process died while running the point (${signal ? `signal ${signal}` : `exit code ${code}`})`));
      };
      let timer = stopAfter(`the worker process did not start within ${seconds} s (it was killed)`);
      worker.on('message', onMessage);
      worker.on('exit', onExit);
      if (this.ready) send();
    });
  }

  /** Lets an idle worker exit on its own (its IPC channel closed), releasing the device cleanly. */
  close(): void {
    if (this.worker?.connected) this.worker.disconnect();
    this.worker = undefined;
  }

  /**
   * Lets the idle worker exit, as close() does, and resolves once it has (killed after
   * RETIRE_TIMEOUT_MS), so that the next point's worker never shares the device with it.
   */
  retire(): Promise<void> {
    const worker = this.worker;
    if (!worker?.connected) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => worker.kill('SIGKILL'), RETIRE_TIMEOUT_MS);
      worker.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      this.close();
    });
  }

  /** Kills the worker, if any (the next run() starts a fresh one). */
  stop(): void {
    this.worker?.kill('SIGKILL');
    this.worker = undefined;
  }

  private start(): ChildProcess {
    // The worker's output is the parent's: an engine's message on stderr before a crash stays visible.
    const worker = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    // Whenever it dies (idle or busy), it is no longer the worker; a point it was running learns it from its own listener.
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    // Failed sends and kills of a dying worker: its 'exit' says what happened.
    worker.on('error', () => {});
    this.worker = worker;
    this.ready = false;
    return worker;
  }
}
