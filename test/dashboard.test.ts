// Unit tests of the dashboard's data shaping (dashboards/shape.ts), section by section; the whole page,
// its HTML and the CLI are in dashboard-page.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configKey, decodeStrategy, pointLabel } from '../src/engine/config.js';
import { compareRuns } from '../src/gate/compare.js';
import { parseResults } from '../src/results/schema.js';
import { pointExtras } from '../dashboards/point-extras.js';
import { buildDashboard } from '../dashboards/shape.js';
import { breakdownCharts } from '../dashboards/views/breakdowns.js';
import { formatNumber, hoverText, measuredPoints, plotlyText, type MeasuredPoint } from '../dashboards/views/common.js';
import { comparisonView } from '../dashboards/views/compare.js';
import { efficiencyCharts } from '../dashboards/views/efficiency.js';
import { gemmSection } from '../dashboards/views/gemms.js';
import { headerGroups, readPeaks } from '../dashboards/views/header.js';
import { speedupHeatmaps } from '../dashboards/views/heatmaps.js';
import { pathViews } from '../dashboards/views/paths.js';
import { failuresTable } from '../dashboards/views/points.js';
import { referenceTable } from '../dashboards/views/published.js';
import type { Chart, Table, Trace } from '../dashboards/views/types.js';
import {
  BERT_BASE, config, cpuResults, FT_DECODING, decodingMs, encoderMs, gpuRawJson, gpuResults, gpuRun, okPoint, slowerCandidate,
} from './dashboard-fixtures.js';

function gpuPoints(): MeasuredPoint[] {
  const results = gpuRun();
  return measuredPoints(results, results.points.map(pointExtras));
}

const traceNamed = (chart: Chart, name: string): Trace => {
  const trace = chart.traces.find((candidate) => candidate.name === name);
  assert.ok(trace, `no trace named ${name} in ${chart.id}: ${chart.traces.map((t) => t.name).join(', ')}`);
  return trace;
};
const column = (table: Table, name: string): string[] => {
  const index = table.columns.indexOf(name);
  assert.ok(index >= 0, `no column ${name}`);
  return table.rows.map((row) => row[index].display);
};

describe('formatting', () => {
  it('keeps at least 4 significant digits and every integer digit', () => {
    assert.equal(formatNumber(3.21749), '3.217');
    assert.equal(formatNumber(0.0123456), '0.01235');
    assert.equal(formatNumber(27248), '27,248');
    assert.equal(formatNumber(1234567.8), '1,234,568');
    assert.equal(formatNumber(0.9), '0.9');
    assert.equal(formatNumber(-2.5), '-2.5');
  });

  it('escapes the characters plotly reads as markup', () => {
    assert.equal(plotlyText('<img src=x onerror=alert(1)> & <b>'), '&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;');
  });

  it('names decode strategies and points', () => {
    assert.equal(decodeStrategy({ beam: 4, top_k: 0, top_p: 0 }), 'beam 4');
    assert.equal(decodeStrategy({ beam: 1, top_k: 0, top_p: 0 }), 'beam 1');
    assert.equal(decodeStrategy({ beam: 1, top_k: 4, top_p: 0 }), 'top-k 4');
    assert.equal(decodeStrategy({ beam: 1, top_k: 0, top_p: 0.75 }), 'top-p 0.75');
    assert.equal(decodeStrategy({ beam: 1, top_k: 32, top_p: 0.75 }), 'top-k 32, top-p 0.75');
    const encoder = config({ path: 'encoder', variant: 'fused', precision: 'fp16', ...BERT_BASE, batch: 32, seq: 128 });
    assert.equal(pointLabel(encoder), 'encoder fused fp16 b32 s128 12L 12×64');
    const decoding = config({ path: 'decoding', variant: 'unfused', precision: 'bf16', batch: 8, seq: 32, beam: 4 });
    assert.equal(pointLabel(decoding), 'decoding unfused bf16 b8 s32 beam 4 1L 2×8');
  });

  it('hover text lists the summary, every config field, and escapes strings', () => {
    const point = okPoint(config({ path: 'encoder', variant: 'fused', precision: 'fp16', batch: 2 }), 1.5);
    const text = hoverText({ config: point.config, summary: point.summary!, extras: { gbps: 12.5, gemms: [], stages: [], kernels: [] } });
    const lines = text.split('<br>');
    assert.equal(lines[0], '<b>encoder fused fp16 b2 s16 1L 2×8</b>');
    assert.equal(lines[1], 'median ms 1.5 · mean ms 1.5 · min ms 1.492 · max ms 1.508');
    assert.ok(lines.includes('samples 12 · host ms 1.52 · tokens/s 21,333 · TFLOP/s 1.333'), text);
    assert.ok(lines.includes('GB/s 12.5'), text);
    for (const field of Object.keys(point.config)) assert.match(text, new RegExp(`\\b${field}=`), field);
    // How it was measured, where the run recorded it.
    const summary = { ...point.summary!, mode: 'hot' as const, stop_reason: 'noise' as const, units_per_sample: 8, discarded: 1, sm_clock_mhz: 1975,
      pct_peak_tflops: 42.5, pct_peak_gbps: null };
    const measured = hoverText({ config: point.config, summary, extras: { gbps: 12.5, gemms: [], stages: [], kernels: [] } }).split('<br>');
    assert.ok(measured.includes('GB/s 12.5 · % of peak TFLOP/s 42.5 · SM clock MHz 1,975 · units/sample 8'), measured.join('\n'));
    assert.ok(measured.includes('discarded 1'), measured.join('\n'));
    assert.ok(measured.includes('hot samples · stopped on noise'), measured.join('\n'));
  });
});

