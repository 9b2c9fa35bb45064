// Reporters: the CSV columns (exact names and order), CSV quoting, the console table's width, the
// markdown table's escaping, and the JSON document.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatJoules, formatMs, formatRate, formatTflops, optionsLabel } from '../reporters/columns.js';
import { consoleHeader, consoleRow, renderConsoleTable } from '../reporters/console.js';
import { CSV_HEADER, renderCsv } from '../reporters/csv.js';
import { renderMarkdown } from '../reporters/markdown.js';
import { parseResults, SCHEMA_ID, type Results } from '../src/results/schema.js';
import { cpuConfig, ENVIRONMENT, failedPoint, okPoint, runInfo } from './harness-fixtures.js';

const encoder = okPoint(cpuConfig({ batch: 4, seq: 32 }), [0.5, 0.25, 0.75]);
const sampling = okPoint(cpuConfig({ path: 'decoding', seq: 8, vocab: 128, top_k: 4, temperature: 0.7 }), [2, 2, 2]);
const failed = failedPoint(cpuConfig({ precision: 'fp16' }), 'precision must be fp32, got "fp16" | really');
const incorrect = okPoint(cpuConfig(), [1], {
  correct: false,
  checks: [{ name: 'hidden finite', ok: false, detail: 'hidden[3] = NaN' }, { name: 'output sizes', ok: true }],
});

function results(points = [encoder, sampling, failed, incorrect]): Results {
  return parseResults({
    schema: SCHEMA_ID, run: { ...runInfo('smoke-20261122-100000'), finished_at: '2026-11-22T10:00:10.000Z', wall_s: 10 },
    env: ENVIRONMENT, points, dropped: [],
  }, 'fixture');
}

describe('csv', () => {
  test('columns: exactly these, in this order', () => {
    assert.deepEqual(CSV_HEADER, [
      'path', 'variant', 'precision', 'batch', 'beam', 'seq', 'layers', 'heads', 'head_size', 'inter_size', 'vocab', 'status',
      'gpu_ms_median', 'gpu_ms_p10', 'gpu_ms_p90', 'noise_pct', 'samples', 'host_ms_median', 'tokens_per_s', 'tflops',
      'correct', 'max_rel_err', 'top_k', 'top_p', 'temperature', 'backend',
      'gpu_ms_mean', 'gpu_ms_min', 'gpu_ms_max', 'gpu_ms_stdev', 'stop_reason', 'gbps', 'mode', 'units_per_sample', 'discarded',
      'sm_clock_mhz', 'pct_peak_tflops', 'pct_peak_gbps', 'ids_equal_fraction', 'repeat', 'error',
      'graph', 'full_length', 'mem_len', 'seed', 'gpu_ms_p50', 'gpu_ms_p99', 'key', 'run_id', 'commit', 'device',
      'tp', 'peak_memory_bytes', 'joules_per_unit', 'joules_per_token', 'mean_w', 'fp32_rel_err',
      'fp32_ids_equal_fraction', 'fp16_ids_equal_fraction', 'fp16_score_rel_err', 'instances',
    ]);
  });

  test('rows: full-precision numbers, empty cells for nulls, quoted text', () => {
    const lines = renderCsv(results()).trimEnd().split('\n');
    assert.equal(lines[0], CSV_HEADER.join(','));
    const s = encoder.summary!;
    // Every row ends with what lets runs be stacked: the point's key, the run, its commit and device;
    // then tp (1: these points predate the axis), empty memory and energy cells (not recorded) and
    // empty fp32_rel_err, fp32_ids_equal_fraction, fp16_ids_equal_fraction, fp16_score_rel_err (fp8 points only);
    // instances (empty for a point without a measurement).
    const run = (point: typeof encoder) =>
      [point.key, 'smoke-20261122-100000', ENVIRONMENT.git.commit, `"${ENVIRONMENT.device.name}"`, 1, '', '', '', '', '', '', '', '',
        point.summary?.instances ?? ''].join(',');
    assert.equal(lines[1], ['encoder', 'reference', 'fp32', 4, 1, 32, 1, 2, 8, 64, 64, 'ok', 0.5, s.gpu_ms_p10, s.gpu_ms_p90, s.noise_pct, 3,
      s.host_ms_median, s.tokens_per_s, s.tflops, 'true', '', 0, 0, 1, 'cpu', s.gpu_ms_mean, s.gpu_ms_min, s.gpu_ms_max, s.gpu_ms_stdev,
      'noise', s.gbps, 'cold', 1, 0, '', '', '', '', '', '',
      // graph, full_length, mem_len, seed; p50 (the median); p99 of 0.25, 0.5, 0.75 (rank 1.98: 0.5 + 0.98 * 0.25)
      'true', 'false', 0, 1, 0.5, 0.745, run(encoder)].join(','));
    assert.match(lines[2], /^decoding,reference,fp32,1,1,8,.*,4,0,0\.7,cpu,[\d.e-]+,[\d.]+,[\d.]+,[\d.e-]+,noise,[\d.e-]+,cold,1,0,,,,,,,true,false,0,1,2,2,/);
    assert.ok(lines[2].endsWith(run(sampling)));
    assert.equal(lines[3],
      `encoder,reference,fp16,1,1,16,1,2,8,64,64,error,,,,,,,,,,,0,0,1,cpu,,,,,,,,,,,,,,,"precision must be fp32, got ""fp16"" | really",true,false,0,1,,,${run(failed)}`);
    assert.match(lines[4], /,false,,0,0,1,cpu,[\d.e,-]+,noise,[\d.e-]+,cold,1,0,,,,,,,true,false,0,1,1,1,/);
  });
});

