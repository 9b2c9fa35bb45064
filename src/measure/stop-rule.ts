// When a point has been measured enough: nvbench's rule (../shared/REFERENCE.md §4). Samples are
// taken until BOTH minimums hold (`min_samples` samples, `min_time_ms` of backend time), then the
// point stops at the first of:
//   noise         the relative standard deviation of the samples is at most `max_noise_pct`;
//   noise-stable  the noise has stopped changing: over the last NOISE_WINDOW samples it moved by
//                 less than NOISE_STABLE_FRACTION of its value (more samples would not lower it);
//   timeout       `timeout_ms` of wall time since the first sample.
import type { Measurement } from '../sweep/axes.js';

export const STOP_REASONS = ['noise', 'noise-stable', 'timeout'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/** Samples over which the noise must hold still to count as stable. */
export const NOISE_WINDOW = 16;
/** "Holds still": max − min of the noise over the window, relative to its latest value. */
export const NOISE_STABLE_FRACTION = 0.05;

export class StopRule {
  private count = 0;
  private mean = 0;
  private squares = 0; // Welford's running sum of squared deviations
  private total = 0;
  private readonly noiseHistory: number[] = [];

  constructor(private readonly criteria: Measurement) {}

  /** Relative standard deviation of the samples so far, %. */
  get noisePct(): number {
    if (this.count < 2 || this.mean === 0) return 0;
    return (Math.sqrt(this.squares / (this.count - 1)) / this.mean) * 100;
  }

  /** Adds a sample of `ms`, taken `wallMs` after the first sample started; says why to stop, or null. */
  add(ms: number, wallMs: number): StopReason | null {
    this.count++;
    this.total += ms;
    const delta = ms - this.mean;
    this.mean += delta / this.count;
    this.squares += delta * (ms - this.mean);
    if (wallMs >= this.criteria.timeout_ms) return 'timeout';
    if (this.count < this.criteria.min_samples || this.total < this.criteria.min_time_ms) return null;
    const noise = this.noisePct;
    if (noise <= this.criteria.max_noise_pct) return 'noise';
    this.noiseHistory.push(noise);
    if (this.noiseHistory.length < NOISE_WINDOW) return null;
    const window = this.noiseHistory.slice(-NOISE_WINDOW);
    return Math.max(...window) - Math.min(...window) < NOISE_STABLE_FRACTION * noise ? 'noise-stable' : null;
  }
}
