// The gate's estimators on synthetic samples from fixed seeds (the Hodges–Lehmann ratio and its
// Mann–Whitney interval, the Welch t interval on log-times for a few samples a side) and the gate
// on the committed baselines: a baseline compared with itself, and the printed ratio inside its interval.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compareRuns } from '../src/gate/compare.js';
import { hodgesLehmannRatio, pairwiseDifferenceRank } from '../src/gate/hodges-lehmann.js';
import { logWelchRatio, studentTQuantile } from '../src/gate/log-t.js';
import { readResults } from '../src/results/reader.js';
import { lognormalSamples, makePoint, makeResults, seededRandom, standardNormal } from './gate-fixtures.js';

const TRIALS = 1000;

const ratioInterval = (baseline: number[], candidate: number[]) => hodgesLehmannRatio(baseline, candidate)?.ci ?? null;

function sortedDifferences(x: Float64Array, y: Float64Array): number[] {
  const all: number[] = [];
  for (const a of x) for (const b of y) all.push(b - a);
  return all.sort((a, b) => a - b);
}

describe('Hodges–Lehmann / Mann–Whitney interval', () => {
  test('the k-th pairwise difference matches brute force, with and without ties', () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 200; trial++) {
      const m = 1 + Math.floor(random() * 40);
      const n = 1 + Math.floor(random() * 40);
      const grid = trial % 2 === 0 ? 100 : 1e9; // coarse grid: many ties
      const draw = (): number => Math.round(standardNormal(random) * grid) / grid;
      const x = Float64Array.from({ length: m }, draw).sort();
      const y = Float64Array.from({ length: n }, draw).sort();
      const all = sortedDifferences(x, y);
      for (let k = 1; k <= m * n; k += 1 + Math.floor(random() * 7)) {
        assert.equal(pairwiseDifferenceRank(x, y, k), all[k - 1], `m=${m} n=${n} k=${k}`);
      }
    }
  });

  test('10 vs 10 samples: the 99% interval is [D(16), D(85)] of the log-differences', () => {
    // U variance 10·10·21/12 = 175; c = floor(50 - 0.5 - 2.5758·√175) = 15, so [D(c+1), D(mn-c)].
    const random = seededRandom(11);
    const baseline = lognormalSamples(random, 10, 1, 0.05);
    const candidate = lognormalSamples(random, 10, 1.1, 0.05);
    const logs = (values: number[]): Float64Array => Float64Array.from(values.map(Math.log)).sort();
    const all = sortedDifferences(logs(baseline), logs(candidate));
    assert.deepEqual(ratioInterval(baseline, candidate), [Math.exp(all[15]), Math.exp(all[84])]);
  });

  test('no interval from too few samples (by the counts, ties or not); identical times give a point interval', () => {
    assert.equal(ratioInterval([1, 2, 3], [4, 5, 6]), null);
    assert.equal(ratioInterval([], [1]), null);
    assert.equal(ratioInterval([2], [2]), null);
    assert.equal(ratioInterval(Array(5).fill(2), Array(5).fill(2)), null);
    assert.deepEqual(ratioInterval(Array(6).fill(2), Array(6).fill(2)), [1, 1]);
    assert.deepEqual(ratioInterval(Array(10).fill(2), Array(10).fill(2)), [1, 1]);
  });

  test('the estimate is the median of the pairwise log-differences; identical samples give exactly 1', () => {
    const random = seededRandom(12);
    for (const [m, n] of [[10, 10], [11, 10], [30, 31], [7, 40]]) {
      const baseline = lognormalSamples(random, m, 1, 0.05);
      const candidate = lognormalSamples(random, n, 1.07, 0.05);
      const logs = (values: number[]): Float64Array => Float64Array.from(values.map(Math.log)).sort();
      const all = sortedDifferences(logs(baseline), logs(candidate));
      const middle = all.length % 2 === 1 ? all[(all.length - 1) / 2] : (all[all.length / 2 - 1] + all[all.length / 2]) / 2;
      assert.equal(hodgesLehmannRatio(baseline, candidate)!.ratio, Math.exp(middle), `${m} vs ${n}`);
      const itself = hodgesLehmannRatio(baseline, baseline)!;
      assert.equal(itself.ratio, 1);
      assert.ok(itself.ci[0] <= 1 && 1 <= itself.ci[1]);
    }
  });

  test('the ratio lies inside its interval, whatever the samples', () => {
    const random = seededRandom(13);
    for (let trial = 0; trial < TRIALS; trial++) {
      const count = (): number => 2 + Math.floor(random() * 40);
      const noise = random() * 0.3;
      const baseline = lognormalSamples(random, count(), 1, noise);
      const candidate = lognormalSamples(random, count(), 0.8 + random() * 0.4, noise);
      for (const estimate of [hodgesLehmannRatio(baseline, candidate), logWelchRatio(baseline, candidate)]) {
        if (estimate) assert.ok(estimate.ci[0] <= estimate.ratio && estimate.ratio <= estimate.ci[1], JSON.stringify(estimate));
      }
    }
  });

  test('covers a known ratio of 1.1 in about 99% of trials', () => {
    const random = seededRandom(3);
    let covered = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const ci = ratioInterval(lognormalSamples(random, 30, 1, 0.05), lognormalSamples(random, 30, 1.1, 0.05));
      if (ci && ci[0] <= 1.1 && 1.1 <= ci[1]) covered++;
    }
    assert.ok(covered / TRIALS >= 0.98, `coverage ${covered / TRIALS}`);
  });
});