describe('console', () => {
  test('fits 120 columns, even with the widest values', () => {
    const wide = okPoint(cpuConfig({ path: 'decoding', variant: 'reference', batch: 4096, beam: 32, seq: 4096, max_seq: 4096, vocab: 64,
      top_k: 1024, top_p: 0.75, temperature: 0.5 }), [123456.5, 99999.25]);
    const table = renderConsoleTable([wide, encoder, sampling, failed, incorrect]);
    for (const line of table.split('\n').filter((l) => !l.startsWith('  !'))) {
      assert.ok(line.length <= 120, `${line.length} columns: ${line}`);
    }
  });

  test('header, rows and problems', () => {
    assert.equal(consoleHeader().split('\n')[0],
      'path     variant   prec batch beam  seq mode median ms noise %   tok/s TFLOP/s    GiB J/fwd,tok correct options');
    const s = encoder.summary!;
    assert.equal(consoleRow(encoder), `encoder  reference fp32     4    1   32 cold    0.5000 ${s.noise_pct.toFixed(2).padStart(7)} ${
      formatRate(s.tokens_per_s).padStart(7)} ${formatTflops(s.tflops!).padStart(7)}      -         - yes     graph`);
    assert.match(consoleRow(sampling), /^decoding reference fp32     1    1    8 cold .* yes     k4 t0\.7 graph$/);
    assert.equal(consoleRow(failed).split('\n')[1], '  ! error: precision must be fp32, got "fp16" | really');
    assert.match(consoleRow(failed), / +- +- +- +- +- +- +- error   graph$/m);
    assert.equal(consoleRow(incorrect).split('\n')[1], '  ! incorrect: hidden finite (hidden[3] = NaN)');
    assert.match(consoleRow(incorrect).split('\n')[0], / NO {6}graph$/);
  });

  test('rows differing only in top_k, top_p, beam, graph, full_length or tp read differently', () => {
    const variants = [{}, { top_k: 4 }, { top_p: 0.9 }, { top_k: 4, top_p: 0.9 }, { graph: false }, { full_length: true }, { tp: 2 }, { beam: 4 }]
      .map((overrides) => okPoint(cpuConfig({ path: 'decoding', variant: 'reference', batch: 2, seq: 8, ...overrides }), [1, 1, 1]));
    const rows = variants.map(consoleRow);
    assert.equal(new Set(rows).size, rows.length, rows.join('\n'));
    assert.deepEqual(variants.map(optionsLabel), ['graph', 'k4 graph', 'p0.9 graph', 'k4 p0.9 graph', 'eager', 'graph full', 'graph tp2', 'graph']);
    // Options past the last column's width wrap under it, never cut.
    const crowded = okPoint(cpuConfig({ path: 'decoding', variant: 'reference', top_k: 1024, top_p: 0.75, temperature: 0.5,
      length_penalty: 1, graph: false, full_length: true, tp: 8 }), [1]);
    const lines = consoleRow(crowded).split('\n');
    assert.ok(lines.length > 1 && lines.every((line) => line.length <= 120), lines.join('\n'));
    const start = consoleHeader().indexOf('options');
    assert.equal(lines.map((line) => line.slice(start)).join(' '), 'k1024 p0.75 t0.5 lp1 eager full tp8');
    assert.ok(lines.slice(1).every((line) => line.slice(0, start).trim() === ''));
  });

  test('memory in GiB and energy per forward (encoder) or per token', () => {
    const energy = { joules_per_unit: 2.5, joules_per_token: 0.0125, mean_w: 400, units: 80, window_ms: 500 };
    const measured = { ...encoder, memory: { peak_bytes: 3 * 2 ** 29 }, energy };
    assert.match(consoleRow(measured), / {3}1\.50 {6}2\.50 yes {5}graph$/);
    const decode = { ...sampling, memory: { reason: 'the cpu backend has no device memory' }, energy };
    assert.match(consoleRow(decode), / {6}- {4}0\.0125 yes /);
  });

  test('number formats stay short', () => {
    assert.deepEqual([1234.56, 12.3456, 1.5, 0.012345].map(formatMs), ['1235', '12.35', '1.500', '0.0123']);
    assert.deepEqual([987.4, 12345, 4_560_000, 7.8e9].map(formatRate), ['987', '12.3k', '4.56M', '7.80G']);
    assert.deepEqual([512.4, 12.34, 0.456, 0.0012].map(formatTflops), ['512', '12.3', '0.456', '1.2e-3']);
    assert.deepEqual([1234.5, 12.34, 0.00123, 0.00012].map(formatJoules), ['1235', '12.3', '0.00123', '1.2e-4']);
  });
});

