// The gate's decisions, on synthetic sample streams from fixed seeds (its estimators: gate-statistics.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configKey } from '../src/engine/config.js';
import { compareRuns, GateInputError } from '../src/gate/compare.js';
import type { Results } from '../src/results/schema.js';
import { environmentMismatch } from '../src/gate/env-mismatch.js';
import { renderMarkdown, renderTable, TABLE_WIDTH, type GateContext } from '../src/gate/format.js';
import { deviceSlug } from '../src/gate/promote.js';
import { hodgesLehmannRatio } from '../src/gate/hodges-lehmann.js';
import { logWelchRatio } from '../src/gate/log-t.js';
import {
  H100_DEVICE, lognormalSamples, makePoint, makeResults, pointConfig, pointPair, seededRandom,
} from './gate-fixtures.js';

const TRIALS = 1000;

/** Fraction of TRIALS one-point comparisons (30 samples, `noise`) that the gate calls a regression. */
function regressionRate(seed: number, factor: number, noise = 0.05): number {
  const random = seededRandom(seed);
  let flagged = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const [baseline, candidate] = pointPair(random, factor, noise);
    flagged += compareRuns(baseline, candidate).regressions;
  }
  return flagged / TRIALS;
}

describe('proof: 1000 trials, 30 samples, 5% noise, 5% threshold', () => {
  test('A/A comparisons are flagged in at most 1% of trials', (t) => {
    const rate = regressionRate(101, 1.0);
    t.diagnostic(`A/A false-positive rate ${rate}`);
    assert.ok(rate <= 0.01, `A/A flagged ${rate}`);
  });

  test('a 10% slowdown is flagged in at least 99% of trials', (t) => {
    const rate = regressionRate(202, 1.1);
    t.diagnostic(`10% slowdown detection rate ${rate}`);
    assert.ok(rate >= 0.99, `10% slowdown flagged ${rate}`);
  });

  test('a 10% speedup is faster, never a regression, in at least 99% of trials', () => {
    const random = seededRandom(303);
    let faster = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const [baseline, candidate] = pointPair(random, 1 / 1.1);
      const { points, regressions } = compareRuns(baseline, candidate);
      assert.equal(regressions, 0);
      if (points[0].verdict === 'faster') faster++;
    }
    assert.ok(faster / TRIALS >= 0.99, `10% speedup called faster ${faster / TRIALS}`);
  });

  test('a 3% slowdown is never flagged once resolved (1% noise); at 5% noise chance crosses 5% in ~10%', (t) => {
    // At 1% noise the change is real to the interval (it excludes 1) but under the threshold: same.
    const random = seededRandom(404);
    for (let trial = 0; trial < TRIALS; trial++) {
      const [baseline, candidate] = pointPair(random, 1.03, 0.01);
      const [point] = compareRuns(baseline, candidate).points;
      assert.equal(point.verdict, 'same', point.reason);
      assert.ok(point.ci !== null && point.ci[0] > 1, point.reason);
    }
    // At 5% noise the Hodges–Lehmann estimate of a 3% change from 30 samples a side exceeds 5% in about
    // 7% of trials (20 000 trials: 7.3%); the interval cannot tell those from a real 5% change.
    const rate = regressionRate(505, 1.03);
    t.diagnostic(`3% slowdown at 5% noise flagged in ${rate} of trials`);
    assert.ok(rate <= 0.1, `3% slowdown flagged ${rate}`);
  });
});

