// `ftbench bench --suite gemm`: every distinct GEMM shape of the sweep (at every precision unless
// --precision), the tuned algorithm timed against cuBLASLt's heuristic, written to
// <out>/gemm-<profile>-<date>.{json,csv}.
import path from 'node:path';
import { renderGemmSuiteCsv } from '../../reporters/gemm-csv.js';
import { PRECISIONS } from '../engine/config.js';
import { GEMM_SUITE_SCHEMA, gemmSuite, gemmSuiteSummary, GemmSuiteSchema, type GemmSuiteResults } from '../gemm/tuning.js';
import { captureEnvironment, commandLine } from '../measure/environment.js';
import { deviceCeilings } from '../results/device-ceilings.js';
import { clearOldFiles, makeDirectory, writeFileAtomic } from '../results/files.js';
import { defaultRunId } from '../results/writer.js';
import type { BenchRequest } from './args.js';
import { EXIT } from './exit.js';
import { engine, gemmTable, requestedSweep, requireCuda } from './sweep-plan.js';

/** Writes `<dir>/<run id>.json` and `.csv`, refusing to replace existing ones unless `force`; returns their paths. */
export function writeGemmSuite(dir: string, suite: GemmSuiteResults, force = false): string[] {
  makeDirectory(dir);
  const base = path.join(dir, suite.run.id);
  clearOldFiles([`${base}.json`, `${base}.csv`], force);
  writeFileAtomic(`${base}.json`, `${JSON.stringify(GemmSuiteSchema.parse(suite), null, 1)}\n`);
  writeFileAtomic(`${base}.csv`, renderGemmSuiteCsv(suite.rows));
  return [`${base}.json`, `${base}.csv`];
}

/** `--suite gemm`: runs the suite, writes its files, prints its summary. */
export async function gemmSuiteRun(request: BenchRequest): Promise<number> {
  const addon = engine();
  const { backend, profile, expansion } = requestedSweep(addon, request, { precision: [...PRECISIONS], ...request.overrides });
  requireCuda(backend, '--suite gemm');
  const startedAt = new Date();
  const env = await captureEnvironment(addon, backend);
  const gemms = gemmTable(addon, expansion.points, request.gemmCache, request.tune);
  console.log(`ftbench: GEMM suite of profile ${profile.name} on ${env.device.name}: the shapes of ${expansion.points.length} points`);
  const { rows, failed } = gemmSuite(addon, expansion.points, gemms.entries, deviceCeilings(env).peak_tflops ?? {},
    (line) => console.log(`  ${line}`));
  const run = {
    id: request.runId ?? defaultRunId(`gemm-${profile.name}`, startedAt), started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(), command: commandLine(), profile: profile.name, gemm_cache: gemms.file,
  };
  const files = writeGemmSuite(request.out, { schema: GEMM_SUITE_SCHEMA, run, env, rows, failed }, request.force);
  for (const line of [...gemmSuiteSummary(rows), ...failed.map((failure) => `could not plan ${failure}`)]) console.log(line);
  console.log(`wrote ${files.join(', ')}`);
  return failed.length === 0 ? EXIT.ok : EXIT.failed;
}
