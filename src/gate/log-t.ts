// The gate's estimate for points with too few samples for a rank interval (fewer than about six a
// side: slow points the stop rule measured a few times), when each side has at least two: the ratio
// of geometric means (the difference of mean log-times, exp'd) and the Welch t interval around it.
// This is parametric (it assumes log-normal timings), which the rank interval of hodges-lehmann.ts
// avoids; it is used only where no rank interval exists at the gate's confidence. Slow points are
// the ones measured a few times and they are the steadiest (a second-long decode varies by
// hundredths of a percent), so their interval is narrow even with Student's wide quantiles at one
// or two degrees of freedom. The degrees of freedom are Welch–Satterthwaite's, rounded down
// (conservative: never fewer than min(m, n) - 1); the quantile comes from the exact integer-df
// Student t distribution, by bisection.
import { CONFIDENCE, type RatioEstimate } from './hodges-lehmann.js';

/** P(|T| <= t) for Student's t with integer `df` >= 1 (the closed-form series in cos θ, θ = atan(t/√df)). */
export function studentTCentralProbability(t: number, df: number): number {
  const theta = Math.atan(t / Math.sqrt(df));
  const cos2 = Math.cos(theta) ** 2;
  if (df % 2 === 1) {
    // Odd df: (2/π)(θ + sinθ cosθ (1 + 2/3 cos² + 2·4/(3·5) cos⁴ + …)), df - 2 terms after the 1.
    let term = 1;
    let sum = df > 1 ? 1 : 0;
    for (let k = 3; k < df; k += 2) {
      term *= ((k - 1) / k) * cos2;
      sum += term;
    }
    return (2 / Math.PI) * (theta + Math.sin(theta) * Math.cos(theta) * sum);
  }
  // Even df: sinθ (1 + 1/2 cos² + 1·3/(2·4) cos⁴ + …), df/2 terms.
  let term = 1;
  let sum = 1;
  for (let k = 2; k < df; k += 2) {
    term *= ((k - 1) / k) * cos2;
    sum += term;
  }
  return Math.sin(theta) * sum;
}

/** The two-sided CONFIDENCE quantile of Student's t with integer df (63.66 at 1 df, 2.576 in the limit). */
export function studentTQuantile(df: number): number {
  let lo = 0;
  let hi = 1e4;
  for (let step = 0; step < 200 && hi - lo > 1e-12 * hi; step++) {
    const mid = (lo + hi) / 2;
    if (studentTCentralProbability(mid, df) < CONFIDENCE) lo = mid;
    else hi = mid;
  }
  return hi;
}

function meanAndVariance(values: readonly number[]): [number, number] {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
  return [mean, variance];
}

/**
 * The ratio of geometric means candidate/baseline and its CONFIDENCE Welch interval on log-times,
 * or null when a side has fewer than two samples (no spread to build an interval from).
 */
export function logWelchRatio(baseline: readonly number[], candidate: readonly number[]): RatioEstimate | null {
  const m = baseline.length;
  const n = candidate.length;
  if (m < 2 || n < 2) return null;
  const [baseMean, baseVariance] = meanAndVariance(baseline.map(Math.log));
  const [candMean, candVariance] = meanAndVariance(candidate.map(Math.log));
  const shift = candMean - baseMean;
  const a = baseVariance / m;
  const b = candVariance / n;
  const standardError = Math.sqrt(a + b);
  // Both sides without spread (identical repeats): the interval is the estimate itself.
  const df = standardError === 0 ? 1 : Math.max(1, Math.floor((a + b) ** 2 / (a ** 2 / (m - 1) + b ** 2 / (n - 1))));
  const halfWidth = studentTQuantile(df) * standardError;
  return { ratio: Math.exp(shift), ci: [Math.exp(shift - halfWidth), Math.exp(shift + halfWidth)] };
}