describe('status and correctness', () => {
  test('a correctness flip is always flagged, whatever the timings', () => {
    const random = seededRandom(606);
    for (const factor of [0.5, 1, 1.5]) {
      for (let trial = 0; trial < 100; trial++) {
        const [baseline, candidate] = pointPair(random, factor);
        candidate.points[0] = { ...candidate.points[0], correct: false, max_rel_err: 0.3 };
        const { points, regressions } = compareRuns(baseline, candidate);
        assert.equal(regressions, 1);
        assert.equal(points[0].verdict, 'incomparable');
        assert.equal(points[0].reason, 'correct -> incorrect (max_rel_err 3.00e-1)');
      }
    }
  });

  test('ok -> error and ok -> oom are regressions with the message; error -> ok is not', () => {
    const random = seededRandom(707);
    const [baseline, candidate] = pointPair(random, 1);
    const failed = (status: 'error' | 'oom', error: string) =>
      makeResults([{ ...candidate.points[0], status, error, summary: null, samples_ms: [], correct: null }]);
    const error = compareRuns(baseline, failed('error', 'encoder layer 0: an illegal memory access was encountered'));
    assert.equal(error.regressions, 1);
    assert.deepEqual([error.points[0].verdict, error.points[0].reason],
      ['incomparable', 'ok -> error: encoder layer 0: an illegal memory access was encountered']);
    const oom = compareRuns(baseline, failed('oom', 'out of memory allocating 4096 MiB'));
    assert.equal(oom.points[0].reason, 'ok -> oom: out of memory allocating 4096 MiB');
    assert.equal(oom.regressions, 1);
    const fixed = compareRuns(failed('error', 'x'), candidate);
    assert.deepEqual([fixed.regressions, fixed.points[0].verdict, fixed.points[0].reason], [0, 'incomparable', 'error -> ok']);
  });
});

