// The page header: the device, host and run fields of a results file, the correctness of its points
// (counts, the worst error per precision, and what fp8 loses against fp32 and fp16), and the peaks
// measured on the device (copy bandwidth, large-GEMM TFLOP/s), which the efficiency and GEMM views
// compare against.
import { PATHS, PRECISIONS, type PrecisionName } from '../../src/engine/config.js';
import { deviceCeilings } from '../../src/results/device-ceilings.js';
import type { Environment, Point, Results } from '../../src/results/schema.js';
import { formatNumber } from './common.js';
import { pointLabel } from './labels.js';
import type { Field, FieldGroup } from './types.js';

export interface Peaks {
  /** Measured device-to-device copy bandwidth, GB/s. */
  gbps: number | null;
  /** Measured large-GEMM TFLOP/s per precision. */
  tflops: Partial<Record<PrecisionName, number>>;
}

/** Peaks from the environment's device map: `peak_gbps` and `peak_tflops_<precision>`. */
export function readPeaks(env: Environment): Peaks {
  const ceilings = deviceCeilings(env);
  return { gbps: ceilings.peak_gbps ?? null, tflops: ceilings.peak_tflops ?? {} };
}

/** The CUDA backend's device fields (native/src/cuda/device_info.cc), in display order; others follow as recorded. */
const DEVICE_FIELDS: { key: string; label: string; unit: string }[] = [
  { key: 'name', label: 'GPU', unit: '' },
  { key: 'compute_capability', label: 'compute capability', unit: '' },
  { key: 'sm_count', label: 'SMs', unit: '' },
  { key: 'memory_mb', label: 'memory', unit: ' MB' },
  { key: 'l2_mb', label: 'L2', unit: ' MB' },
  { key: 'sm_clock_max_mhz', label: 'max SM clock', unit: ' MHz' },
  { key: 'sm_clock_mhz', label: 'SM clock at start', unit: ' MHz' },
  { key: 'driver', label: 'driver', unit: '' },
  { key: 'cuda_driver_api', label: 'CUDA driver API', unit: '' },
  { key: 'cuda_runtime', label: 'CUDA runtime', unit: '' },
  { key: 'cublas', label: 'cuBLAS', unit: '' },
];

/** The value with its unit when it is a number ("1980 MHz"), as recorded otherwise ("unavailable"). */
const withUnit = (value: string | number, unit: string): string => (typeof value === 'number' ? `${value}${unit}` : value);

const isPeakKey = (key: string): boolean => key === 'peak_gbps' || key.startsWith('peak_tflops_');

function countByStatus(points: Point[]): string {
  const counts = { ok: 0, error: 0, oom: 0 };
  for (const point of points) counts[point.status]++;
  return `${points.length} (${counts.ok} ok, ${counts.error} error, ${counts.oom} oom)`;
}

/**
 * The correctness summary: how many points were checked correct or incorrect and how many were not
 * checked (every point that ran: failed ones have no outputs to check), then the worst relative error
 * of each precision with the point that had it.
 */
function correctnessFields(points: Point[]): Field[] {
  const count = (correct: boolean | null): number => points.filter((point) => point.correct === correct).length;
  const fields: Field[] = [
    { label: 'correct', value: String(count(true)) },
    { label: 'incorrect', value: String(count(false)) },
    { label: 'unchecked', value: String(count(null)) },
  ];
  for (const precision of PRECISIONS) {
    const worst = points
      .filter((point) => point.config.precision === precision && point.max_rel_err !== null)
      .reduce<Point | null>((most, point) => (most === null || point.max_rel_err! > most.max_rel_err! ? point : most), null);
    if (worst) fields.push({ label: `worst error ${precision}`, value: `${formatNumber(worst.max_rel_err!)} (${pointLabel(worst.config)})` });
  }
  return [...fields, ...fp8AccuracyFields(points)];
}

/** "least – most (n points)" of `values`, each shown by `format`; one value alone when they are all equal. */
function spread(values: number[], format: (value: number) => string): string {
  const least = Math.min(...values), most = Math.max(...values);
  const range = least === most ? format(least) : `${format(least)} – ${format(most)}`;
  return `${range} (${values.length} point${values.length === 1 ? '' : 's'})`;
}