describe('optional per-point records', () => {
  it('takes GB/s, GEMMs, stages and kernels where present, nothing where absent', () => {
    const results = gpuRun();
    const extras = results.points.map(pointExtras);
    const index = results.points.findIndex((point) => point.key === configKey(config({ path: 'encoder', variant: 'fused', precision: 'fp16', ...BERT_BASE, batch: 32, seq: 128 })));
    assert.equal(extras[index].gbps, 3200);
    assert.deepEqual(extras[index].gemms[0], {
      role: 'qkv', m: 4096, n: 2304, k: 768, batch_count: 1, dtype: 'f16',
      algo: 'algo 66 tile 18 stages 4 splitk 1 reduction 0 swizzle 0 custom 0 inner 0 cluster 0 workspace 0',
      source: 'tuned', tuned_ms: 0.04, heuristic_ms: 0.05,
    });
    assert.deepEqual(extras[index].kernels[1], { name: 'softmax<half>', stage: 'attention', calls: 12, total_ms: 0.05 });
    assert.deepEqual(extras[index].stages[0], { name: 'qkv_gemm', stage: null, calls: 12, total_ms: 0.08 });
    const decoding = results.points.findIndex((point) => point.config.path === 'decoding');
    assert.deepEqual(extras[decoding], { gbps: null, gemms: [], stages: [], kernels: [] });
  });

  it('a malformed record is refused by the reader, naming the field', () => {
    const raw = gpuRawJson() as { points: Record<string, unknown>[] };
    const index = raw.points.findIndex((point) => Array.isArray(point.gemms));
    raw.points[index].gemms = [{ role: 'qkv', n: 1, k: 1 }];
    assert.throws(() => parseResults(raw, 'bad.json'), { message: new RegExp(`^bad\\.json: invalid results file: points\\.${index}\\.gemms\\.0\\.m: `) });
  });

  it('takes a GEMM without times (a shape the tuning cache lacks)', () => {
    const results = gpuRun();
    const ffn2 = results.points.map(pointExtras).flatMap((extra) => extra.gemms).find((gemm) => gemm.role === 'ffn2')!;
    assert.deepEqual([ffn2.tuned_ms, ffn2.heuristic_ms, ffn2.source], [null, null, 'heuristic']);
  });
});