describe('matching, environment, options', () => {
  test('unmatched points are listed as added / removed; regressions sort first, then by |log ratio|', () => {
    const random = seededRandom(808);
    const configs = [1, 2, 4, 8].map((batch) => pointConfig({ batch }));
    const samples = (ms: number) => lognormalSamples(random, 30, ms, 0.01);
    const baseline = makeResults([configs[0], configs[1], configs[2]].map((c) => makePoint(c, samples(1))));
    const candidate = makeResults([
      makePoint(configs[0], samples(0.7)), makePoint(configs[1], samples(1.2)), makePoint(configs[3], samples(1)),
    ]);
    const comparison = compareRuns(baseline, candidate);
    assert.deepEqual(comparison.added, [configKey(configs[3])]);
    assert.deepEqual(comparison.removed, [configKey(configs[2])]);
    assert.deepEqual(comparison.points.map((p) => [p.config.batch, p.verdict, p.regression]),
      [[2, 'slower', true], [1, 'faster', false]]);
    // The baseline point the candidate lacks counts too, unless a partial candidate is allowed.
    assert.equal(comparison.regressions, 2);
    assert.equal(compareRuns(baseline, candidate, { allowPartial: true }).regressions, 1);
  });

  test('different environments are refused naming the fields, and compared with allowEnvMismatch', () => {
    const random = seededRandom(909);
    const [baseline, candidate] = pointPair(random, 1);
    const a100 = makeResults(candidate.points, { ...H100_DEVICE, name: 'NVIDIA A100-SXM4-80GB', cublas: '12.9.1',
      sm_clock_mhz: '1410' });
    assert.throws(() => compareRuns(baseline, a100), new GateInputError(
      'runs from different environments: device.cublas: "13.1.0" vs "12.9.1"; '
      + 'device.name: "NVIDIA H100 80GB HBM3" vs "NVIDIA A100-SXM4-80GB" (pass --allow-env-mismatch to compare anyway)'));
    const allowed = compareRuns(baseline, a100, { allowEnvMismatch: true });
    assert.deepEqual(allowed.env_mismatch,
      ['device.cublas: "13.1.0" vs "12.9.1"', 'device.name: "NVIDIA H100 80GB HBM3" vs "NVIDIA A100-SXM4-80GB"']);
    assert.equal(allowed.points.length, 1);
    // Clocks and free memory vary between runs of one machine and are not compared.
    const sameMachine = makeResults(candidate.points, { ...H100_DEVICE, sm_clock_mhz: '1755', memory_free_mb: '79000' });
    assert.deepEqual(environmentMismatch(baseline, sameMachine), []);
  });

  test('a worker process a point against one for all is a mismatch; absent is one for all', () => {
    const withMeasurement = (measurement: object) => {
      const results = makeResults([]);
      return { ...results, run: { ...results.run, options: { measurement } } };
    };
    const fresh = withMeasurement({ min_samples: 10, fresh_process: true });
    assert.deepEqual(environmentMismatch(makeResults([]), fresh), ['measurement.fresh_process: false vs true']);
    assert.deepEqual(environmentMismatch(fresh, withMeasurement({ fresh_process: false })), ['measurement.fresh_process: true vs false']);
    assert.deepEqual(environmentMismatch(makeResults([]), withMeasurement({ fresh_process: false })), []);
    assert.deepEqual(environmentMismatch(fresh, fresh), []);
  });

  test('different precision sets and backends are mismatches', () => {
    const random = seededRandom(1001);
    const fp16 = makePoint(pointConfig(), lognormalSamples(random, 30, 1, 0.05));
    const fp32 = makePoint(pointConfig({ precision: 'fp32' }), lognormalSamples(random, 30, 1, 0.05));
    assert.deepEqual(environmentMismatch(makeResults([fp16, fp32]), makeResults([fp16])), ['precisions: fp16, fp32 vs fp16']);
    const cpu = makeResults([], { backend: 'cpu', name: 'CPU reference (fp32 storage, fp64 accumulation)' });
    assert.deepEqual(environmentMismatch(makeResults([]), cpu), [
      'run.backend: cuda vs cpu',
      'device.backend: "cuda" vs "cpu"',
      'device.cublas: "13.1.0" vs (absent)',
      'device.cuda_driver_api: "13.0" vs (absent)',
      'device.cuda_runtime: "13.0" vs (absent)',
      'device.driver: "580.95.05" vs (absent)',
      'device.name: "NVIDIA H100 80GB HBM3" vs "CPU reference (fp32 storage, fp64 accumulation)"',
    ]);
  });

  test('a ratio past the threshold whose interval includes 1 is noisy: reported, failing only under strict', () => {
    // Ten samples a side, spread ±30%: the candidate's sit 8% higher, which the interval cannot confirm.
    const config = pointConfig();
    const times = Array.from({ length: 10 }, (_, i) => 0.7 + 0.066 * i);
    const baseline = makeResults([makePoint(config, times)]);
    const candidate = makeResults([makePoint(config, times.map((ms) => ms * 1.08))]);
    const relaxed = compareRuns(baseline, candidate);
    const [point] = relaxed.points;
    assert.equal(point.verdict, 'noisy');
    assert.ok(Math.abs(point.ratio! - 1.08) < 1e-12, String(point.ratio));
    assert.match(point.reason, /^\+8\.0%: past 5%, but the 99% CI -\d+\.\d% \.\. \+\d+\.\d% includes no change \(sample noise \d+\.\d% \/ \d+\.\d%\)$/);
    assert.equal(relaxed.regressions, 0);
    assert.equal(compareRuns(baseline, candidate, { strict: true }).regressions, 1);
  });

  test('an estimate within the threshold is same even when the interval is wide; the reason says so', () => {
    const random = seededRandom(1102);
    const [baseline, candidate] = pointPair(random, 1, 0.3);
    const [point] = compareRuns(baseline, candidate).points;
    assert.equal(point.verdict, 'same');
    assert.ok(point.ci![0] < 1 / 1.05 && point.ci![1] > 1.05, String(point.ci));
    assert.match(point.reason, /within 5% \(99% CI .*\); the interval cannot exclude a 5% change \(sample noise \d+\.\d% \/ \d+\.\d%\)$/);
  });

  test('the printed ratio is the Hodges–Lehmann estimate, not the ratio of medians', () => {
    // The upper 17 of 30 samples move up 6%: the medians differ by 6%, the bulk of the samples much less.
    const config = pointConfig();
    const times = Array.from({ length: 30 }, (_, i) => 1 + 0.002 * i);
    const baseline = makeResults([makePoint(config, times)]);
    const candidate = makeResults([makePoint(config, times.map((ms, i) => (i >= 13 ? ms * 1.06 : ms)))]);
    const [point] = compareRuns(baseline, candidate).points;
    assert.equal(point.ratio, hodgesLehmannRatio(times, candidate.points[0].samples_ms)!.ratio);
    assert.ok(point.ratio! < 1.05 && point.ci![0] <= point.ratio! && point.ratio! <= point.ci![1], String([point.ratio, point.ci]));
    assert.equal(point.verdict, 'same', point.reason);
  });

  test('a few samples a side: Welch t on log-times; a single sample: too-few-samples, judged by the spread', () => {
    const config = pointConfig();
    const baseline = makeResults([makePoint(config, [1.0, 1.01, 0.99])]);
    const within = makeResults([makePoint(config, [1.04, 1.05, 1.03])]);
    const [point] = compareRuns(baseline, within).points;
    assert.deepEqual([point.verdict, point.ratio, point.ci], ['same', logWelchRatio([1.0, 1.01, 0.99], [1.04, 1.05, 1.03])!.ratio,
      logWelchRatio([1.0, 1.01, 0.99], [1.04, 1.05, 1.03])!.ci]);
    assert.match(point.reason, /^\+4\.0% within 5% \(99% CI -\d\.\d% \.\. \+\d\.\d%, Welch t on log-times: 3 vs 3 samples\); the interval cannot exclude a 5% change/);
    const [slower] = compareRuns(baseline, makeResults([makePoint(config, [1.5, 1.51, 1.49])])).points;
    assert.deepEqual([slower.verdict, slower.regression], ['slower', true]);
    // One sample a side: no interval; the verdict says so unless the median is past the baseline's spread.
    const single = makeResults([makePoint(config, [1.0])]);
    const [few] = compareRuns(single, makeResults([makePoint(config, [1.02])])).points;
    assert.deepEqual([few.verdict, few.regression, few.ci, few.reason], ['too-few-samples', false, null,
      "+2.0%: too few samples (1 vs 1) for a 99% interval; the median is not past the baseline's spread by more than 5%"]);
    assert.equal(compareRuns(single, makeResults([makePoint(config, [1.02])]), { strict: true }).regressions, 1);
    const [pastSpread] = compareRuns(baseline, makeResults([makePoint(config, [1.5])])).points;
    assert.deepEqual([pastSpread.verdict, pastSpread.regression, pastSpread.reason], ['slower', true,
      "+50.0%: too few samples (3 vs 1) for a 99% interval; the median is over the baseline's slowest sample (1.01 ms) by more than 5%"]);
    const [faster] = compareRuns(baseline, makeResults([makePoint(config, [0.5])])).points;
    assert.deepEqual([faster.verdict, faster.regression], ['faster', false]);
    // A run the reader refuses (an ok point without samples), compared anyway by a program.
    const empty = { ...baseline, points: [{ ...baseline.points[0], samples_ms: [], summary: null }] };
    const [missing] = compareRuns(baseline, empty).points;
    assert.deepEqual([missing.verdict, missing.reason, missing.baseline_ms], ['incomparable', 'no summary in the candidate', 1.0]);
  });

  test('one sample a point: 10x slower fails, the same run passes against itself (too few samples to call it same)', () => {
    const random = seededRandom(1111);
    const configs = [1, 2, 4, 8].map((batch) => pointConfig({ batch }));
    const baseline = makeResults(configs.map((c) => makePoint(c, lognormalSamples(random, 1, 2, 0.05))));
    const tenTimes = makeResults(baseline.points.map((p) => makePoint(p.config, p.samples_ms.map((ms) => ms * 10))));
    const slow = compareRuns(baseline, tenTimes);
    assert.deepEqual(slow.points.map((p) => p.verdict), ['slower', 'slower', 'slower', 'slower']);
    assert.equal(slow.regressions, 4);
    const itself = compareRuns(baseline, baseline);
    assert.deepEqual([itself.regressions, itself.points.map((p) => p.verdict)], [0, Array(4).fill('too-few-samples')]);
  });

  test('cpu runs compare their hosts: CPU model, cores, threads', () => {
    const cpuDevice = { backend: 'cpu', name: 'CPU reference (fp32 storage, fp64 accumulation)', threads: '16' };
    const cpuRun = (host: Partial<Results['env']['host']>, device = cpuDevice) => {
      const results = makeResults([], device);
      return { ...results, run: { ...results.run, backend: 'cpu' as const }, env: { ...results.env, host: { ...results.env.host, ...host } } };
    };
    const here = cpuRun({ cpu: 'Intel Xeon Platinum 8480+', cores: 16, physical_cores: 8 });
    assert.deepEqual(environmentMismatch(here, here), []);
    assert.deepEqual(environmentMismatch(here, cpuRun({ cpu: 'AMD EPYC 9654', cores: 192, physical_cores: 96 }, { ...cpuDevice, threads: '192' })), [
      'device.threads: 16 vs 192', 'host.cpu: "Intel Xeon Platinum 8480+" vs "AMD EPYC 9654"', 'host.cores: 16 vs 192', 'host.physical_cores: 8 vs 96',
    ]);
  });

  test('host_ms compares host medians and has no interval', () => {
    const random = seededRandom(1203);
    const [baseline, candidate] = pointPair(random, 1.5, 0.01);
    const [point] = compareRuns(baseline, candidate, { metric: 'host_ms' }).points;
    const hostRatio = candidate.points[0].summary!.host_ms_median! / baseline.points[0].summary!.host_ms_median!;
    assert.deepEqual([point.verdict, point.ratio, point.ci], ['noisy', hostRatio, null]);
    assert.match(point.reason, /: host_ms has a median only, no samples to bound the change$/);
  });

  test('bad options and duplicate keys are refused', () => {
    const random = seededRandom(1304);
    const [baseline, candidate] = pointPair(random, 1);
    assert.throws(() => compareRuns(baseline, candidate, { threshold: 5 }),
      new GateInputError('threshold must be a fraction between 0 and 1 (e.g. 0.05), got 5'));
    const doubled = makeResults([baseline.points[0], baseline.points[0]]);
    assert.throws(() => compareRuns(doubled, candidate),
      new GateInputError(`baseline run h100-test: two points share the key "${configKey(pointConfig())}"`));
  });
});

