// Confidence interval for the ratio candidate/baseline of two sets of timings.
//
// Method: the Hodges–Lehmann / Moses interval that inverts the Mann–Whitney (Wilcoxon rank-sum)
// test, on log-times. A slowdown is modelled as a multiplicative shift, which is an additive shift
// of log-times; the interval for that shift is an order-statistic range of the pairwise differences
// log(c_j) - log(b_i), so exp() of it is an interval for the ratio of medians.
// Why this and not a bootstrap:
// - distribution-free: GPU timings are skewed and have outlier tails (clock dips, preemption); the
//   interval's coverage does not depend on their shape, and a few outliers move it by a rank only;
// - deterministic without a seed, and it needs no resampling loop: the bounds are two order
//   statistics, found by selection in O((m + n) log range) time, so thousands of samples per point
//   cost nothing (a bootstrap of medians is also lumpy and under-covers at 30 samples);
// - it is the test asv uses (Mann–Whitney) for the same decision.
// The critical rank uses the normal approximation of the U statistic with the tie correction
// (quantised timers produce ties) and a continuity correction; it is accurate from about ten
// samples a side, and where no 99% interval exists at all (e.g. 3 vs 3 samples) none is returned.

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

/**
 * The CONFIDENCE interval for the ratio candidate/baseline (a multiplicative shift) from positive
 * timings, or null when there are too few samples for an interval at that level.
 */
export function ratioInterval(baseline: readonly number[], candidate: readonly number[]): [number, number] | null {
  const m = baseline.length;
  const n = candidate.length;
  if (m === 0 || n === 0) return null;
  const x = ascending(baseline.map(Math.log));
  const y = ascending(candidate.map(Math.log));
  const total = m + n;
  const pooled = ascending([...x, ...y]);
  const ties = total > 1 ? tieTerm(pooled) / (total * (total - 1)) : 0;
  const uVariance = ((m * n) / 12) * (total + 1 - ties);
  // The largest c with P(U <= c) <= (1 - CONFIDENCE) / 2; the interval is [D(c+1), D(mn-c)].
  const critical = Math.floor((m * n) / 2 - 0.5 - Z_TWO_SIDED * Math.sqrt(uVariance));
  if (critical < 0) return null;
  const lower = pairwiseDifferenceRank(x, y, critical + 1);
  const upper = pairwiseDifferenceRank(x, y, m * n - critical);
  return [Math.exp(lower), Math.exp(upper)];
}
