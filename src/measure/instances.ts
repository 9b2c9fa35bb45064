// A point measured over several fresh model instances (measurement.instances): where a model's
// buffers land moves a latency-bound point's time by more than its samples' noise (on the H200 five
// repeats' medians 1.3–1.7 % apart where each repeat's samples varied 0.1–0.5 %: native/src/cuda/NOTES.md,
// decoder versions 10 and 11), so the point's samples are spread over instances and pooled. The runner
// (src/measure/runner.ts) builds and samples them; these are its rules for how many, with what
// budget, and how their measurements combine.
import type { Measurement } from '../sweep/axes.js';
import { STOP_REASONS, type StopReason } from './stop-rule.js';

/** What the runner measured of a point: one instance's, or (pooledMeasurement) several pooled. */
export interface Measured {
  /** Backend-clock duration per unit of each kept sample, ms, in run order. */
  samples_ms: number[];
  /** Host-clock latency per unit of each measured call (launch + sync), ms. */
  host_ms: number[];
  stop_reason: StopReason;
  /** The sampling mode used ('auto' resolved) and units per sample. */
  mode: 'cold' | 'hot';
  units_per_sample: number;
  /** Samples dropped for a throttled SM clock, and the mean SM clock of the kept ones (null: none reported). */
  discarded: number;
  sm_clock_mhz: number | null;
  /** Fresh model instances the samples were spread over. */
  instances: number;
}

/**
 * Instances a point is spread over: `asked`, or fewer where the timeout would not let each run
 * `unitsEach` units of `unitMs` (an instance's warm-up and one sample); at least one. Slow points
 * (seconds a unit) are so measured on one instance, as before, instead of paying each warm-up again.
 */
export function affordableInstances(asked: number, unitMs: number, timeoutMs: number, unitsEach: number): number {
  return Math.max(1, Math.min(asked, Math.floor(timeoutMs / (unitsEach * unitMs))));
}

/** One instance's share of `m` when a point is spread over `instances` of them (at least a sample each). */
export function instanceShare(m: Measurement, instances: number): Measurement {
  return {
    ...m,
    min_samples: Math.ceil(m.min_samples / instances),
    min_time_ms: m.min_time_ms / instances,
    timeout_ms: m.timeout_ms / instances,
    warmup_ms: m.warmup_ms / instances,
    instances,
  };
}

/**
 * The measurements of a point's instances as one: their samples in run order; the stop reason the
 * weakest of theirs (a timeout in any instance is the point's); the SM clock over every kept sample;
 * the first one's sampling plan, which every instance followed.
 */
export function pooledMeasurement(parts: readonly Measured[]): Measured {
  const clocked = parts.filter((part) => part.sm_clock_mhz !== null);
  const clockWeight = clocked.reduce((n, part) => n + part.samples_ms.length, 0);
  return {
    samples_ms: parts.flatMap((part) => part.samples_ms),
    host_ms: parts.flatMap((part) => part.host_ms),
    stop_reason: parts.map((part) => part.stop_reason).reduce((a, b) => (STOP_REASONS.indexOf(a) > STOP_REASONS.indexOf(b) ? a : b)),
    mode: parts[0]!.mode,
    units_per_sample: parts[0]!.units_per_sample,
    discarded: parts.reduce((n, part) => n + part.discarded, 0),
    sm_clock_mhz: clockWeight > 0
      ? clocked.reduce((sum, part) => sum + part.sm_clock_mhz! * part.samples_ms.length, 0) / clockWeight : null,
    instances: parts.length,
  };
}
