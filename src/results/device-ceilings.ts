// The device's ceilings as a run recorded them in env.device (the addon's calibrate(): measured copy
// bandwidth and GEMM TFLOP/s per precision, the SM clock's maximum), as numbers. The runner
// judges samples and reports % of peak by them; the dashboard draws them.
import { PRECISIONS, type PrecisionName } from '../engine/config.js';
import type { Environment } from './schema.js';

/** What a point's measurement needs to know of the device (src/measure/runner.ts). */
export interface DeviceCeilings {
  /** The SM clock samples are checked against (throttle detection); 0: no clock to check. */
  sm_clock_max_mhz: number;
  /** Measured copy bandwidth and GEMM TFLOP/s per precision; absent when not measured. */
  peak_gbps?: number;
  peak_tflops?: Partial<Record<PrecisionName, number>>;
}

/** A recorded quantity when it is a positive number (text such as "unavailable" is none). */
function positiveNumber(recorded: string | number | undefined): number | undefined {
  return typeof recorded === 'number' && Number.isFinite(recorded) && recorded > 0 ? recorded : undefined;
}

/** The ceilings recorded in an environment's device fields (sm_clock_max_mhz, peak_gbps, peak_tflops_<precision>). */
export function deviceCeilings(env: Pick<Environment, 'device'>): DeviceCeilings {
  const peakTflops: Partial<Record<PrecisionName, number>> = {};
  for (const precision of PRECISIONS) {
    const value = positiveNumber(env.device[`peak_tflops_${precision}`]);
    if (value !== undefined) peakTflops[precision] = value;
  }
  const peakGbps = positiveNumber(env.device.peak_gbps);
  return {
    sm_clock_max_mhz: positiveNumber(env.device.sm_clock_max_mhz) ?? 0,
    ...(peakGbps === undefined ? {} : { peak_gbps: peakGbps }),
    ...(Object.keys(peakTflops).length > 0 ? { peak_tflops: peakTflops } : {}),
  };
}
