// Results files: the writer's JSONL/JSON/CSV, reading them back equal, a killed run's stream, and
// the rejection of malformed files with the path of the offending field.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CSV_HEADER } from '../reporters/csv.js';
import { writeRunReports } from '../reporters/run-files.js';
import { readResults, readResultsDir } from '../src/results/reader.js';
import { defaultRunId, renderResultsJson, ResultsWriter } from '../src/results/writer.js';
import { parseResults, SCHEMA_ID, type Results } from '../src/results/schema.js';
import { cpuConfig, ENVIRONMENT, failedPoint, okPoint, runInfo } from './harness-fixtures.js';

let dir: string;

const POINTS = [
  okPoint(cpuConfig({ batch: 1 }), [0.5, 0.25, 0.75]),
  okPoint(cpuConfig({ path: 'decoding', beam: 4, seq: 8, vocab: 64 }), [1.5, 1.25], { notes: { graph: 'on' } }),
  failedPoint(cpuConfig({ precision: 'fp16' }), 'precision must be fp32 on the cpu backend, got fp16'),
];
const DROPPED = [{ config: { ...cpuConfig({ beam: 4 }) }, reason: 'encoder: beam 4 on the encoder: beam width applies to the decoder and decoding paths' }];

function writeRun(id: string, points = POINTS): { writer: ResultsWriter; results: Results } {
  const writer = new ResultsWriter(dir, { run: runInfo(id), env: ENVIRONMENT, dropped: DROPPED });
  for (const point of points) writer.append(point);
  const results = writer.finish(new Date('2026-11-22T10:00:42.500Z'));
  writeRunReports(writer.basePath, results);
  writer.close();
  return { writer, results };
}

