// Runs each point in a worker process (src/run/point-worker.ts), so that a point that crashes the engine
// (CUDA fault, abort, signal) or never finishes is recorded as that point's error and the sweep
// goes on in a fresh worker. One worker serves point after point while none fails, so the engine's
// one-time costs (CUDA context, library handles, CPU references) are paid once.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PointConfig } from '../engine/config.js';
import type { WorkReply, WorkRequest } from './point-worker.js';
import { failedPoint, type PointWork } from '../measure/runner.js';
import type { Point } from '../results/schema.js';

const WORKER = fileURLToPath(new URL('./point-worker.js', import.meta.url));

export interface SupervisorOptions {
  work: PointWork;
  /** A point still running after this long is stopped (its worker killed) and recorded as an error. */
  timeoutMs: number;
}

export class PointSupervisor {
  private worker: ChildProcess | undefined;

  constructor(private readonly options: SupervisorOptions) {}

  /** Runs one point in the worker; never rejects for what the point did, only for a worker that cannot start. */
  run(config: PointConfig): Promise<Point> {
    const worker = this.worker ?? this.start();
    const startedAt = new Date();
    const elapsed = () => (Date.now() - startedAt.getTime()) / 1000;
    const failed = (message: string) => failedPoint(config, 'error', message, startedAt, elapsed());
    return new Promise((resolve) => {
      const settle = (point: Point) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        resolve(point);
      };
      const onMessage = (reply: WorkReply) => settle('point' in reply ? reply.point : failed(`harness error in the worker: ${reply.harnessError}`));
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        this.worker = undefined;
        settle(failed(`the worker process died while running the point (${signal ? `signal ${signal}` : `exit code ${code}`})`));
      };
      const timer = setTimeout(() => {
        worker.off('exit', onExit);
        this.stop();
        settle(failed(`timed out after ${this.options.timeoutMs / 1000} s (the worker process was killed)`));
      }, this.options.timeoutMs);
      worker.on('message', onMessage);
      worker.on('exit', onExit);
      worker.send({ config, work: this.options.work } satisfies WorkRequest);
    });
  }

  /** Lets an idle worker exit on its own (its IPC channel closed), releasing the device cleanly. */
  close(): void {
    this.worker?.disconnect();
    this.worker = undefined;
  }

  /** Kills the worker, if any (the next run() starts a fresh one). */
  stop(): void {
    this.worker?.kill('SIGKILL');
    this.worker = undefined;
  }

  private start(): ChildProcess {
    // The worker's output is the parent's: an engine's message on stderr before a crash stays visible.
    this.worker = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return this.worker;
  }
}
