// Compares a candidate run with a baseline, point by point, and decides which points regressed.
//
// Per matched point (same configKey), `ratio` is an estimate of candidate/baseline time and `ci` the
// 99% interval built around that same estimate, from the retained samples: the Hodges–Lehmann ratio
// and its Mann–Whitney (Moses) interval (hodges-lehmann.ts), or, for points with too few samples
// for a rank interval but at least two a side, the ratio of geometric means and its Welch t interval
// (log-t.ts). The ratio always lies inside its interval; an identical sample set gives exactly 1.
//   slower  ratio > 1 + threshold       and ci[0] > 1   (a real change, bigger than the threshold)
//   faster  ratio < 1 / (1 + threshold) and ci[1] < 1   (the same in log space)
//   noisy   the ratio is past the threshold but the interval includes 1: a change of that size is
//           suggested, not shown.
//   same    otherwise: the estimate is within the threshold. Where the interval is wider than the
//           threshold the reason says so (with both runs' sample noise), but no change was measured,
//           so a run compared with itself is `same` at every point that has an interval.
//   too-few-samples  a side has a single sample, so no interval exists: the candidate's median is
//           judged against the baseline's spread instead (slower when it exceeds the baseline's slowest
//           sample by more than the threshold, faster when under the fastest by as much), else this
//           verdict. So a point 10x slower fails whatever its sample count.
// Points of the baseline missing from the candidate (an interrupted or partial run) fail the gate
// unless allowPartial: each counts as a regression.
// Status and correctness are gated before timings: ok -> error/oom and correct true -> false are
// regressions with verdict 'incomparable' (a failed or wrong point has no time worth comparing);
// the reason says which. Other status changes (error -> ok, error -> error) are incomparable and
// not regressions. `noisy` and `too-few-samples` count as regressions only with `strict`.
// Metric host_ms: results carry host time as a median only (no per-sample host times), so no
// interval exists; those points get the ratio of host medians and verdict `noisy` ("cannot bound").
// Peer points (torch, Hugging Face: src/engine/peer-model.ts) get their verdicts but are never
// regressions: the gate guards ftbench's engine, not the libraries it is compared with.
import { configKey, isPeerVariant, type PointConfig } from '../engine/config.js';
import type { Point, Results } from '../results/schema.js';
import { environmentMismatch } from './env-mismatch.js';
import { CONFIDENCE, hodgesLehmannRatio, type RatioEstimate } from './hodges-lehmann.js';
import { logWelchRatio } from './log-t.js';
import { InputError } from '../input-error.js';

export type Verdict = 'faster' | 'slower' | 'same' | 'noisy' | 'too-few-samples' | 'incomparable';
/** The order verdicts are counted and listed in, by every output (console, markdown, dashboard). */
export const VERDICT_ORDER: readonly Verdict[] = ['slower', 'faster', 'same', 'noisy', 'too-few-samples', 'incomparable'];

export interface PointComparison {
  key: string;
  config: PointConfig;
  verdict: Verdict;
  /** Counts toward exit 1: slower, status/correctness regressions, noisy and too-few-samples under strict. */
  regression: boolean;
  /**
   * Candidate / baseline time: the estimate `ci` is built around (Hodges–Lehmann, or the ratio of
   * geometric means for a few samples a side); the ratio of medians where there is no interval.
   */
  ratio: number | null;
  /** CONFIDENCE-level interval around `ratio`; null with too few samples or no samples (host_ms). */
  ci: [number, number] | null;
  baseline_ms: number | null;
  candidate_ms: number | null;
  /** One human line: why this verdict. */
  reason: string;
}

export interface Comparison {
  /** Regressions first, then by |log ratio| descending. */
  points: PointComparison[];
  /** Config keys present only in the candidate / only in the baseline. */
  added: string[];
  removed: string[];
  /** Human lines naming differing environment fields (empty when compatible). */
  env_mismatch: string[];
  /** Regressing points, plus the removed ones unless partial candidates are allowed. */
  regressions: number;
  /** Whether removed points were accepted (allowPartial) rather than counted as regressions. */
  partial_allowed: boolean;
}

export type Metric = 'gpu_ms' | 'host_ms';
export const METRICS: readonly Metric[] = ['gpu_ms', 'host_ms'];

export interface CompareOptions {
  threshold?: number;
  metric?: Metric;
  strict?: boolean;
  allowEnvMismatch?: boolean;
  /** Accept a candidate that lacks some of the baseline's points (else each counts as a regression). */
  allowPartial?: boolean;
}

export const DEFAULT_THRESHOLD = 0.05;

/** Input the gate cannot use (refused runs, bad options, unreadable files): CLI exit 2. */
export class GateInputError extends InputError {}

interface Settings {
  threshold: number;
  metric: Metric;
  strict: boolean;
}

/** Signed percentage change of a ratio, e.g. 1.123 -> "+12.3%". */
export function formatChange(ratio: number): string {
  const percent = (ratio - 1) * 100;
  return `${percent >= 0 ? '+' : '-'}${Math.abs(percent).toFixed(1)}%`;
}