describe('header', () => {
  it('lists device fields in order with units, host, run and measured peaks', () => {
    const groups = headerGroups(gpuResults('<img src=x onerror=alert(1)>'));
    assert.deepEqual(groups.map((group) => group.title), ['Device', 'Correctness', 'Host', 'Run', 'Measured peaks']);
    assert.deepEqual(groups[0].fields.map((field) => `${field.label}: ${field.value}`), [
      'GPU: <img src=x onerror=alert(1)>',
      'compute capability: 9.0',
      'SMs: 132',
      'memory: 81559 MB',
      'L2: 50 MB',
      'max SM clock: 1980 MHz',
      'SM clock at start: unavailable',
      'driver: 580.95',
      'CUDA driver API: 13.0',
      'CUDA runtime: 13.0',
      'cuBLAS: 13.1.0',
      'device_index: 0',
      'memory_free_mb: 80000',
    ]);
    const run = Object.fromEntries(groups[3].fields.map((field) => [field.label, field.value]));
    assert.equal(run.points, '44 (42 ok, 1 error, 1 oom)');
    assert.equal(run.commit, '0123456789abcdef0123456789abcdef01234567');
    assert.equal(run['wall time'], '450 s');
    assert.deepEqual(groups[4].fields, [
      { label: 'copy bandwidth', value: '3,000 GB/s' },
      { label: 'GEMM fp32', value: '50 TFLOP/s' },
      { label: 'GEMM fp16', value: '700 TFLOP/s' },
    ]);
  });

  it('a partial CPU run: no peaks group, unfinished and unknown commit said so', () => {
    const groups = headerGroups(cpuResults());
    assert.deepEqual(groups.map((group) => group.title), ['Device (CPU backend)', 'Correctness', 'Host', 'Run']);
    const run = Object.fromEntries(groups[3].fields.map((field) => [field.label, field.value]));
    assert.equal(run.finished, 'not finished (partial run)');
    assert.equal(run.commit, 'unknown');
    assert.equal(run['wall time'], '–');
  });

  it('reads peaks only from positive numbers', () => {
    const env = gpuResults().env;
    assert.deepEqual(readPeaks(env), { gbps: 3000, tflops: { fp32: 50, fp16: 700 } });
    assert.deepEqual(readPeaks({ ...env, device: { peak_gbps: 'n/a', peak_tflops_bf16: -1, peak_tflops_tf32: 390.5 } }), {
      gbps: null,
      tflops: { tf32: 390.5 },
    });
  });
});

