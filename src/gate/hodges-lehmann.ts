// The Hodges–Lehmann estimate of the ratio candidate/baseline of two sets of timings, and the
// confidence interval built around it.
//
// Method: on log-times, the Hodges–Lehmann shift estimate (the median of the m·n pairwise
// differences log(c_j) - log(b_i)) and the Moses interval that inverts the Mann–Whitney (Wilcoxon
// rank-sum) test (an order-statistic range of the same differences). A slowdown is modelled as a
// multiplicative shift, which is an additive shift of log-times, so exp() of both is the ratio's
// estimate and interval. The estimate is the median of the differences the interval's bounds are
// order statistics of, so it always lies inside its own interval, and two identical sample sets give
// exactly 1 (their differences are symmetric around 0).
// Why this and not a bootstrap:
// - distribution-free: GPU timings are skewed and have outlier tails (clock dips, preemption); the
//   interval's coverage does not depend on their shape, and a few outliers move it by a rank only;
// - deterministic without a seed, and it needs no resampling loop: the bounds are two order
//   statistics, found by selection in O((m + n) log range) time, so thousands of samples per point
//   cost nothing (a bootstrap of medians is also lumpy and under-covers at 30 samples);
// - it is the test asv uses (Mann–Whitney) for the same decision.
// The critical rank uses the normal approximation of the U statistic with the tie correction
// (quantised timers produce ties) and a continuity correction; it is accurate from about ten
// samples a side. Whether a 99% interval exists at all is decided by the sample counts alone (the
// approximation without ties): below that (e.g. 5 vs 5) no rank interval is returned, even where
// every value ties and the tie-corrected variance would degenerate to zero.

/** Confidence level of every interval the gate reports. */
export const CONFIDENCE = 0.99;
/** Two-sided standard-normal quantile for CONFIDENCE: Φ⁻¹(0.995). */
const Z_TWO_SIDED = 2.5758293035489004;

const ascending = (values: readonly number[]): Float64Array => Float64Array.from(values).sort();

/** Σ(t³ − t) over groups of tied values in an ascending array (the U variance's tie term). */
function tieTerm(sorted: Float64Array): number {
  let sum = 0;
  for (let start = 0; start < sorted.length; ) {
    let end = start + 1;
    while (end < sorted.length && sorted[end] === sorted[start]) end++;
    const run = end - start;
    sum += run * run * run - run;
    start = end;
  }
  return sum;
}

/** How many pairwise differences y[j] - x[i] are <= t (x, y ascending), in O(m + n). */
function countDifferencesAtMost(x: Float64Array, y: Float64Array, t: number): number {
  let count = 0;
  let j = 0;
  // As x[i] grows every difference shrinks, so the number of y[j] with y[j] - x[i] <= t only grows.
  for (let i = 0; i < x.length; i++) {
    while (j < y.length && y[j] - x[i] <= t) j++;
    count += j;
  }
  return count;
}

/** The pairwise differences in (lo, hi], unordered. */
function differencesBetween(x: Float64Array, y: Float64Array, lo: number, hi: number): number[] {
  const window: number[] = [];
  let first = 0;
  let end = 0;
  for (let i = 0; i < x.length; i++) {
    while (first < y.length && y[first] - x[i] <= lo) first++;
    while (end < y.length && y[end] - x[i] <= hi) end++;
    for (let j = first; j < end; j++) window.push(y[j] - x[i]);
  }
  return window;
}

/**
 * The k-th smallest (1-based) of the m·n differences y[j] - x[i] (x, y ascending), without
 * materialising them: bisect on the value until at most m + n differences remain in the window.
 */
export function pairwiseDifferenceRank(x: Float64Array, y: Float64Array, k: number): number {
  let lo = y[0] - x[x.length - 1]; // the smallest difference
  let hi = y[y.length - 1] - x[0]; // the largest
  let below = countDifferencesAtMost(x, y, lo);
  if (below >= k) return lo;
  let atMostHi = x.length * y.length;
  // Invariant: below = count(<= lo) < k <= count(<= hi) = atMostHi.
  while (atMostHi - below > x.length + y.length) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) return hi; // adjacent doubles: the k-th difference is hi itself (ties)
    const count = countDifferencesAtMost(x, y, mid);
    if (count >= k) [hi, atMostHi] = [mid, count];
    else [lo, below] = [mid, count];
  }
  const window = differencesBetween(x, y, lo, hi).sort((a, b) => a - b);
  return window[k - below - 1];
}

/** The critical count c (largest with P(U <= c) <= (1 - CONFIDENCE) / 2) for a U variance, or < 0. */
const criticalCount = (m: number, n: number, uVariance: number): number =>
  Math.floor((m * n) / 2 - 0.5 - Z_TWO_SIDED * Math.sqrt(uVariance));

/** Whether m vs n samples admit a CONFIDENCE rank interval (decided without ties, by the counts alone). */
export const rankIntervalExists = (m: number, n: number): boolean =>
  m > 0 && n > 0 && criticalCount(m, n, ((m * n) / 12) * (m + n + 1)) >= 0;

/** The Hodges–Lehmann estimate (median of the pairwise log-differences, exp'd) with its interval. */
export interface RatioEstimate {
  ratio: number;
  ci: [number, number];
}

/**
 * The Hodges–Lehmann ratio candidate/baseline of positive timings and its CONFIDENCE interval, or
 * null when there are too few samples for a rank interval at that level.
 */
export function hodgesLehmannRatio(baseline: readonly number[], candidate: readonly number[]): RatioEstimate | null {
  const m = baseline.length;
  const n = candidate.length;
  if (!rankIntervalExists(m, n)) return null;
  const x = ascending(baseline.map(Math.log));
  const y = ascending(candidate.map(Math.log));
  const total = m + n;
  const ties = tieTerm(ascending([...x, ...y])) / (total * (total - 1));
  const critical = criticalCount(m, n, ((m * n) / 12) * (total + 1 - ties));
  const lower = pairwiseDifferenceRank(x, y, critical + 1);
  const upper = pairwiseDifferenceRank(x, y, m * n - critical);
  const half = (m * n + 1) / 2;
  const middle = Number.isInteger(half)
    ? pairwiseDifferenceRank(x, y, half)
    : (pairwiseDifferenceRank(x, y, Math.floor(half)) + pairwiseDifferenceRank(x, y, Math.ceil(half))) / 2;
  return { ratio: Math.exp(middle), ci: [Math.exp(lower), Math.exp(upper)] };
}
