// The whole dashboard page: every section built for a GPU and a CPU run, the self-contained HTML
// (scripts inlined and allowed by hash, nothing fetched), and the CLI on results files.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { dashboardHtml, defaultOutput, main } from '../dashboards/cli.js';
import { embedJson, escapeHtml, renderHtml } from '../dashboards/html.js';
import { buildDashboard } from '../dashboards/shape.js';
import { readResults } from '../src/results/reader.js';
import { cpuResults, gpuRawJson, gpuResults, gpuRun, slowerCandidate } from './dashboard-fixtures.js';

const ASSETS = { plotly: 'window.Plotly = {};', page: 'document.title;' };

describe('whole dashboard', () => {
  it('GPU run: every section', () => {
    const data = buildDashboard({ results: gpuRun() });
    assert.equal(data.title, 'ftbench · a100-20261122-100000 · Test GPU (synthetic)');
    assert.deepEqual(data.warnings, []);
    assert.equal(data.paths.length, 2);
    assert.equal(data.heatmaps.length, 3);
    assert.equal(data.efficiency.length, 2);
    assert.ok(data.gemms && data.references && data.failures);
    assert.equal(data.breakdowns.length, 2);
    assert.equal(data.comparison, null);
  });

  it('CPU partial run: GPU-only sections omitted, partial run said', () => {
    const cut = 'run.jsonl:4: incomplete last line ignored (the run was stopped while writing it)';
    const data = buildDashboard({ results: cpuResults(), readWarnings: [cut] });
    assert.deepEqual(data.warnings, ['Partial run: it has not finished; only the points recorded so far are shown.', cut]);
    assert.deepEqual(data.paths.map((view) => [view.path, view.facets.map((facet) => facet.label)]), [
      ['encoder', ['all points']],
      ['decoding', ['all points']],
    ]);
    assert.deepEqual([data.heatmaps, data.efficiency, data.breakdowns, data.gemms, data.references], [[], [], [], null, null]);
    assert.equal(data.title, 'ftbench · smoke-20261122-090000 · cpu');
  });

  it('a run with no finished point says there is nothing to chart', () => {
    const results = gpuResults();
    const failed = { ...results, points: results.points.filter((point) => point.status !== 'ok') };
    const data = buildDashboard({ results: failed });
    assert.deepEqual(data.warnings, ['No point finished with timings; there is nothing to chart.']);
    assert.deepEqual(data.paths, []);
  });
});

describe('HTML', () => {
  it('escapes HTML and embeds JSON without a way out of its <script>', () => {
    assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    const embedded = embedJson({ name: '</script><script>alert(1)</script><!--' });
    assert.ok(!embedded.includes('<'));
    assert.deepEqual(JSON.parse(embedded), { name: '</script><script>alert(1)</script><!--' });
  });

  it('inlines both scripts, allows exactly them by hash, and no network', () => {
    const data = buildDashboard({ results: gpuRun('<img src=x onerror=alert(1)>') });
    const html = renderHtml(data, ASSETS);
    assert.match(html, /<title>ftbench · a100-20261122-100000 · &lt;img src=x onerror=alert\(1\)&gt;<\/title>/);
    assert.equal(html.match(/<img/g), null);
    assert.ok(html.includes(`<script>${ASSETS.plotly}</script>`));
    assert.ok(html.includes(`<script type="module">${ASSETS.page}</script>`));
    const policy = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1];
    const hash = (text: string): string => `&#39;sha256-${createHash('sha256').update(text).digest('base64')}&#39;`;
    assert.equal(
      policy,
      `default-src &#39;none&#39;; script-src ${hash(ASSETS.plotly)} ${hash(ASSETS.page)}; style-src &#39;unsafe-inline&#39;; ` +
        'img-src data: blob:; connect-src &#39;none&#39;; base-uri &#39;none&#39;; form-action &#39;none&#39;',
    );
    const json = /<script type="application\/json" id="ftbench-data">([^<]*)<\/script>/.exec(html)![1];
    assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(data)));
  });

  it('refuses a script that would close its element', () => {
    const data = buildDashboard({ results: cpuResults() });
    assert.throws(() => renderHtml(data, { plotly: 'var s = "</script>";', page: '' }), {
      message: 'plotly.js contains "</script" and cannot be inlined into a <script> element',
    });
    assert.throws(() => renderHtml(data, { plotly: '', page: '/* <!-- */' }), {
      message: 'the page script contains "<!--" and cannot be inlined into a <script> element',
    });
  });
});

