// The sweep loop: each point of a plan in the worker process (src/run/supervisor.ts), appended to the
// run's stream as it finishes, with a progress line and a console row. Ctrl-C stops after the current
// point, twice stops at once.
import { consoleHeader, consoleRow } from '../../reporters/console.js';
import { Progress } from '../run/progress.js';
import { PointSupervisor } from '../run/supervisor.js';
import type { SweepPlan } from './run-plan.js';

/**
 * Runs the plan's points one by one in a worker process, appending each as it finishes. Ctrl-C
 * stops after the current point; a second Ctrl-C stops at once (the current point is not recorded).
 * Returns whether the sweep was interrupted.
 */
export async function runPoints(plan: SweepPlan): Promise<boolean> {
  const supervisor = new PointSupervisor({ work: plan.work, timeoutMs: plan.pointTimeoutS * 1000 });
  const progress = new Progress(plan.writer.written.length + plan.points.length, plan.writer.written.length);
  const interrupt = { stop: 'no' as 'no' | 'after-point' | 'now' };
  // A call, not a field read: the compiler cannot know that an await lets the handler change it.
  const stopping = () => interrupt.stop;
  const onInterrupt = () => {
    progress.clear();
    if (interrupt.stop === 'no') {
      interrupt.stop = 'after-point';
      console.error('ftbench: stopping after the current point (Ctrl-C again to stop now)');
    } else {
      interrupt.stop = 'now';
      supervisor.stop();
    }
  };
  process.on('SIGINT', onInterrupt);
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
    }
  } finally {
    supervisor.close();
    process.off('SIGINT', onInterrupt);
  }
  return interrupt.stop !== 'no';
}