describe('outputs', () => {
  function context(baseline: Results, candidate: Results): GateContext {
    return { baseline: { file: 'base.json', results: baseline }, candidate: { file: 'cand.json', results: candidate },
      threshold: 0.05, metric: 'gpu_ms', strict: false };
  }

  test('the console table fits 120 columns and ends with the summary line', () => {
    const random = seededRandom(1405);
    const configs = [1, 2, 3].map((batch) => pointConfig({ batch, seq: 8 * batch }));
    const baseline = makeResults(configs.map((c) => makePoint(c, lognormalSamples(random, 30, 1, 0.01))));
    const candidate = makeResults(configs.map((c, i) => makePoint(c, lognormalSamples(random, 30, 1 + i * 0.2, 0.01))));
    const comparison = compareRuns(baseline, candidate);
    const table = renderTable(comparison, context(baseline, candidate));
    const lines = table.trimEnd().split('\n');
    assert.ok(lines.every((line) => line.length <= TABLE_WIDTH), table);
    assert.match(lines[5], /^slower!\s+1\.\d{3} {2}1\.\d{3}\.\.1\.\d{3}\s+\S+\s+\S+ {2}b3 s24$/);
    assert.equal(lines[2], 'metric gpu_ms, threshold 5%, 99% intervals: Hodges-Lehmann, or Welch t on log-times for a few samples');
    assert.equal(lines[lines.length - 1],
      'gate FAIL: 2 regression(s); slower 2, faster 0, same 1, noisy 0, too-few-samples 0, incomparable 0; added 0, removed 0');
  });

  test('console names keep the axis two points differ in: sampling, beam, graph, full_length, tp', () => {
    const random = seededRandom(1406);
    const decoding = { path: 'decoding' as const, variant: 'fused' as const, batch: 8, seq: 32 };
    const configs = [
      pointConfig({ ...decoding }), pointConfig({ ...decoding, top_k: 4 }), pointConfig({ ...decoding, top_p: 0.9 }),
      pointConfig({ ...decoding, top_k: 4, top_p: 0.9 }), pointConfig({ ...decoding, beam: 4 }),
      pointConfig({ ...decoding, graph: false }), pointConfig({ ...decoding, full_length: true }),
      pointConfig({ ...decoding, tp: 2 }),
    ];
    const run = makeResults(configs.map((c) => makePoint(c, lognormalSamples(random, 30, 5, 0.01))));
    const table = renderTable(compareRuns(run, run), context(run, run));
    const lines = table.trimEnd().split('\n');
    assert.ok(lines.every((line) => line.length <= TABLE_WIDTH), table);
    const names = lines.filter((line) => /^same /.test(line)).map((line) => line.slice(line.lastIndexOf('  ') + 2));
    assert.deepEqual(names.sort(), [
      'beam1 k0 p0 var-length graph tp1', 'beam1 k0 p0 var-length graph tp2', 'beam1 k0 p0 var-length eager tp1',
      'beam1 k0 p0 full-length graph tp1', 'beam1 k0 p0.9 var-length graph tp1', 'beam1 k4 p0 var-length graph tp1',
      'beam1 k4 p0.9 var-length graph tp1', 'beam4 k0 p0 var-length graph tp1',
    ].sort());
  });

  test('a long point name wraps under its column instead of being cut', () => {
    const random = seededRandom(1407);
    const configs = [pointConfig(), pointConfig({ path: 'decoding', variant: 'unfused', precision: 'bf16', batch: 128, beam: 32,
      seq: 256, layers: 24, heads: 16, head_size: 128, inter_size: 8192, vocab: 50257, mem_len: 256, top_k: 40, top_p: 0.95,
      temperature: 0.7, length_penalty: 1, full_length: true, graph: false, tp: 8 })];
    const run = makeResults(configs.map((c) => makePoint(c, lognormalSamples(random, 30, 5, 0.01))));
    const lines = renderTable(compareRuns(run, run), context(run, run)).split('\n');
    assert.ok(lines.every((line) => line.length <= TABLE_WIDTH && !line.includes('…')));
    const start = lines.findIndex((line) => line.includes('decoding unfused bf16'));
    const column = lines[start].indexOf('decoding');
    const parts = [lines[start].slice(column)];
    for (let i = start + 1; lines[i].startsWith(' '.repeat(column)); i++) parts.push(lines[i].slice(column));
    assert.ok(parts.length > 1);
    assert.equal(parts.join(' '), 'decoding unfused bf16 b128 beam32 s256 layers24 heads16 head128 inter8192 vocab50257 '
      + 'mem256 k40 p0.95 temp0.7 lp1 full-length eager tp8');
  });

  test('markdown escapes text from the results files', () => {
    const random = seededRandom(1506);
    const [baseline, candidate] = pointPair(random, 1);
    const broken = makeResults([{ ...candidate.points[0], status: 'error', error: 'bad | <script>x</script>' }]);
    const comparison = compareRuns(baseline, broken);
    const markdown = renderMarkdown(comparison, context(baseline, broken));
    assert.ok(markdown.includes('ok -&gt; error: bad \\| &lt;script&gt;x&lt;/script&gt;'), markdown);
    assert.ok(!markdown.includes('<script>'));
    assert.ok(markdown.startsWith('### ftbench gate: 1 regression(s)\n'));
  });

  test('markdown: links, images, code, emphasis and HTML from results files stay text', () => {
    const random = seededRandom(1507);
    const [baseline, candidate] = pointPair(random, 1);
    const hostile = '[click](https://evil.example) ![img](http://evil.example/x.png) `code` **bold** _em_ <b>html</b> www.evil.example';
    const broken = makeResults([{ ...candidate.points[0], status: 'error', error: hostile }], H100_DEVICE, 'run`with``ticks');
    const markdown = renderMarkdown(compareRuns(baseline, broken), { ...context(baseline, broken), candidate: { file: 'x`y.json', results: broken } });
    const row = markdown.split('\n').find((line) => line.includes('click'))!;
    assert.ok(row.endsWith('| ok -&gt; error: \\[click\\](https\\://evil.example) !\\[img\\](http\\://evil.example/x.png) \\`code\\` ' +
      '\\*\\*bold\\*\\* \\_em\\_ &lt;b&gt;html&lt;/b&gt; www\\.evil.example |'), row);
    assert.ok(markdown.includes('- candidate: ``x`y.json`` (run ```run`with``ticks```)'), markdown);
  });

  test('device slugs for baseline file names', () => {
    const withName = (name: string) => makeResults([], { ...H100_DEVICE, name });
    assert.equal(deviceSlug(withName('NVIDIA H100 80GB HBM3')), 'h100');
    assert.equal(deviceSlug(withName('NVIDIA A100-SXM4-80GB')), 'a100');
    assert.equal(deviceSlug(withName('NVIDIA GeForce RTX 4090')), 'rtx-4090');
    assert.equal(deviceSlug(makeResults([], { backend: 'cpu', name: 'CPU reference' })), 'cpu');
    assert.throws(() => deviceSlug(withName('Mystery GPU')),
      new GateInputError('cannot derive a device name from env.device.name "Mystery GPU"; pass --device'));
  });
});
