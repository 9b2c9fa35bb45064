// Whether two runs were measured on the same kind of machine and software, the same way: timings from
// different GPUs, drivers, CUDA/cuBLAS versions or precision sets do not compare, nor CPU runs from
// different CPUs (src/results/device-match.ts says which fields), nor a run whose points each had a
// worker process of their own with one whose points shared one (Measurement.fresh_process: on the
// H200 that alone moves decoding points by up to 9 %, native/src/cuda/NOTES.md version 13).
import { deviceMismatch } from '../results/device-match.js';
import type { Results } from '../results/schema.js';

function precisionSet(results: Results): string {
  const precisions = [...new Set(results.points.map((point) => point.config.precision))].sort();
  return precisions.length > 0 ? precisions.join(', ') : '(none)';
}

/** Whether the run gave each point a worker process of its own (run.options.measurement.fresh_process). */
function freshProcess(results: Results): boolean {
  const measurement = results.run.options.measurement as { fresh_process?: unknown } | undefined;
  return measurement?.fresh_process === true;
}

/** One line per differing field, e.g. `device.name: "NVIDIA H100 80GB HBM3" vs "NVIDIA A100-SXM4-80GB"`. */
export function environmentMismatch(baseline: Results, candidate: Results): string[] {
  const mismatches = deviceMismatch(baseline, candidate);
  const precisionsBefore = precisionSet(baseline);
  const precisionsAfter = precisionSet(candidate);
  if (precisionsBefore !== precisionsAfter) mismatches.push(`precisions: ${precisionsBefore} vs ${precisionsAfter}`);
  const [freshBefore, freshAfter] = [freshProcess(baseline), freshProcess(candidate)];
  if (freshBefore !== freshAfter) mismatches.push(`measurement.fresh_process: ${freshBefore} vs ${freshAfter}`);
  return mismatches;
}
