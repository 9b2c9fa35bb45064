// The dashboard's answers to "what does fusion buy, is it correct, where is the time": fused,
// unfused and peers on one chart (graph on the hover), the fused-vs-best-peer heatmaps beside the
// fused-vs-unfused ones on one colour scale, the correctness header, the GEMM chart's top shapes and
// each point's samples on demand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDashboard } from '../dashboards/shape.js';
import { measuredPoints, type MeasuredPoint } from '../dashboards/views/common.js';
import { CHARTED_GEMMS, gemmSection } from '../dashboards/views/gemms.js';
import { headerGroups } from '../dashboards/views/header.js';
import { speedupHeatmaps } from '../dashboards/views/heatmaps.js';
import { pathViews } from '../dashboards/views/paths.js';
import { pointExtras } from '../dashboards/point-extras.js';
import type { Chart, Trace } from '../dashboards/views/types.js';
import { encoderMs, gpuResults } from './dashboard-fixtures.js';

const results = gpuResults();
const points = measuredPoints(results, results.points.map(pointExtras));

/** A copy of each fused encoder point as a peer's, `factor` times the fused time. */
function peerPoints(variant: string, factor: number): MeasuredPoint[] {
  return points
    .filter((point) => point.config.path === 'encoder' && point.config.variant === 'fused')
    .map((point, offset) => ({
      ...point,
      index: points.length + offset,
      // Peers are not on the variant axis yet (another change adds them): the views take any variant name.
      config: { ...point.config, variant: variant as never, graph: false },
      summary: { ...point.summary, gpu_ms_median: point.summary.gpu_ms_median * factor },
    }));
}

const traceNamed = (chart: Chart, name: string): Trace => {
  const trace = chart.traces.find((candidate) => candidate.name === name);
  assert.ok(trace, `no trace ${name} in ${chart.traces.map((candidate) => candidate.name).join(', ')}`);
  return trace;
};

describe('fused, unfused and peers on one chart', () => {
  it('fused (graph replay) and unfused (eager) share each latency chart; graph is on the hover', () => {
    assert.deepEqual(points.filter((point) => point.config.path === 'encoder').map((point) => point.config.graph).sort(),
      [...Array(12).fill(false), ...Array(12).fill(true)], 'the fixture launches as the runner does by default');
    const [encoder] = pathViews(points);
    assert.deepEqual(encoder.facets.map((facet) => facet.label), ['seq 32', 'seq 128']);
    const latency = encoder.facets[0].latency;
    assert.deepEqual(latency.traces.map((trace) => trace.name).slice(0, 4), ['fused fp16', 'fused fp32', 'unfused fp16', 'unfused fp32']);
    assert.match((traceNamed(latency, 'fused fp16').hovertext as string[])[0], /graph=true/);
    assert.match((traceNamed(latency, 'unfused fp16').hovertext as string[])[0], /graph=false/);
  });

  it('each peer its own line style; a variant that ran both ways is split by launch', () => {
    const both = points.map((point) => point.config.path === 'encoder' && point.config.variant === 'unfused' && point.config.batch === 8
      ? { ...point, config: { ...point.config, graph: true } } : point);
    const peers = [...peerPoints('torch-eager', 3), ...peerPoints('torch-compile', 2)];
    const latency = pathViews([...both, ...peers])[0].facets[1].latency;
    const styles = latency.traces.filter((trace) => /fp16/.test(String(trace.name)))
      .map((trace) => [trace.name, (trace.line as { dash: string }).dash]);
    assert.deepEqual(styles, [
      ['fused fp16', 'solid'], ['torch-compile fp16', 'longdashdot'], ['torch-eager fp16', 'dashdot'],
      ['unfused fp16 eager', 'dash'], ['unfused fp16 graph', 'dash'],
    ]);
  });

  it("each trace point carries its index into the page's sample distributions", () => {
    const data = buildDashboard({ results });
    const trace = traceNamed(data.paths[0].facets[1].latency, 'unfused fp32');
    const indices = trace.customdata as number[];
    assert.equal(indices.length, 3);
    indices.forEach((index, at) => {
      assert.equal(data.distributions[index].label, `encoder unfused fp32 b${trace.x[at]} s128 12L 12×64`);
      const median = encoderMs(trace.x[at] as number, 128, 'unfused', 'fp32');
      assert.deepEqual(data.distributions[index].samples, results.points.find((point) => point.config.variant === 'unfused'
        && point.config.precision === 'fp32' && point.config.seq === 128 && point.config.batch === trace.x[at])!.samples_ms
        .map((ms) => Number(ms.toPrecision(4))));
      assert.ok(Math.abs(data.distributions[index].samples[5] - median) / median < 0.001);
    });
  });
});