describe('per-path charts', () => {
  const views = pathViews(gpuPoints());

  it('facets the encoder by seq and decoding by strategy, in order', () => {
    assert.deepEqual(views.map((view) => view.path), ['encoder', 'decoding']);
    assert.deepEqual(views[0].facets.map((facet) => facet.label), ['seq 32', 'seq 128']);
    assert.deepEqual(views[1].facets.map((facet) => facet.label), ['beam 1', 'beam 4', 'top-k 4']);
  });

  it('one line per variant × precision, batch on x, medians and tokens/s on y', () => {
    const facet = views[0].facets[1];
    assert.deepEqual(facet.latency.traces.map((trace) => trace.name), [
      'fused fp16', 'fused fp32', 'unfused fp16', 'unfused fp32', 'FT published (A100, another GPU)',
    ]);
    const unfused = traceNamed(facet.latency, 'unfused fp32');
    assert.deepEqual(unfused.x, [1, 8, 32]);
    assert.deepEqual(unfused.y, [1, 8, 32].map((batch) => encoderMs(batch, 128, 'unfused', 'fp32')));
    const throughput = traceNamed(facet.throughput, 'fused fp16');
    assert.deepEqual(throughput.y, [1, 8, 32].map((batch) => (batch * 128 * 1000) / encoderMs(batch, 128, 'fused', 'fp16')));
    assert.deepEqual(facet.latency.layout.xaxis, { title: { text: 'batch' }, type: 'log', tickvals: [1, 8, 32], ticktext: ['1', '8', '32'] });
    assert.equal(facet.latency.title, 'encoder latency vs batch · seq 128');
  });

  it('draws p10–p90 bars on latency', () => {
    const trace = traceNamed(views[0].facets[0].latency, 'fused fp16');
    const errors = trace.error_y as { array: number[]; arrayminus: number[] };
    const median = encoderMs(1, 32, 'fused', 'fp16');
    assert.ok(Math.abs(errors.array[0] - median * 0.0045) < 1e-12);
    assert.ok(Math.abs(errors.arrayminus[0] - median * 0.0045) < 1e-12);
  });

  it('puts the published FT figures on the charts whose points match them', () => {
    const [seq32, seq128] = views[0].facets;
    const stars128 = traceNamed(seq128.latency, 'FT published (A100, another GPU)');
    assert.deepEqual(stars128.x, [32, 32]);
    assert.deepEqual(stars128.y, [4.81, 2.75]);
    assert.match((stars128.hovertext as string[])[1], /EFF-FT \(padding removed\): 2\.75 ms.*A100 \(another GPU\)/);
    assert.deepEqual(traceNamed(seq32.latency, 'FT published (A100, another GPU)').y, [0.9]);
    assert.equal(seq128.throughput.traces.length, 4, 'no tokens/s figure for the encoder');
    const [, beam4, topk4] = views[1].facets;
    const beamStars = traceNamed(beam4.throughput, 'FT published (A100, another GPU)');
    assert.deepEqual([beamStars.x, beamStars.y], [[128, 1], [27248, 1272]]);
    assert.deepEqual(traceNamed(topk4.throughput, 'FT published (A100, another GPU)').y, [44960]);
    assert.equal(views[1].facets[0].throughput.traces.length, 2, 'no figure for beam 1 decoding');
  });

  it('tabulates the published figures against this run', () => {
    const table = referenceTable(gpuPoints());
    assert.ok(table);
    assert.equal(table.rows.length, 12);
    const first = table.rows[0].map((cell) => cell.display);
    const ours = encoderMs(32, 128, 'fused', 'fp16');
    assert.deepEqual(first, ['BERT-base fp16 b32 s128', 'FT', '4.81 ms', 'fused (cuda)', `${formatNumber(ours)} ms`, `${formatNumber(4.81 / ours)}×`]);
    const decodingRow = table.rows.find((row) => row[0].display === 'decoding fp16 b128 beam 4' && row[3].display === 'unfused (cuda)');
    assert.ok(decodingRow);
    const tokens = (128 * 128 * 1000) / decodingMs(128, 4, 'unfused');
    assert.equal(decodingRow[5].display, `${formatNumber(tokens / 27248)}×`);
    assert.equal(referenceTable(measuredPoints(cpuResults(), [])), null);
  });
});

describe('fused / unfused heatmaps', () => {
  const heatmaps = speedupHeatmaps(gpuPoints());

  it('one per path and precision with pairs, batch × seq or batch × strategy', () => {
    assert.deepEqual(heatmaps.map((chart) => chart.title), [
      'encoder fp32: fused vs unfused (unfused ms / fused ms)',
      'encoder fp16: fused vs unfused (unfused ms / fused ms)',
      'decoding fp16: fused vs unfused (unfused ms / fused ms)',
    ]);
    const [encoder] = heatmaps[1].traces;
    assert.deepEqual(encoder.x, ['seq 32', 'seq 128']);
    assert.deepEqual(encoder.y, ['b1', 'b8', 'b32']);
    const expected = [1, 8, 32].map((batch) => [32, 128].map((seq) => 1 + 0.1 * Math.log2(batch) + seq / 256));
    // Coloured on a log scale: z is log2 of the speedup the cell's text shows.
    encoder.z!.forEach((row, r) => row.forEach((value, c) => assert.ok(Math.abs((value as number) - Math.log2(expected[r][c])) < 1e-12)));
    assert.deepEqual((encoder.text as string[][])[2], ['1.625×', '2×']);
    const [decoding] = heatmaps[2].traces;
    assert.deepEqual(decoding.x, ['beam 1', 'beam 4', 'top-k 4']);
    assert.deepEqual(decoding.y, ['b1', 'b8', 'b128']);
  });

  it('leaves a cell empty where a pair is missing', () => {
    const points = gpuPoints().filter(
      (point) => !(point.config.path === 'encoder' && point.config.variant === 'unfused' && point.config.batch === 8 && point.config.seq === 32),
    );
    const [trace] = speedupHeatmaps(points).find((chart) => chart.title.startsWith('encoder fp16'))!.traces;
    assert.equal(trace.z![1][0], null);
    assert.equal((trace.text as string[][])[1][0], '');
    assert.equal((trace.hovertext as string[][])[1][0], 'batch 8 · seq 32: no fused/unfused pair');
  });

  it('none without fused/unfused pairs (CPU reference run)', () => {
    assert.deepEqual(speedupHeatmaps(measuredPoints(cpuResults(), [])), []);
  });
});

