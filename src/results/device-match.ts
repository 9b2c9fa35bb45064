// Whether two runs were measured on the same kind of machine and software: the backend, the device's
// name and every driver/library version; for cpu runs also the host's CPU and core counts (the cpu
// backend's device is named the same on every machine: its host is the device). The gate refuses to compare runs that differ here, and
// `ftbench merge` to join shards that do.
import type { Results } from './schema.js';

/**
 * env.device fields that must match: the backend, the device's name and every driver/library
 * version (the CUDA backend reports name, driver, cuda_driver_api, cuda_runtime, cublas), the CPU
 * backend's thread count. Fields that vary between runs of one machine (clocks, free memory, device
 * index, measured peaks) are not compared.
 */
const COMPARED_DEVICE_FIELD = /^(backend|name|driver|threads)$|^cuda|^cublas|version/;

/** env.host fields that identify the machine of a cpu run: the CPU model and its core counts. */
const CPU_HOST_FIELDS = ['cpu', 'cores', 'physical_cores'] as const;

const describe = (value: string | number | undefined): string => (value === undefined ? '(absent)' : JSON.stringify(value));

/** One line per differing field, e.g. `device.name: "NVIDIA H100 80GB HBM3" vs "NVIDIA A100-SXM4-80GB"`. */
export function deviceMismatch(a: Results, b: Results): string[] {
  const mismatches: string[] = [];
  if (a.run.backend !== b.run.backend) mismatches.push(`run.backend: ${a.run.backend} vs ${b.run.backend}`);
  const fields = new Set([...Object.keys(a.env.device), ...Object.keys(b.env.device)]);
  for (const field of [...fields].filter((name) => COMPARED_DEVICE_FIELD.test(name)).sort()) {
    const before = a.env.device[field];
    const after = b.env.device[field];
    if (before !== after) mismatches.push(`device.${field}: ${describe(before)} vs ${describe(after)}`);
  }
  if (a.run.backend === 'cpu' && b.run.backend === 'cpu') {
    for (const field of CPU_HOST_FIELDS) {
      if (a.env.host[field] !== b.env.host[field]) mismatches.push(`host.${field}: ${describe(a.env.host[field])} vs ${describe(b.env.host[field])}`);
    }
  }
  return mismatches;
}
