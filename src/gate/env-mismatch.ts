// Whether two runs were measured on the same kind of machine and software: timings from different
// GPUs, drivers, CUDA/cuBLAS versions or precision sets do not compare, nor CPU runs from different
// CPUs (the device of the cpu backend is named the same on every machine: its host is the device).
import type { Results } from '../results/schema.js';

/**
 * env.device fields that must match: the backend, the device's name and every driver/library
 * version (the CUDA backend reports name, driver, cuda_driver_api, cuda_runtime, cublas), the CPU
 * backend's thread count. Fields that vary between runs of one machine (clocks, free memory, device
 * index) are not compared.
 */
const COMPARED_DEVICE_FIELD = /^(backend|name|driver|threads)$|^cuda|^cublas|version/;

/** env.host fields that identify the machine of a cpu run: the CPU model and its core counts. */
const CPU_HOST_FIELDS = ['cpu', 'cores', 'physical_cores'] as const;

const describe = (value: string | number | undefined): string => (value === undefined ? '(absent)' : JSON.stringify(value));

function precisionSet(results: Results): string {
  const precisions = [...new Set(results.points.map((point) => point.config.precision))].sort();
  return precisions.length > 0 ? precisions.join(', ') : '(none)';
}

/** One line per differing field, e.g. `device.name: "NVIDIA H100 80GB HBM3" vs "NVIDIA A100-SXM4-80GB"`. */
export function environmentMismatch(baseline: Results, candidate: Results): string[] {
  const mismatches: string[] = [];
  if (baseline.run.backend !== candidate.run.backend) {
    mismatches.push(`run.backend: ${baseline.run.backend} vs ${candidate.run.backend}`);
  }
  const fields = new Set([...Object.keys(baseline.env.device), ...Object.keys(candidate.env.device)]);
  for (const field of [...fields].filter((name) => COMPARED_DEVICE_FIELD.test(name)).sort()) {
    const before = baseline.env.device[field];
    const after = candidate.env.device[field];
    if (before !== after) mismatches.push(`device.${field}: ${describe(before)} vs ${describe(after)}`);
  }
  if (baseline.run.backend === 'cpu' && candidate.run.backend === 'cpu') {
    for (const field of CPU_HOST_FIELDS) {
      const before = baseline.env.host[field];
      const after = candidate.env.host[field];
      if (before !== after) mismatches.push(`host.${field}: ${describe(before)} vs ${describe(after)}`);
    }
  }
  const precisionsBefore = precisionSet(baseline);
  const precisionsAfter = precisionSet(candidate);
  if (precisionsBefore !== precisionsAfter) mismatches.push(`precisions: ${precisionsBefore} vs ${precisionsAfter}`);
  return mismatches;
}