describe('efficiency', () => {
  it('TFLOP/s and GB/s per point with the measured peaks as lines', () => {
    const results = gpuResults();
    const charts = efficiencyCharts(gpuPoints(), readPeaks(results.env));
    assert.deepEqual(charts.map((chart) => chart.id), ['efficiency-tflops', 'efficiency-gbps']);
    const [tflops, gbps] = charts;
    assert.deepEqual(tflops.traces.filter((trace) => trace.mode === 'lines').map((trace) => [trace.name, trace.y]), [
      ['measured GEMM peak fp32 50 TFLOP/s', [50, 50]],
      ['measured GEMM peak fp16 700 TFLOP/s', [700, 700]],
    ]);
    assert.deepEqual(gbps.traces.map((trace) => trace.name), ['encoder fused fp16', 'encoder fused fp32', 'measured copy peak 3,000 GB/s']);
    const fp16 = traceNamed(gbps, 'encoder fused fp16');
    assert.deepEqual(fp16.x, [1, 1, 8, 8, 32, 32]);
    assert.match((fp16.hovertext as string[])[0], /^100 GB\/s \(3\.333% of measured peak\)<br>/);
  });

  it('omitted without the metrics; no peak lines without peaks', () => {
    assert.deepEqual(efficiencyCharts(measuredPoints(cpuResults(), []), { gbps: null, tflops: {} }), []);
    const [tflops] = efficiencyCharts(gpuPoints(), { gbps: null, tflops: {} });
    assert.equal(tflops.title, 'achieved TFLOP/s per point');
    assert.ok(tflops.traces.every((trace) => trace.mode === 'markers'));
  });
});

