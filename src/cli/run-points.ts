// The sweep loop: each point of a plan in the worker process (src/run/supervisor.ts; a fresh one per
// point with measurement.fresh_process), appended to the run's stream as it finishes, with a progress
// line and a console row. Ctrl-C stops after the current point, twice stops at once; SIGTERM and
// SIGHUP (a job cancelled, a terminal closed) stop at once. Either way the sweep returns, so the run's
// files are written.
import { consoleHeader, consoleRow } from '../../reporters/console.js';
import { Progress } from '../run/progress.js';
import { PointSupervisor } from '../run/supervisor.js';
import type { SweepPlan } from './run-plan.js';

/** The signals that stop a sweep. */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs the plan's points one by one in a worker process, appending each as it finishes. Ctrl-C
 * stops after the current point; a second Ctrl-C, SIGTERM or SIGHUP stops at once (the current point
 * is not recorded: --resume runs it). Returns the signal that stopped the sweep, or null.
 */
export async function runPoints(plan: SweepPlan): Promise<StopSignal | null> {
  const supervisor = new PointSupervisor({ work: plan.work, timeoutMs: plan.pointTimeoutS * 1000 });
  const progress = new Progress(plan.writer.written.length + plan.points.length, plan.writer.written.length);
  const interrupt = { stop: 'no' as 'no' | 'after-point' | 'now', signal: null as StopSignal | null };
  // A call, not a field read: the compiler cannot know that an await lets the handler change it.
  const stopping = () => interrupt.stop;
  const onSignal = (signal: StopSignal) => {
    progress.clear();
    interrupt.signal ??= signal;
    if (signal === 'SIGINT' && interrupt.stop === 'no') {
      interrupt.stop = 'after-point';
      console.error('ftbench: stopping after the current point (Ctrl-C again to stop now)');
    } else {
      if (signal !== 'SIGINT') console.error(`ftbench: ${signal}: stopping now (the current point is not recorded)`);
      interrupt.stop = 'now';
      supervisor.stop();
    }
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  console.log(consoleHeader());
  try {
    for (const { config, repeat } of plan.points) {
      if (stopping() !== 'no') break;
      progress.starting(config);
      const point = { ...(await supervisor.run(config)), ...(plan.repeats > 1 ? { repeat } : {}) };
      progress.clear();
      if (stopping() === 'now') break;
      progress.finishedPoint(point.duration_s);
      plan.writer.append(point);
      console.log(consoleRow(point));
      if (plan.work.measurement.fresh_process === true) await supervisor.retire();
    }
  } finally {
    supervisor.close();
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
  return interrupt.signal;
}