const formatInterval = (ci: [number, number]): string =>
  `${Math.round(CONFIDENCE * 100)}% CI ${formatChange(ci[0])} .. ${formatChange(ci[1])}`;

/** A ratio estimate with its interval, and how it was built (for the reason line). */
interface Estimate extends RatioEstimate {
  method: string;
}

/**
 * The Hodges–Lehmann estimate where a rank interval exists, else the log-t one where each side has
 * two samples, else null (a side with a single sample has no spread to build an interval from).
 */
function estimateRatio(baseline: readonly number[], candidate: readonly number[]): Estimate | null {
  const rank = hodgesLehmannRatio(baseline, candidate);
  if (rank) return { ...rank, method: '' };
  const logT = logWelchRatio(baseline, candidate);
  return logT && { ...logT, method: `, Welch t on log-times: ${baseline.length} vs ${candidate.length} samples` };
}

function indexByKey(results: Results, role: string): Map<string, Point> {
  const points = new Map<string, Point>();
  for (const point of results.points) {
    const key = configKey(point.config);
    if (points.has(key)) throw new GateInputError(`${role} run ${results.run.id}: two points share the key "${key}"`);
    points.set(key, point);
  }
  return points;
}

interface Timing {
  median: number;
  /** Per-sample times, or null where the metric has none (host_ms). */
  samples: number[] | null;
}

/** The point's timing for the metric, or why there is none. */
function timingOf(point: Point, metric: Metric, role: string): Timing | string {
  if (point.summary === null) return `no summary in the ${role}`;
  const median = metric === 'gpu_ms' ? point.summary.gpu_ms_median : point.summary.host_ms_median;
  if (median === null) return `no host_ms_median in the ${role}`;
  if (!(median > 0)) return `non-positive ${metric} median ${median} in the ${role}`;
  if (metric === 'host_ms') return { median, samples: null };
  if (point.samples_ms.some((sample) => !(sample > 0))) return `non-positive sample time in the ${role}`;
  return { median, samples: point.samples_ms };
}

type TimingVerdict = Pick<PointComparison, 'verdict' | 'ratio' | 'ci' | 'baseline_ms' | 'candidate_ms' | 'reason'>;

function noisyReason(base: Point, cand: Point, why: string): string {
  const noise = (point: Point): string => (point.summary ? `${point.summary.noise_pct.toFixed(1)}%` : 'n/a');
  return `${why} (sample noise ${noise(base)} / ${noise(cand)})`;
}

/** Slower or faster by the baseline's spread (too few samples for an interval), or null when within it. */
function spreadVerdict(median: number, baseline: readonly number[], limit: number, threshold: string):
  { verdict: 'slower' | 'faster'; reason: string } | null {
  if (baseline.length === 0) return null;
  const slowest = Math.max(...baseline);
  const fastest = Math.min(...baseline);
  if (median > slowest * limit) {
    return { verdict: 'slower', reason: `the median is over the baseline's slowest sample (${+slowest.toPrecision(4)} ms) by more than ${threshold}` };
  }
  if (median < fastest / limit) {
    return { verdict: 'faster', reason: `the median is under the baseline's fastest sample (${+fastest.toPrecision(4)} ms) by more than ${threshold}` };
  }
  return null;
}

function compareTimings(base: Point, cand: Point, settings: Settings): TimingVerdict {
  const before = timingOf(base, settings.metric, 'baseline');
  const after = timingOf(cand, settings.metric, 'candidate');
  const baseline_ms = typeof before === 'string' ? null : before.median;
  const candidate_ms = typeof after === 'string' ? null : after.median;
  if (typeof before === 'string' || typeof after === 'string') {
    const reason = [before, after].filter((why) => typeof why === 'string').join('; ');
    return { verdict: 'incomparable', ratio: null, ci: null, baseline_ms, candidate_ms, reason };
  }
  const threshold = `${(settings.threshold * 100).toFixed(1).replace(/\.0$/, '')}%`;
  const common = { baseline_ms, candidate_ms };
  if (before.samples === null || after.samples === null) {
    const ratio = after.median / before.median;
    const reason = `${formatChange(ratio)}: host_ms has a median only, no samples to bound the change`;
    return { ...common, ratio, verdict: 'noisy', ci: null, reason };
  }
  const limit = 1 + settings.threshold;
  const estimate = estimateRatio(before.samples, after.samples);
  if (estimate === null) {
    const ratio = after.median / before.median;
    const why = `${formatChange(ratio)}: too few samples (${before.samples.length} vs ${after.samples.length}) for a ${
      Math.round(CONFIDENCE * 100)}% interval`;
    const spread = spreadVerdict(after.median, before.samples, limit, threshold);
    if (spread) return { ...common, ratio, ci: null, verdict: spread.verdict, reason: `${why}; ${spread.reason}` };
    return { ...common, ratio, ci: null, verdict: 'too-few-samples', reason: `${why}; the median is not past the baseline's spread by more than ${threshold}` };
  }
  const { ratio, ci } = estimate;
  const change = formatChange(ratio);
  const interval = `${formatInterval(ci)}${estimate.method}`;
  const estimated = { ...common, ratio, ci };
  if (ratio > limit && ci[0] > 1) return { ...estimated, verdict: 'slower', reason: `${change} (${interval})` };
  if (ratio < 1 / limit && ci[1] < 1) return { ...estimated, verdict: 'faster', reason: `${change} (${interval})` };
  if (ratio > limit || ratio < 1 / limit) {
    const why = `${change}: past ${threshold}, but the ${interval} includes no change`;
    return { ...estimated, verdict: 'noisy', reason: noisyReason(base, cand, why) };
  }
  const within = `${change} within ${threshold} (${interval})`;
  // A wide interval is context, not a verdict: no change was measured, but one of the threshold's size is not excluded.
  const reason = ci[1] > limit || ci[0] < 1 / limit
    ? noisyReason(base, cand, `${within}; the interval cannot exclude a ${threshold} change`)
    : within;
  return { ...estimated, verdict: 'same', reason };
}