describe('GEMMs and breakdowns', () => {
  it('one row per distinct GEMM with TFLOP/s, % of peak and tuned speedup', () => {
    const section = gemmSection(gpuPoints(), readPeaks(gpuResults().env));
    assert.ok(section);
    const { table, chart } = section;
    assert.deepEqual(column(table, 'role'), ['ffn1', 'ffn2', 'qkv']);
    assert.deepEqual(column(table, 'm×n×k'), ['4096×3072×768', '4096×768×3072', '4096×2304×768']);
    // 2·4096·3072·768 flop in 0.052 ms; no time for ffn2; 2·4096·2304·768 flop in 0.04 ms (tuned).
    assert.deepEqual(column(table, 'TFLOP/s'), ['371.7', '–', '362.4']);
    assert.deepEqual(column(table, '% of peak'), ['53.1%', '–', '51.77%']);
    assert.deepEqual(column(table, 'tuned speedup'), ['–', '–', '1.25×']);
    assert.deepEqual(column(table, 'points'), ['2', '2', '2']);
    const algo = (tile: number) => `algo 66 tile ${tile} stages 4 splitk 1 reduction 0 swizzle 0 custom 0 inner 0 cluster 0 workspace 0`;
    assert.deepEqual(column(table, 'algorithm'), [algo(20), algo(18), algo(18)]);
    assert.deepEqual(chart.traces.map((trace) => trace.name), ['heuristic', 'tuned']);
    // The chart: by time summed over the points (0.052 ms heuristic ffn1, 0.04 ms tuned qkv; ffn2 has no time).
    assert.deepEqual(chart.traces[0].x, ['ffn1 4096×3072×768 f16 (fp16)', 'qkv 4096×2304×768 f16 (fp16)', 'ffn2 4096×768×3072 f16 (fp16)']);
    assert.equal(chart.traces[1].y[0], null);
    assert.equal(gemmSection(measuredPoints(cpuResults(), []), { gbps: null, tflops: {} }), null);
  });

  it('stacks stage and kernel times per point next to the event time', () => {
    const charts = breakdownCharts(gpuPoints());
    assert.deepEqual(charts.map((chart) => chart.id), ['stages', 'kernels']);
    const [stages, kernels] = charts;
    assert.deepEqual(stages.traces.map((trace) => trace.name), ['qkv_gemm', 'attention', 'ffn', 'event time (median)']);
    assert.deepEqual(stages.traces[0].x, ['encoder fused fp16 b32 s128 12L 12×64', 'encoder unfused fp16 b32 s128 12L 12×64']);
    assert.deepEqual(stages.traces[0].y, [0.08, 0.08]);
    assert.deepEqual(stages.traces[3].y, [encoderMs(32, 128, 'fused', 'fp16'), encoderMs(32, 128, 'unfused', 'fp16')]);
    assert.deepEqual(kernels.traces.map((trace) => trace.name), ['gemm_128x256', 'softmax&lt;half&gt;', 'add_bias_gelu', 'event time (median)']);
  });

  it('gives a stage\'s own TFLOP/s in its hover where the results have it', () => {
    const [point] = gpuPoints();
    const stages = [{ name: 'attention', stage: null, calls: 12, total_ms: 0.0617, tflops: 235.2 }, { name: 'layernorm', stage: null, calls: 24, total_ms: 0.16 }];
    const [chart] = breakdownCharts([{ ...point, extras: { gbps: null, gemms: [], stages, kernels: [] } }]);
    // Series by time, largest first: layernorm (no rate), then attention.
    assert.deepEqual(chart.traces.slice(0, 2).map((trace) => [trace.name, trace.hovertext]), [['layernorm', ['']], ['attention', [' · 235.2 TFLOP/s']]]);
    assert.match(String(chart.traces[1].hovertemplate), /^attention: %\{y:\.4g\} ms%\{hovertext\}/);
  });

  it('groups kernels beyond the top 12 as "other" and derives stages from kernels', () => {
    const [point] = gpuPoints();
    const kernels = Array.from({ length: 14 }, (_, index) => ({ name: `k${index}`, stage: index < 7 ? 'a' : null, calls: 1, total_ms: 14 - index }));
    const charts = breakdownCharts([{ ...point, extras: { gbps: null, gemms: [], stages: [], kernels } }]);
    const [stages, byKernel] = charts;
    // Stage from the kernel's stage, or its name when it has none.
    assert.deepEqual(stages.traces[0].name, 'a');
    assert.deepEqual(stages.traces[0].y, [14 + 13 + 12 + 11 + 10 + 9 + 8]);
    assert.equal(byKernel.traces.length, 14);
    assert.equal(byKernel.traces[12].name, 'other');
    assert.deepEqual(byKernel.traces[12].y, [2 + 1]);
    assert.deepEqual(breakdownCharts(measuredPoints(gpuResults(), [])), []);
  });

});