describe('markdown', () => {
  test('a summary line, a table row per point, escaped cells, the problems listed', () => {
    const text = renderMarkdown(results());
    const lines = text.split('\n');
    assert.equal(lines[0], '### ftbench run smoke-20261122-100000');
    assert.equal(lines[2], 'Profile **smoke** on **CPU reference (fp32 storage, fp64 accumulation)** (cpu backend), commit 0123456789ab: ' +
      '2 of 4 points ok and correct, 0 combinations dropped, 10.0 s.');
    assert.equal(lines[4], '| path | variant | prec | batch | beam | seq | status | mode | median ms | p10/p90 ms | noise % | tok/s | TFLOP/s | GiB | J/fwd,tok | correct | options |');
    assert.equal(lines[5], '| :--- | :--- | :--- | ---: | ---: | ---: | :--- | :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :--- | :--- |');
    assert.equal(lines.filter((l) => l.startsWith('| ')).length, 2 + 4);
    assert.ok(text.includes('- backend=cpu path=encoder variant=reference precision=fp16 batch=1 beam=1 seq=16 layers=1 heads=2 head\\_size=8 '));
    assert.ok(text.includes(': error: precision must be fp32, got "fp16" \\| really\n'));
    assert.ok(text.includes(': incorrect: hidden finite (hidden\\[3\\] = NaN)\n'));
  });
});