describe('speedup heatmaps', () => {
  it('fused vs the best peer beside fused vs unfused, where peers were measured', () => {
    const charts = speedupHeatmaps([...points, ...peerPoints('torch-eager', 3), ...peerPoints('torch-compile', 2)]);
    assert.deepEqual(charts.map((chart) => chart.title), [
      'encoder fp32: fused vs unfused (unfused ms / fused ms)',
      'encoder fp32: fused vs best peer (best peer ms / fused ms)',
      'encoder fp16: fused vs unfused (unfused ms / fused ms)',
      'encoder fp16: fused vs best peer (best peer ms / fused ms)',
      'decoding fp16: fused vs unfused (unfused ms / fused ms)',
    ]);
    // The best peer is torch-compile, at twice the fused time.
    const [peer] = charts[1].traces;
    assert.deepEqual((peer.text as string[][]).flat(), Array(6).fill('2×'));
    assert.match((peer.hovertext as string[][])[0][0], /torch-compile/);
  });

  it('one colour scale for every heatmap of the page', () => {
    const charts = speedupHeatmaps([...points, ...peerPoints('torch-eager', 3)]);
    const largest = Math.max(...charts.flatMap((chart) => (chart.traces[0].z ?? []).flat()).map((value) => Math.abs(value ?? 0)));
    const limit = Math.ceil(largest);
    for (const chart of charts) {
      const [trace] = chart.traces;
      assert.deepEqual([trace.zmin, trace.zmax], [-limit, limit], chart.title);
      assert.deepEqual(trace.colorbar, charts[0].traces[0].colorbar);
    }
  });
});

describe('correctness header', () => {
  it('counts correct, incorrect and unchecked points and names the worst error of each precision', () => {
    const base = gpuResults();
    const checked = { ...base, points: base.points.map((point, index) => (index === 3 ? { ...point, correct: false, max_rel_err: 0.25 } : point)) };
    const correctness = headerGroups(checked).find((group) => group.title === 'Correctness');
    assert.ok(correctness);
    assert.deepEqual(correctness.fields.map((field) => `${field.label}: ${field.value}`), [
      'correct: 41',
      'incorrect: 1',
      'unchecked: 2',
      'worst error fp32: 0.25 (encoder fused fp32 b1 s128 12L 12×64)',
      'worst error fp16: 0.0004 (encoder fused fp16 b1 s32 12L 12×64)',
    ]);
  });
});

describe('fp8 accuracy in the correctness header', () => {
  it('gives the range of each path\'s recorded error against fp32 and ids share against fp16; none without fp8 points', () => {
    const base = gpuResults();
    const encoder = base.points.filter((point) => point.config.path === 'encoder' && point.status === 'ok').slice(0, 2);
    const decoding = base.points.filter((point) => point.config.path === 'decoding' && point.status === 'ok').slice(0, 3);
    const fp8 = [
      ...encoder.map((point, index) => ({ ...point, config: { ...point.config, precision: 'fp8' as const }, fp32_rel_err: [0.041, 0.0389][index] })),
      ...decoding.map((point, index) => ({
        ...point, config: { ...point.config, precision: 'fp8' as const }, fp32_rel_err: 0.02, fp16_ids_equal_fraction: [0.25, 0.125, 0.3][index],
      })),
    ];
    const fields = (points: typeof base.points) => headerGroups({ ...base, points }).find((group) => group.title === 'Correctness')!.fields
      .filter((field) => field.label.startsWith('fp8 ')).map((field) => `${field.label}: ${field.value}`);
    assert.deepEqual(fields([...base.points, ...fp8]), [
      'fp8 error vs fp32, encoder: 0.0389 – 0.041 (2 points)',
      'fp8 error vs fp32, decoding: 0.02 (3 points)',
      'fp8 ids equal to fp16, decoding: 12.5 % – 30 % (3 points)',
    ]);
    assert.deepEqual(fields(base.points), []);
  });
});

describe('GEMM chart', () => {
  it(`at most ${CHARTED_GEMMS} shapes, those with the most time; the table keeps every one`, () => {
    const [point] = points;
    // 600 shapes; the larger m, the longer: the chart keeps m = 663 down to 634.
    const gemms = Array.from({ length: 600 }, (_, index) => ({
      role: 'qkv', m: 64 + index, n: 2304, k: 768, batch_count: 1, dtype: 'f16', algo: 'algo 1', source: 'heuristic',
      tuned_ms: null, heuristic_ms: 0.001 * (index + 1),
    }));
    const section = gemmSection([{ ...point, extras: { ...point.extras, gemms } }], { gbps: null, tflops: {} });
    assert.ok(section);
    assert.equal(section.table.rows.length, 600);
    const [heuristic] = section.chart.traces;
    assert.equal(heuristic.x.length, CHARTED_GEMMS);
    assert.match(String(heuristic.x[0]), /^qkv 663×/);
    assert.match(String(heuristic.x[CHARTED_GEMMS - 1]), /^qkv 634×/);
    assert.match(section.chart.title, /the 30 with the most time of 600 \(all in the table\)/);
  });
});