describe('tables', () => {
  it('lists failed, oom and dropped points with their errors', () => {
    const table = failuresTable(gpuResults());
    assert.ok(table);
    assert.deepEqual(table.rows.map((row) => row.map((cell) => cell.display)), [
      ['oom', 'decoding unfused fp32 b128 s128 beam 32 6L 8×64', 'out of memory allocating the K/V cache (12.0 GiB)'],
      ['error', 'encoder fused fp32 b64 s384 12L 12×64', 'worker exited on signal SIGSEGV'],
      ['dropped', 'path=decoding beam=64', 'beam must be 1..32, got 64'],
    ]);
    assert.equal(failuresTable(cpuResults()), null);
  });

  it('the points table has every point, numbers sortable and failed ones blank', () => {
    const data = buildDashboard({ results: gpuRun() });
    assert.equal(data.points.rows.length, 44);
    const medianAt = data.points.columns.indexOf('median ms');
    const statusAt = data.points.columns.indexOf('status');
    const oom = data.points.rows.find((row) => row[statusAt].display === 'oom')!;
    assert.deepEqual(oom[medianAt], { display: '–', sort: null });
    assert.deepEqual(data.points.rows[0][medianAt], { display: formatNumber(encoderMs(1, 32, 'fused', 'fp32')), sort: encoderMs(1, 32, 'fused', 'fp32') });
    assert.ok(column(data.points, 'GB/s').includes('3,200'));
    assert.deepEqual([...new Set(column(data.points, 'sampling'))].sort(), ['top-k 4', '–']);
  });

  it('the points table shows peak memory, joules per unit and per token, mean watts, or why they are absent', () => {
    const results = gpuRun();
    const energy = { joules_per_unit: 1.25, joules_per_token: 0.005, mean_w: 410, units: 300, window_ms: 255 };
    const points = results.points.map((point, i) => (i === 0 ? { ...point, memory: { peak_bytes: 3 * 2 ** 20 }, energy }
      : i === 1 ? { ...point, memory: { reason: 'no device memory here' }, energy: { reason: 'the energy counter is not supported' } } : point));
    const table = buildDashboard({ results: { ...results, points } }).points;
    const cells = (name: string) => column(table, name).slice(0, 3);
    assert.deepEqual(cells('peak MiB'), ['3', '–', '–']);
    assert.deepEqual(cells('J/unit'), ['1.25', '–', '–']);
    assert.deepEqual(cells('J/token'), [formatNumber(0.005), '–', '–']);
    assert.deepEqual(cells('mean W'), ['410', '–', '–']);
    assert.deepEqual(cells('why no memory / energy'), ['', 'no device memory here; the energy counter is not supported', '']);
  });
});

describe('compare mode', () => {
  it('shows the gate verdicts, regressions first, and the environment difference', () => {
    const comparison = compareRuns(gpuResults(), slowerCandidate(), { allowEnvMismatch: true, allowPartial: true });
    const view = comparisonView(comparison, 'baseline.json');
    assert.equal(view.baseline, 'baseline.json');
    assert.equal(view.summary, '1 regression · 1 slower · 0 faster · 40 same · 0 noisy · 0 too-few-samples · 2 incomparable · 0 added · 1 removed');
    assert.deepEqual(view.warnings, ['environment differs from the baseline: device.driver: "580.95" vs "590.10"']);
    const first = view.table.rows[0].map((cell) => cell.display);
    assert.deepEqual(first.slice(0, 7), [
      'REGRESSION', 'encoder fused fp16 b32 s128 12L 12×64', 'slower', '+20.0%', '+19.4% .. +20.6%',
      formatNumber(encoderMs(32, 128, 'fused', 'fp16')), formatNumber(encoderMs(32, 128, 'fused', 'fp16') * 1.2),
    ]);
    assert.deepEqual(view.table.rows.map((row) => row[2].display).filter((verdict) => verdict !== 'same'), ['slower', 'incomparable', 'incomparable']);
    assert.deepEqual(view.removed, [configKey(config({ path: 'decoding', variant: 'fused', precision: 'fp16', ...FT_DECODING, batch: 8, beam: 4 }))]);
    const chart = view.chart!;
    assert.equal(chart.traces[0].name, 'slower');
    assert.ok(Math.abs((chart.traces[0].x[0] as number) - 20) < 1e-9, 'the bar is the % change');
    // Only what changed is charted; the 40 unchanged points stay in the table.
    assert.deepEqual(chart.traces.map((trace) => [trace.name, trace.y]), [['slower', ['encoder fused fp16 b32 s128 12L 12×64']]]);
    assert.equal(chart.title, 'points that changed or are too noisy to tell (1; right = slower); 40 the same, in the table');
  });
});