describe('Welch t on log-times (a few samples a side)', () => {
  test("Student's t quantiles match the tables", () => {
    for (const [df, quantile] of [[1, 63.657], [2, 9.925], [3, 5.841], [4, 4.604], [5, 4.032], [10, 3.169], [30, 2.750], [1000, 2.581]]) {
      assert.ok(Math.abs(studentTQuantile(df) - quantile) < 1e-3, `df ${df}: ${studentTQuantile(df)}`);
    }
  });

  test('geometric means and the Welch interval; none from a single sample', () => {
    const baseline = [100, 101, 99];
    const candidate = [110, 111, 109];
    const logs = (values: number[]) => values.map(Math.log);
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const variance = (values: number[]) => values.reduce((a, b) => a + (b - mean(values)) ** 2, 0) / (values.length - 1);
    const [a, b] = [variance(logs(baseline)) / 3, variance(logs(candidate)) / 3];
    const df = Math.floor((a + b) ** 2 / (a ** 2 / 2 + b ** 2 / 2));
    const shift = mean(logs(candidate)) - mean(logs(baseline));
    const half = studentTQuantile(df) * Math.sqrt(a + b);
    assert.deepEqual(logWelchRatio(baseline, candidate),
      { ratio: Math.exp(shift), ci: [Math.exp(shift - half), Math.exp(shift + half)] });
    assert.equal(logWelchRatio([100], [100, 101]), null);
    assert.deepEqual(logWelchRatio([5, 5], [5, 5]), { ratio: 1, ci: [1, 1] });
  });
});

describe('the committed baselines', () => {
  const baselines = ['h200', 'h100'].map((device) =>
    readResults(fileURLToPath(new URL(`../../results/baselines/${device}.json`, import.meta.url))).results);

  test('compared with itself, at most 5% of the points are anything but same, and none regresses', (t) => {
    for (const baseline of baselines) {
      const comparison = compareRuns(baseline, baseline);
      const notSame = comparison.points.filter((point) => point.verdict !== 'same');
      t.diagnostic(`${baseline.run.id}: ${notSame.length} of ${comparison.points.length} not same`);
      assert.ok(notSame.length <= 0.05 * comparison.points.length, notSame.map((p) => `${p.verdict}: ${p.reason}`).join('\n'));
      // Only points with a single sample have no interval; every point with one is exactly 1.
      assert.ok(notSame.every((point) => point.verdict === 'too-few-samples'
        && baseline.points.find((p) => p.key === point.key)!.samples_ms.length === 1));
      assert.ok(comparison.points.every((point) => point.ci === null || point.ratio === 1));
      assert.equal(comparison.regressions, 0);
    }
  });

  test('against a slowed, reshuffled copy, every printed ratio lies inside its interval', () => {
    const random = seededRandom(17);
    for (const baseline of baselines) {
      const candidate = makeResults(baseline.points.map((point) => makePoint(point.config,
        point.samples_ms.map((ms) => ms * (0.9 + 0.25 * random()))
      )), baseline.env.device as Record<string, string>);
      const comparison = compareRuns(baseline, candidate, { allowEnvMismatch: true });
      for (const point of comparison.points) {
        if (point.ci) assert.ok(point.ci[0] <= point.ratio! && point.ratio! <= point.ci[1], `${point.key}: ${point.reason}`);
      }
    }
  });
});
