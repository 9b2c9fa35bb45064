// `ftbench bench`: runs a plan (new or resumed), then writes the run's JSON and the reporters' files
// and says what passed. Exit 0 every point ok and correct (or unchecked), 1 a point failed or is incorrect, 130
// interrupted (the files are written; --resume finishes the run).
import fs from 'node:fs';
import { renderMarkdown } from '../../reporters/markdown.js';
import { writeRunReports } from '../../reporters/run-files.js';
import { untunedShapes } from '../gemm/tuning.js';
import type { Point } from '../results/schema.js';
import type { BenchRequest } from './args.js';
import { EXIT } from './exit.js';
import { newRun, resumedRun } from './run-plan.js';
import { runPoints } from './run-points.js';
import { engine } from './sweep-plan.js';

/** ok and correct, or ok and unchecked (hf-generate: src/check/correctness.ts, uncheckedReason). */
const cleanPass = (p: Point): boolean => p.status === 'ok' && p.correct !== false;

export async function bench(request: BenchRequest): Promise<number> {
  const addon = engine();
  const plan = request.resume === undefined ? await newRun(addon, request) : resumedRun(addon, { ...request, resume: request.resume });
  const interrupted = await runPoints(plan);
  const results = plan.writer.finish(new Date());
  const reports = writeRunReports(plan.writer.basePath, results);
  if (request.markdown) fs.writeFileSync(request.markdown, renderMarkdown(results), { flag: 'a' });
  const points = results.points;
  const passed = points.filter(cleanPass).length;
  const files = `wrote ${[plan.writer.jsonlPath, plan.writer.jsonPath, ...reports].join(', ')}`;
  if (interrupted) {
    console.log(`\ninterrupted: ${points.length} points recorded, ${passed} ok and correct; ${files}\n` +
      `finish it with: npm run bench -- --resume ${results.run.id} --out ${request.out}`);
    return EXIT.interrupted;
  }
  if (plan.gemmCache !== undefined) {
    const untuned = untunedShapes(points);
    if (untuned.length > 0) {
      console.log(`\ngemm: ${untuned.length} shapes not in ${plan.gemmCache} ran cuBLASLt's heuristic ` +
        `(npm run tune -- --profile ${results.run.profile} tunes them): ${untuned.join('; ')}`);
    }
  }
  console.log(`\n${passed} of ${points.length} points ok and correct in ${results.run.wall_s?.toFixed(1)} s; ${files}`);
  return passed === points.length ? EXIT.ok : EXIT.failed;
}
