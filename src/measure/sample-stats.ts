// Summaries of a point's samples. Percentiles interpolate linearly between the two nearest order
// statistics (numpy's default, "type 7"): p of sorted x[0..n-1] sits at rank h = (n - 1) * p / 100,
// value x[floor h] + (h - floor h) * (x[floor h + 1] - x[floor h]). So p50 is the usual median,
// p0 the minimum and p100 the maximum.

export interface SampleSummary {
  count: number;
  median: number;
  mean: number;
  min: number;
  max: number;
  p10: number;
  p90: number;
  /** Sample standard deviation (n - 1 denominator; 0 for a single sample). */
  stdev: number;
  /** Relative standard deviation: stdev / mean * 100. */
  noise_pct: number;
}

/** The p-th percentile (0..100) of samples already sorted ascending, linearly interpolated. */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be 0..100, got ${p}`);
  const rank = ((sorted.length - 1) * p) / 100;
  const low = Math.floor(rank);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low] + (rank - low) * (sorted[high] - sorted[low]);
}

export const sortedAscending = (samples: readonly number[]): number[] => [...samples].sort((a, b) => a - b);

export const median = (samples: readonly number[]): number => percentileOfSorted(sortedAscending(samples), 50);

export function summarize(samples: readonly number[]): SampleSummary {
  if (samples.length === 0) throw new RangeError('summary of no samples');
  const sorted = sortedAscending(samples);
  const count = sorted.length;
  const mean = sorted.reduce((sum, x) => sum + x, 0) / count;
  const squares = sorted.reduce((sum, x) => sum + (x - mean) ** 2, 0);
  const stdev = count > 1 ? Math.sqrt(squares / (count - 1)) : 0;
  return {
    count,
    median: percentileOfSorted(sorted, 50),
    mean,
    min: sorted[0],
    max: sorted[count - 1],
    p10: percentileOfSorted(sorted, 10),
    p90: percentileOfSorted(sorted, 90),
    stdev,
    noise_pct: mean === 0 ? 0 : (stdev / mean) * 100,
  };
}