describe('CLI', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ftbench-dashboard-'));
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('reads .json and .jsonl runs with their optional records', () => {
    const raw = gpuRawJson();
    const fromJson = readResults(write('run.json', JSON.stringify(raw)));
    assert.equal(fromJson.results.points.length, 44);
    assert.equal(fromJson.results.points.filter((point) => point.gemms !== undefined).length, 2);
    const results = gpuResults();
    const { points, ...rest } = raw as { points: unknown[] } & Record<string, unknown>;
    const header = { type: 'header', schema: rest.schema, run: { ...results.run, finished_at: null }, env: results.env, dropped: results.dropped };
    const lines = [header, ...points.slice(0, 5).map((point) => ({ type: 'point', point }))].map((line) => JSON.stringify(line));
    const stream = readResults(write('run.jsonl', `${lines.join('\n')}\n`));
    assert.equal(stream.results.points.length, 5);
    assert.equal(stream.results.run.finished_at, null);
    // The first five points are fused fp32 encoder points, which carry GB/s in the raw fixture.
    assert.deepEqual(stream.results.points.map((point) => point.summary?.gbps), [100, 800, 3200, 100, 800]);
  });

  it('a killed run: the half-written last line is a warning on the page', () => {
    const results = gpuResults();
    const header = { type: 'header', schema: results.schema, run: { ...results.run, finished_at: null }, env: results.env, dropped: results.dropped };
    const cut = JSON.stringify({ type: 'point', point: results.points[1] }).slice(0, 40);
    const run = write('killed.jsonl', `${JSON.stringify(header)}\n${JSON.stringify({ type: 'point', point: results.points[0] })}\n${cut}`);
    const json = /<script type="application\/json" id="ftbench-data">([^<]*)<\/script>/.exec(dashboardHtml({ run }, ASSETS))![1];
    assert.deepEqual((JSON.parse(json) as ReturnType<typeof buildDashboard>).warnings, [
      'Partial run: it has not finished; only the points recorded so far are shown.',
      `${run}:3: incomplete last line ignored (the run was stopped while writing it)`,
    ]);
  });

  it('names the file and the problem', () => {
    const missing = path.join(dir, 'missing.json');
    assert.throws(() => readResults(missing), { message: `${missing}: no such file` });
    const notJson = write('bad.json', '{');
    assert.throws(() => readResults(notJson), { message: new RegExp(`^${notJson.replace(/[.\\/]/g, '\\$&')}: not JSON \\(`) });
    const wrong = write('wrong.json', JSON.stringify({ schema: 'other' }));
    assert.throws(() => readResults(wrong), { message: `${wrong}: not an ftbench results file (schema is "other", expected "ftbench/results@1")` });
    const pointFirst = write('point-first.jsonl', `${JSON.stringify({ type: 'point', point: gpuResults().points[0] })}\n`);
    assert.throws(() => readResults(pointFirst), { message: `${pointFirst}:1: the first line must be the header, got a point line` });
  });

  it('writes the file; exit 2 on usage errors and on bad input', () => {
    const run = write('gpu.json', JSON.stringify(gpuRawJson()));
    const out = path.join(dir, 'nested', 'dash.html');
    assert.equal(main([run, '--out', out]), 0);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /<title>ftbench · a100-20261122-100000 · Test GPU \(synthetic\)<\/title>/);
    assert.ok(html.includes('window.Plotly=') || html.includes('window.Plotly = '), 'plotly.js is inlined');
    assert.ok(html.includes('only the trace types scatter, bar, heatmap, box'), 'the partial plotly bundle');
    assert.equal(main([]), 2);
    assert.equal(main([run, '--bogus']), 2);
    assert.equal(main([path.join(dir, 'missing.json'), '--out', out]), 2);
    assert.equal(defaultOutput('results/h100/a100-2026-11-22.json'), path.join('results', 'runs', 'a100-2026-11-22.html'));
  });

  it('compare mode embeds the gate comparison', () => {
    const baseline = write('baseline.json', JSON.stringify(gpuResults()));
    const candidate = write('candidate.json', JSON.stringify(slowerCandidate()));
    const html = dashboardHtml({ run: candidate, compare: baseline }, ASSETS);
    const json = /<script type="application\/json" id="ftbench-data">([^<]*)<\/script>/.exec(html)![1];
    const data = JSON.parse(json) as ReturnType<typeof buildDashboard>;
    assert.equal(data.comparison?.baseline, baseline);
    assert.equal(data.comparison?.table.rows[0][0].display, 'REGRESSION');
  });
});