function comparePoint(key: string, base: Point, cand: Point, settings: Settings): PointComparison {
  const config = cand.config;
  if (base.status !== 'ok' || cand.status !== 'ok') {
    const message = cand.status !== 'ok' ? `: ${cand.error ?? 'no error message'}` : '';
    return {
      key, config, verdict: 'incomparable', regression: base.status === 'ok',
      ratio: null, ci: null, baseline_ms: null, candidate_ms: null,
      reason: `${base.status} -> ${cand.status}${message}`,
    };
  }
  const timing = compareTimings(base, cand, settings);
  if (base.correct === true && cand.correct === false) {
    const error = cand.max_rel_err === null ? '' : ` (max_rel_err ${cand.max_rel_err.toExponential(2)})`;
    return { key, config, ...timing, verdict: 'incomparable', regression: true, reason: `correct -> incorrect${error}` };
  }
  const unresolved = timing.verdict === 'noisy' || timing.verdict === 'too-few-samples';
  const regression = timing.verdict === 'slower' || (settings.strict && unresolved);
  return { key, config, ...timing, regression };
}

/** A peer point's comparison as reported: its verdict, never a regression. */
function reportedOnlyForPeers(point: PointComparison): PointComparison {
  if (!isPeerVariant(point.config.variant)) return point;
  return { ...point, regression: false, reason: `${point.reason} (peer: reported, not gated)` };
}

const logMagnitude = (point: PointComparison): number => (point.ratio === null ? -1 : Math.abs(Math.log(point.ratio)));

function byImportance(a: PointComparison, b: PointComparison): number {
  if (a.regression !== b.regression) return a.regression ? -1 : 1;
  return logMagnitude(b) - logMagnitude(a) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

function resolveSettings(options: CompareOptions): Settings {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  if (!(threshold > 0 && threshold < 1)) {
    throw new GateInputError(`threshold must be a fraction between 0 and 1 (e.g. 0.05), got ${threshold}`);
  }
  const metric = options.metric ?? 'gpu_ms';
  if (!METRICS.includes(metric)) throw new GateInputError(`metric must be one of ${METRICS.join(', ')}, got ${metric}`);
  return { threshold, metric, strict: options.strict ?? false };
}

/**
 * Compares every point the two runs share; the baseline's points the candidate lacks are regressions
 * unless allowPartial. Throws GateInputError when the environments differ
 * (unless allowEnvMismatch; then the differences are listed in env_mismatch) or a run has two
 * points with one key.
 */
export function compareRuns(baseline: Results, candidate: Results, options: CompareOptions = {}): Comparison {
  const settings = resolveSettings(options);
  const env_mismatch = environmentMismatch(baseline, candidate);
  if (env_mismatch.length > 0 && !options.allowEnvMismatch) {
    throw new GateInputError(
      `runs from different environments: ${env_mismatch.join('; ')} (pass --allow-env-mismatch to compare anyway)`,
    );
  }
  const before = indexByKey(baseline, 'baseline');
  const after = indexByKey(candidate, 'candidate');
  const points: PointComparison[] = [];
  for (const [key, cand] of after) {
    const base = before.get(key);
    if (base) points.push(reportedOnlyForPeers(comparePoint(key, base, cand, settings)));
  }
  points.sort(byImportance);
  const removed = [...before.keys()].filter((key) => !after.has(key)).sort();
  const partialAllowed = options.allowPartial ?? false;
  return {
    points,
    added: [...after.keys()].filter((key) => !before.has(key)).sort(),
    removed,
    env_mismatch,
    regressions: points.filter((point) => point.regression).length + (partialAllowed ? 0 : removed.length),
    partial_allowed: partialAllowed,
  };
}
