// `ftbench bench`: runs a plan (new or resumed), then writes the run's JSON and the reporters' files
// and says what passed. Exit 0 every point ok and correct (or unchecked), 1 a point failed or is incorrect, 130
// interrupted by Ctrl-C, 143 by SIGTERM, 129 by SIGHUP (the files are written; --resume finishes the
// run). The run's lock (src/results/lock.ts) is held from the plan to the last file written.
import fs from 'node:fs';
import { renderMarkdown } from '../../reporters/markdown.js';
import { writeRunReports } from '../../reporters/run-files.js';
import { untunedShapes } from '../gemm/tuning.js';
import { fileError } from '../results/files.js';
import type { Point } from '../results/schema.js';
import type { BenchRequest } from './args.js';
import { EXIT } from './exit.js';
import { newRun, resumedRun, type SweepPlan } from './run-plan.js';
import { runPoints, type StopSignal } from './run-points.js';
import { engine } from './sweep-plan.js';

const STOPPED_EXIT: Record<StopSignal, number> = { SIGINT: EXIT.interrupted, SIGTERM: EXIT.terminated, SIGHUP: EXIT.hangup };

/** Appends `text` to `file` (--markdown: a job summary collects every run's); a FileWriteError naming it. */
function appendText(file: string, text: string): void {
  try {
    fs.appendFileSync(file, text);
  } catch (error) {
    throw fileError(file, 'write', error);
  }
}

/** ok and correct, or ok and unchecked (hf-generate: src/check/correctness.ts, uncheckedReason). */
const cleanPass = (p: Point): boolean => p.status === 'ok' && p.correct !== false;

export async function bench(request: BenchRequest): Promise<number> {
  const addon = engine();
  // An unwritable --markdown fails now, not after the sweep.
  if (request.markdown) appendText(request.markdown, '');
  const plan = request.resume === undefined ? await newRun(addon, request) : resumedRun(addon, { ...request, resume: request.resume });
  try {
    return await runPlan(plan, request);
  } finally {
    plan.writer.close();
  }
}

async function runPlan(plan: SweepPlan, request: BenchRequest): Promise<number> {
  const stopped = await runPoints(plan);
  const results = plan.writer.finish(new Date());
  const reports = writeRunReports(plan.writer.basePath, results);
  if (request.markdown) appendText(request.markdown, renderMarkdown(results));
  const points = results.points;
  const passed = points.filter(cleanPass).length;
  const files = `wrote ${[plan.writer.jsonlPath, plan.writer.jsonPath, ...reports].join(', ')}`;
  if (stopped !== null) {
    console.log(`\ninterrupted (${stopped}): ${points.length} points recorded, ${passed} ok and correct; ${files}\n` +
      `finish it with: npm run bench -- --resume ${plan.writer.runId} --out ${request.out}`);
    return STOPPED_EXIT[stopped];
  }
  if (plan.gemmCache !== undefined) {
    const untuned = untunedShapes(points);
    if (untuned.length > 0) {
      console.log(`\ngemm: ${untuned.length} shapes not in ${plan.gemmCache} ran cuBLASLt's heuristic ` +
        `(the same command with --tune tunes them first): ${untuned.join('; ')}`);
    }
  }
  console.log(`\n${passed} of ${points.length} points ok and correct in ${results.run.wall_s?.toFixed(1)} s; ${files}`);
  return passed === points.length ? EXIT.ok : EXIT.failed;
}
