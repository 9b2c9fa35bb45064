// Step detection over one point's history: which commits changed its time, in the spirit of asv's
// regression detection (a change is reported where the level of the series moves, not at every noisy
// commit), with a rule small enough to state and test:
//
//   Walk the commits in order, keeping the segment of commits since the last flagged step. At commit
//   j, "before" is the samples of that segment pooled, "after" is commit j's own samples. The step is
//   flagged when the two medians differ by more than `threshold` (5 %) of the before median AND by
//   more than the noise of both sides added up, a side's noise being half its interquartile range
//   (robust to the odd outlier sample). A flagged commit starts a new segment.
//
// So a lasting step is flagged once, at the commit that made it; a single slow commit between two
// normal ones is flagged twice (there, and back), which is what it is. The rule is deterministic:
// no random resampling, no dependence on anything but the samples and their commit order.
import { median, percentileOfSorted, sortedAscending } from '../measure/sample-stats.js';

/** Relative change of the median flagged by default: 5 %, as the gate's default threshold. */
export const DEFAULT_STEP_THRESHOLD = 0.05;

/** One side of a step: the median of its pooled samples and their noise (half the IQR). */
export interface Level {
  median: number;
  noise: number;
  samples: number;
}

export interface Step {
  /** Index of the commit whose samples moved (in the series given). */
  index: number;
  before: Level;
  after: Level;
  /** after.median / before.median: above 1 slower (times), below 1 faster. */
  ratio: number;
}

export function levelOf(samples: readonly number[]): Level {
  const sorted = sortedAscending(samples);
  const noise = (percentileOfSorted(sorted, 75) - percentileOfSorted(sorted, 25)) / 2;
  return { median: median(sorted), noise, samples: sorted.length };
}

/** Whether `after` differs from `before` by more than the threshold and both sides' noise. */
export function isStep(before: Level, after: Level, threshold: number): boolean {
  const change = Math.abs(after.median - before.median);
  return change > threshold * before.median && change > before.noise + after.noise;
}

/**
 * The steps in a series of commits, each given as its samples (in commit order); a commit without
 * samples (the point did not run there) is skipped. Returns the flagged commits in order.
 */
export function detectSteps(series: readonly (readonly number[])[], threshold = DEFAULT_STEP_THRESHOLD): Step[] {
  const steps: Step[] = [];
  let segment: number[] = [];
  series.forEach((samples, index) => {
    if (samples.length === 0) return;
    if (segment.length > 0) {
      const before = levelOf(segment);
      const after = levelOf(samples);
      if (isStep(before, after, threshold)) {
        steps.push({ index, before, after, ratio: after.median / before.median });
        segment = [];
      }
    }
    segment.push(...samples);
  });
  return steps;
}