describe('results files', () => {
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-results-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('write then read back: equal, with the run finished', () => {
    const { writer, results } = writeRun('round-trip');
    assert.equal(results.schema, SCHEMA_ID);
    assert.equal(results.run.finished_at, '2026-11-22T10:00:42.500Z');
    assert.equal(results.run.wall_s, 42.5);
    assert.deepEqual(results.points, POINTS);
    assert.deepEqual(readResults(writer.jsonPath), { results, warnings: [] });
    // The stream holds the same run, as it stood before it finished.
    const streamed = readResults(writer.jsonlPath);
    assert.deepEqual(streamed, { results: { ...results, run: runInfo('round-trip') }, warnings: [] });
    const lines = fs.readFileSync(writer.jsonlPath, 'utf8').split('\n');
    assert.equal(lines.length, 1 + POINTS.length + 1); // header, points, '' after the last newline
    assert.equal(JSON.parse(lines[0]).type, 'header');
    const csv = fs.readFileSync(`${writer.basePath}.csv`, 'utf8').trimEnd().split('\n');
    assert.equal(csv[0], CSV_HEADER.join(','));
    assert.equal(csv.length, 1 + POINTS.length);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('round-trip')).sort(),
      ['round-trip.csv', 'round-trip.json', 'round-trip.jsonl'], 'no temporary file left');
  });

  test('a killed run: every finished point is on disk, a half-written last line is reported', () => {
    const writer = new ResultsWriter(dir, { run: runInfo('killed'), env: ENVIRONMENT, dropped: [] });
    writer.append(POINTS[0]);
    writer.append(POINTS[1]);
    // Not finished: no .json yet, the stream already has both points.
    assert.equal(fs.existsSync(writer.jsonPath), false);
    assert.deepEqual(readResults(writer.jsonlPath).results.points, POINTS.slice(0, 2));
    const third = JSON.stringify({ type: 'point', point: POINTS[2] });
    fs.appendFileSync(writer.jsonlPath, third.slice(0, 50));
    const read = readResults(writer.jsonlPath);
    assert.deepEqual(read.results.points, POINTS.slice(0, 2));
    assert.equal(read.results.run.finished_at, null);
    assert.deepEqual(read.warnings, [`${writer.jsonlPath}:4: incomplete last line ignored (the run was stopped while writing it)`]);
  });

  test('a complete last line without its newline is kept', () => {
    const file = path.join(dir, 'no-newline.jsonl');
    fs.writeFileSync(file, [
      JSON.stringify({ type: 'header', schema: SCHEMA_ID, run: runInfo('no-newline'), env: ENVIRONMENT, dropped: [] }),
      JSON.stringify({ type: 'point', point: POINTS[0] }),
    ].join('\n'));
    assert.deepEqual(readResults(file), { results: { schema: SCHEMA_ID, run: runInfo('no-newline'), env: ENVIRONMENT, points: [POINTS[0]], dropped: [] }, warnings: [] });
  });

  test('an existing run is never overwritten, unless forced', () => {
    writeRun('taken');
    const base = path.join(dir, 'taken');
    assert.throws(() => new ResultsWriter(dir, { run: runInfo('taken'), env: ENVIRONMENT, dropped: [] }), {
      name: 'FileWriteError',
      message: `${base}.jsonl, ${base}.json, ${base}.csv already exist: choose another --run-id or --out, or pass --force to replace them`,
    });
    assert.equal(fs.existsSync(`${base}.lock`), false, 'a refused writer leaves no lock');
    const forced = new ResultsWriter(dir, { run: runInfo('taken'), env: ENVIRONMENT, dropped: [] }, { force: true });
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('taken.')).sort(), ['taken.jsonl', 'taken.lock'], 'the old run is gone whole');
    forced.close();
  });

  test('the writer refuses a point the schema rejects, before writing it', () => {
    const writer = new ResultsWriter(dir, { run: runInfo('refused'), env: ENVIRONMENT, dropped: [] });
    const bad = { ...POINTS[0], samples_ms: [Infinity] };
    assert.throws(() => writer.append(bad));
    assert.equal(fs.readFileSync(writer.jsonlPath, 'utf8').split('\n').length, 2, 'only the header line');
  });

  test('malformed files are rejected naming the file and the field', () => {
    const { results } = writeRun('source');
    const write = (name: string, data: unknown) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data));
      return file;
    };
    const wrongSchema = write('wrong-schema.json', { ...results, schema: 'ftbench/results@0' });
    assert.throws(() => readResults(wrongSchema), {
      name: 'ResultsFormatError',
      message: `${wrongSchema}: not an ftbench results file (schema is "ftbench/results@0", expected "ftbench/results@1")`,
    });
    const { batch: _batch, ...withoutBatch } = results.points[0].config;
    const missing = write('missing.json', { ...results, points: [{ ...results.points[0], config: withoutBatch }] });
    assert.throws(() => readResults(missing), (error: unknown) => {
      assert.match((error as Error).message, new RegExp(`^${missing}: invalid results file: points\\.0\\.config\\.batch: `));
      return true;
    });
    const badStatus = write('status.json', { ...results, points: [{ ...results.points[0], status: 'fine' }] });
    assert.throws(() => readResults(badStatus), { message: /: invalid results file: points\.0\.status: / });
    const notJson = write('not.json', '{"schema": ');
    assert.throws(() => readResults(notJson), { message: new RegExp(`^${notJson}: not JSON \\(`) });
    const header = JSON.stringify({ type: 'header', schema: SCHEMA_ID, run: runInfo('x'), env: ENVIRONMENT, dropped: [] });
    const brokenMiddle = write('middle.jsonl', `${header}\n{"type":"point"\n${JSON.stringify({ type: 'point', point: POINTS[0] })}\n`);
    assert.throws(() => readResults(brokenMiddle), { message: new RegExp(`^${brokenMiddle}:2: not JSON`) });
    const noHeader = write('no-header.jsonl', `${JSON.stringify({ type: 'point', point: POINTS[0] })}\n`);
    assert.throws(() => readResults(noHeader), { message: `${noHeader}:1: the first line must be the header, got a point line` });
    const empty = write('empty.jsonl', '');
    assert.throws(() => readResults(empty), { message: `${empty}: no header line` });
    const badPoint = write('bad-point.jsonl', `${header}\n${JSON.stringify({ type: 'point', point: { ...POINTS[0], duration_s: 'long' } })}\n`);
    assert.throws(() => readResults(badPoint), { message: new RegExp(`^${badPoint}:2: invalid results line: point\\.duration_s: `) });
  });

  test('what the numbers must mean: summaries of their samples, ok points with samples, ISO dates, no negative times', () => {
    const { results } = writeRun('semantic');
    const [ok] = results.points;
    const refused = (name: string, data: Results, field: string, why: string) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, JSON.stringify(data));
      assert.throws(() => readResults(file), { name: 'ResultsFormatError', message: `${file}: invalid results file: ${field}: ${why}` });
    };
    const withPoint = (point: object) => ({ ...results, points: [point] }) as Results;
    refused('median.json', withPoint({ ...ok, summary: { ...ok.summary!, gpu_ms_median: 5 } }),
      'points.0.summary.gpu_ms_median', '5 is not the median of samples_ms (0.5)');
    refused('p90.json', withPoint({ ...ok, summary: { ...ok.summary!, gpu_ms_p90: 0.5 } }),
      'points.0.summary.gpu_ms_p90', '0.5 is not the p90 of samples_ms (0.7)');
    refused('count.json', withPoint({ ...ok, samples_ms: [0.5, 0.25] }), 'points.0.summary.samples', '3, but samples_ms holds 2');
    refused('no-samples.json', withPoint({ ...ok, samples_ms: [] }), 'points.0.samples_ms', 'an ok point must have samples and their summary');
    refused('no-summary.json', withPoint({ ...ok, summary: null }), 'points.0.summary', 'an ok point must have samples and their summary');
    const date = 'must be an ISO 8601 date and time with a zone, e.g. 2026-11-22T10:00:00.000Z';
    refused('yesterday.json', { ...results, run: { ...results.run, started_at: 'yesterday' } }, 'run.started_at', date);
    refused('point-date.json', withPoint({ ...ok, started_at: '2026-13-45T99:00:00Z' }), 'points.0.started_at', date);
    refused('negative.json', withPoint({ ...ok, duration_s: -1 }), 'points.0.duration_s', 'Too small: expected number to be >=0');
    refused('negative-wall.json', { ...results, run: { ...results.run, wall_s: -3 } }, 'run.wall_s', 'Too small: expected number to be >=0');
    // Rounding by a writer that kept fewer digits is no inconsistency.
    const rounded = path.join(dir, 'rounded.json');
    fs.writeFileSync(rounded, JSON.stringify(withPoint({ ...ok, summary: { ...ok.summary!, gpu_ms_mean: 0.5000000001 } })));
    assert.equal(readResults(rounded).results.points[0].summary!.gpu_ms_mean, 0.5000000001);
  });

  test('an unfused point of an older run, recorded graph=true but launched eagerly, is read as it ran', () => {
    const unfused = { ...cpuConfig(), backend: 'cuda' as const, variant: 'unfused' as const, graph: true };
    const eager = okPoint(unfused, [2, 2.5], { notes: { graph: 'off' } });
    const graphed = okPoint({ ...unfused, variant: 'fused' }, [1, 1.5], { notes: { graph: 'on' } });
    const { writer } = writeRun('before-unfused-graphs', [eager, graphed]);
    const [read, kept] = readResults(writer.jsonPath).results.points;
    assert.equal(read.config.graph, false);
    assert.equal(read.key, eager.key.replace('graph=true', 'graph=false'));
    assert.deepEqual(kept, graphed);
    assert.deepEqual(readResults(writer.jsonlPath).results.points[0], read);
  });

  test('the JSON document parses back to the same run; a point the schema rejects is refused', () => {
    const { results } = writeRun('json-document');
    assert.deepEqual(parseResults(JSON.parse(renderResultsJson(results)), 'rendered'), results);
    assert.throws(() => renderResultsJson({ ...results, points: [{ ...POINTS[0], status: 'fine' as never }] }));
  });

  test("the device's quantities are written as numbers; an older run's decimal strings are read as numbers", () => {
    const device = { ...ENVIRONMENT.device, sm_count: '132', sm_clock_mhz: 'unavailable', peak_tflops_fp16: '758.97', compute_capability: '9.0' };
    const writer = new ResultsWriter(dir, { run: runInfo('device-numbers'), env: { ...ENVIRONMENT, device }, dropped: [] });
    writer.finish(new Date('2026-11-22T10:00:42.500Z'));
    const expected = { ...device, sm_count: 132, peak_tflops_fp16: 758.97 };
    // Text stays text: a version ("9.0") and a quantity the backend could not read ("unavailable").
    assert.deepEqual(JSON.parse(fs.readFileSync(writer.jsonPath, 'utf8')).env.device, expected);
    assert.deepEqual(JSON.parse(fs.readFileSync(writer.jsonlPath, 'utf8').split('\n')[0]).env.device, expected);
    const older = JSON.parse(renderResultsJson({ schema: SCHEMA_ID, run: runInfo('older'), env: ENVIRONMENT, points: [], dropped: [] }));
    older.env.device = device;
    assert.deepEqual(parseResults(older, 'older').env.device, expected);
  });

  test('a directory: its finished runs by file name, other JSON files skipped', () => {
    const runs = fs.mkdtempSync(path.join(dir, 'dir-'));
    const first = new ResultsWriter(runs, { run: runInfo('b-run'), env: ENVIRONMENT, dropped: [] });
    const second = new ResultsWriter(runs, { run: runInfo('a-run'), env: ENVIRONMENT, dropped: [] });
    first.append(POINTS[0]);
    first.finish(new Date('2026-11-22T10:00:42.500Z'));
    second.finish(new Date('2026-11-22T10:00:43.000Z'));
    fs.writeFileSync(path.join(runs, 'cache.json'), JSON.stringify({ schema: 'ftbench/gemm-cache@1', entries: [] }));
    const read = readResultsDir(runs);
    assert.deepEqual(read.map((run) => [path.basename(run.file), run.results.run.id, run.results.points.length]),
      [['a-run.json', 'a-run', 0], ['b-run.json', 'b-run', 1]]);
  });

  test('a missing file is named', () => {
    const missing = path.join(dir, 'nowhere.json');
    assert.throws(() => readResults(missing), { name: 'ResultsFormatError', message: `${missing}: no such file` });
  });

  test('default run id: <profile>-<yyyymmdd-hhmmss> in UTC', () => {
    assert.equal(defaultRunId('smoke', new Date('2026-03-04T05:06:07.890Z')), 'smoke-20260304-050607');
  });
});
