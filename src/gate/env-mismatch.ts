// Whether two runs were measured on the same kind of machine and software: timings from different
// GPUs, drivers, CUDA/cuBLAS versions or precision sets do not compare, nor CPU runs from different
// CPUs (src/results/device-match.ts says which fields).
import { deviceMismatch } from '../results/device-match.js';
import type { Results } from '../results/schema.js';

function precisionSet(results: Results): string {
  const precisions = [...new Set(results.points.map((point) => point.config.precision))].sort();
  return precisions.length > 0 ? precisions.join(', ') : '(none)';
}

/** One line per differing field, e.g. `device.name: "NVIDIA H100 80GB HBM3" vs "NVIDIA A100-SXM4-80GB"`. */
export function environmentMismatch(baseline: Results, candidate: Results): string[] {
  const mismatches = deviceMismatch(baseline, candidate);
  const precisionsBefore = precisionSet(baseline);
  const precisionsAfter = precisionSet(candidate);
  if (precisionsBefore !== precisionsAfter) mismatches.push(`precisions: ${precisionsBefore} vs ${precisionsAfter}`);
  return mismatches;
}