/**
 * What fp8 gives up, per path, over the run's fp8 points: its error against the fp32 run and, for
 * decoding, the share of ids equal to the fp16 run's (recorded with each point, not judged: a point's
 * `correct` compares it with the emulated fp8 reference).
 */
function fp8AccuracyFields(points: Point[]): Field[] {
  const percent = (share: number): string => `${formatNumber(100 * share)} %`;
  return PATHS.flatMap((path) => {
    const fp8 = points.filter((point) => point.config.precision === 'fp8' && point.config.path === path);
    const errors = fp8.flatMap((point) => (point.fp32_rel_err === undefined ? [] : [point.fp32_rel_err]));
    const shares = fp8.flatMap((point) => (point.fp16_ids_equal_fraction === undefined ? [] : [point.fp16_ids_equal_fraction]));
    return [
      ...(errors.length > 0 ? [{ label: `fp8 error vs fp32, ${path}`, value: spread(errors, formatNumber) }] : []),
      ...(shares.length > 0 ? [{ label: `fp8 ids equal to fp16, ${path}`, value: spread(shares, percent) }] : []),
    ];
  });
}

/** The device fields in display order, then any others the backend recorded (peaks have their own group). */
function deviceFields(device: Environment['device']): Field[] {
  const fields: Field[] = DEVICE_FIELDS.flatMap(({ key, label, unit }) => {
    const value = device[key];
    return value === undefined ? [] : [{ label, value: withUnit(value, unit) }];
  });
  const known = new Set(DEVICE_FIELDS.map(({ key }) => key));
  for (const [key, value] of Object.entries(device)) {
    if (!known.has(key) && !isPeakKey(key) && value !== undefined) fields.push({ label: key, value: String(value) });
  }
  return fields;
}

function peakFields(peaks: Peaks): Field[] {
  const fields: Field[] = [];
  if (peaks.gbps !== null) fields.push({ label: 'copy bandwidth', value: `${formatNumber(peaks.gbps)} GB/s` });
  for (const precision of PRECISIONS) {
    const value = peaks.tflops[precision];
    if (value !== undefined) fields.push({ label: `GEMM ${precision}`, value: `${formatNumber(value)} TFLOP/s` });
  }
  return fields;
}

export function headerGroups(results: Results): FieldGroup[] {
  const { run, env } = results;
  const device = deviceFields(env.device);
  const peaks = peakFields(readPeaks(env));
  const commit = env.git.commit === null ? 'unknown' : `${env.git.commit}${env.git.dirty ? ' (dirty tree)' : ''}`;
  const groups: FieldGroup[] = [
    { title: run.backend === 'cuda' ? 'Device' : 'Device (CPU backend)', fields: device },
    {
      title: 'Host',
      fields: [
        { label: 'CPU', value: `${env.host.cpu} (${env.host.cores} cores)` },
        { label: 'memory', value: `${formatNumber(env.host.memory_gb)} GB` },
        { label: 'OS', value: env.host.os },
        { label: 'Node', value: env.host.node },
      ],
    },
    {
      title: 'Run',
      fields: [
        { label: 'id', value: run.id },
        { label: 'profile', value: run.profile },
        { label: 'backend', value: run.backend },
        { label: 'command', value: run.command },
        { label: 'commit', value: commit },
        { label: 'started', value: run.started_at },
        { label: 'finished', value: run.finished_at ?? 'not finished (partial run)' },
        { label: 'wall time', value: run.wall_s === null ? '–' : `${formatNumber(run.wall_s)} s` },
        { label: 'points', value: countByStatus(results.points) },
        { label: 'dropped', value: String(results.dropped.length) },
      ],
    },
  ];
  groups.splice(1, 0, { title: 'Correctness', fields: correctnessFields(results.points) });
  if (peaks.length > 0) groups.push({ title: 'Measured peaks', fields: peaks });
  return groups;
}
