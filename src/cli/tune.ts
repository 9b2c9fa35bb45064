// `ftbench tune`: tunes the GEMM shapes of the requested sweep that the tuning cache lacks.
import { openGemmCache, tuneGemms, tuneSummary } from '../gemm/tuning.js';
import type { BenchRequest } from './args.js';
import { EXIT } from './exit.js';
import { engine, requestedSweep, requireCuda } from './sweep-plan.js';

/** `ftbench tune`: tunes the GEMM shapes of the requested sweep that the cache lacks. */
export function tune(request: BenchRequest): number {
  const addon = engine();
  const { backend, profile, expansion } = requestedSweep(addon, request);
  requireCuda(backend, 'tune');
  const cache = openGemmCache(addon, request.gemmCache);
  console.log(`ftbench: tuning the GEMMs of profile ${profile.name} (${expansion.points.length} points) on ${cache.device.gpu} -> ${cache.file}`);
  for (const warning of cache.warnings) console.log(`  ${warning}`);
  const report = tuneGemms(addon, expansion.points, cache, (line) => console.log(`  ${line}`));
  for (const line of tuneSummary(report, cache.file)) console.log(line);
  return report.failed.length === 0 ? EXIT.ok : EXIT.failed;
}

