// The generated dashboard in a real browser (Debian's chromium, driven by playwright-core), opened
// over file:// with every network request refused: it must render every chart with no console
// error, show the run's values (fused and unfused on one chart, the correctness header, a point's
// samples on a click), render hostile strings from a results file as text, and keep a committed
// run's page small and quick to open.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { suiteUnless } from './support/suite.js';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { dashboardHtml } from '../dashboards/cli.js';
import { formatNumber } from '../dashboards/views/common.js';
import { cpuResults, ENCODER_GEMMS, ENCODER_KERNELS, encoderMs, gpuRawJson, gpuResults, slowerCandidate } from './dashboard-fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = fileURLToPath(new URL('../../test-output/dashboard.png', import.meta.url));
const HOSTILE = '<img src=x onerror=alert(1)>';
/** Markup plotly itself would interpret in chart text, were it not escaped. */
const PLOTLY_MARKUP = '<b>bold</b><a href="javascript:alert(3)">link</a>';
const COMMITTED_RUN = fileURLToPath(new URL('../../results/h200/a100-20261130b.json', import.meta.url));
/** Issue 23's limit for a run's page size. Its open time is a performance figure, measured and
 * reported here (a diagnostic), not asserted: a timed unit test fails on a busy CI machine. */
const MAX_BYTES = 5e6;
const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium)`;

interface Visit {
  page: Page;
  consoleErrors: string[];
  failedRequests: string[];
  dialogs: string[];
}

/** Opens `file` and waits until `plots` plotly charts have drawn. */
async function visit(context: BrowserContext, file: string, plots: number): Promise<Visit> {
  const page = await context.newPage();
  const visited: Visit = { page, consoleErrors: [], failedRequests: [], dialogs: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') visited.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => visited.consoleErrors.push(error.message));
  page.on('requestfailed', (request) => visited.failedRequests.push(request.url()));
  page.on('dialog', (dialog) => {
    visited.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  await page
    .waitForFunction(
      (count) => [...document.querySelectorAll('.js-plotly-plot')].filter((plot) => plot.querySelector('.main-svg')).length >= count,
      plots,
      { timeout: 30_000 },
    )
    // On timeout the exact-count assertions below report how many did render.
    .catch(() => undefined);
  return visited;
}

/** Plotly charts that have drawn their SVG. */
const plotCount = (page: Page): Promise<number> => page.locator('.js-plotly-plot:has(.main-svg)').count();

/** The texts of one column (by header) of the first table in a section. */
async function columnTexts(page: Page, section: string, header: string): Promise<string[]> {
  const headers = await page.locator(`#${section} thead th`).allTextContents();
  const index = headers.indexOf(header);
  assert.ok(index >= 0, `no column ${header} in #${section}: ${headers.join(', ')}`);
  return page.locator(`#${section} tbody tr td:nth-child(${index + 1})`).allTextContents();
}

suiteUnless('dashboard in chromium', skip, () => {
  let context: BrowserContext;
  let profile: string;
  let dir: string;
  const write = (name: string, content: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, content);
    return file;
  };

  before(async () => {
    profile = mkdtempSync(path.join(tmpdir(), 'ftbench-chromium-'));
    dir = mkdtempSync(path.join(tmpdir(), 'ftbench-dashboard-'));
    // Imported only where a browser exists: a machine without one (the GPU machine) need not carry it.
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1400, height: 900 },
    });
    // The page must need nothing but its own file.
    await context.route('**/*', (route) => (route.request().url().startsWith('file://') ? route.continue() : route.abort()));
  });

  after(async () => {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('GPU run compared with a baseline: every chart, the values, sorting and filtering', async () => {
    const baseline = write('baseline.json', JSON.stringify(gpuResults()));
    const run = write('run.json', JSON.stringify(gpuRawJson(slowerCandidate())));
    const file = write('gpu.html', dashboardHtml({ run, compare: baseline }));
    const { page, consoleErrors, failedRequests, dialogs } = await visit(context, file, 13);
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(failedRequests, []);
    assert.deepEqual(dialogs, []);
    // compare 1 + encoder 2 + decoding 2 + heatmaps 3 + efficiency 2 + GEMMs 1 + stages/kernels 2.
    assert.equal(await plotCount(page), 13);

    const slowed = formatNumber(encoderMs(32, 128, 'fused', 'fp16') * 1.2);
    const medians = await columnTexts(page, 'points', 'median ms');
    assert.ok(medians.includes(slowed), `points table shows ${slowed}`);
    assert.equal(await page.locator('#compare tbody tr').first().locator('td').first().textContent(), 'REGRESSION');
    assert.match((await page.locator('#compare .summary').textContent()) ?? '', /^1 regression · 1 slower/);
    assert.match((await page.locator('#compare .warnings').textContent()) ?? '', /device\.driver: "580\.95" vs "590\.10"/);
    assert.equal(await page.locator('header dd').first().textContent(), 'Test GPU (synthetic)');
    assert.ok((await page.locator('#path-encoder .js-plotly-plot .scatterlayer .trace').count()) >= 4, 'encoder lines drawn');
    // Fused (a CUDA graph replay) and unfused (eager launches) on the same latency chart.
    const legend = await page.locator('#plot-encoder-latency-0 .legendtext').allTextContents();
    for (const line of ['fused fp16', 'unfused fp16', 'fused fp32', 'unfused fp32']) assert.ok(legend.includes(line), legend.join(', '));
    // The correctness summary in the header: 41 points checked correct (one was dropped), the two failed ones unchecked.
    const correctness = page.locator('header .card', { has: page.locator('h3', { hasText: /^Correctness$/ }) });
    assert.deepEqual(await correctness.locator('dd').allTextContents(), [
      '41', '0', '2', '0.0004 (encoder fused fp32 b1 s32 12L 12×64)', '0.0004 (encoder fused fp16 b1 s32 12L 12×64)',
    ]);
    // A click on a point draws the box of its samples.
    // (Plotly's drag layer takes the pointer events: click where the marker is.)
    const point = page.locator('#plot-encoder-latency-0 .scatterlayer .trace .point').first();
    await point.scrollIntoViewIfNeeded();
    const marker = await point.boundingBox();
    assert.ok(marker);
    await page.mouse.move(marker.x + marker.width / 2, marker.y + marker.height / 2);
    await page.mouse.click(marker.x + marker.width / 2, marker.y + marker.height / 2);
    await page.locator('#path-encoder .distribution .boxlayer .trace').first().waitFor({ timeout: 10_000 });

    // Facet selection redraws both charts.
    await page.locator('#path-encoder select').selectOption({ label: 'seq 128' });
    assert.deepEqual(await page.locator('#path-encoder figcaption').allTextContents(), [
      'encoder latency vs batch · seq 128',
      'encoder throughput vs batch · seq 128',
      'Sample distribution: click a point on the charts above (the last five clicked are kept)',
    ]);
    // Sorting by the median puts the fastest point first; failed points (no median) last.
    await page.locator('#points th', { hasText: /^median ms$/ }).click();
    const sorted = await columnTexts(page, 'points', 'median ms');
    assert.equal(sorted[0], formatNumber(encoderMs(1, 32, 'fused', 'fp16')));
    assert.deepEqual(sorted.slice(-2), ['–', '–']);
    await page.locator('#points input[type=search]').fill('oom');
    assert.deepEqual(await columnTexts(page, 'points', 'status'), ['oom']);
    await page.locator('#points input[type=search]').fill('');

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await page.close();
  });

  it('renders hostile strings from the results file as text', async () => {
    const results = gpuResults(HOSTILE);
    const raw = gpuRawJson(results) as { points: Record<string, unknown>[] };
    const failed = raw.points.find((point) => point.status === 'error')!;
    failed.error = `${HOSTILE}</script><script>alert(2)</script>`;
    const withGemms = raw.points.find((point) => Array.isArray(point.gemms))!;
    // The schema fixes a GEMM's algorithm to numbers: its strings are the role and the note.
    withGemms.gemms = [{ ...ENCODER_GEMMS[0], role: `${HOSTILE}${PLOTLY_MARKUP}`, note: HOSTILE }];
    withGemms.kernels = [{ ...ENCODER_KERNELS[0], name: HOSTILE, stage: HOSTILE, total_ms: 0.01 }];
    const file = write('hostile.html', dashboardHtml({ run: write('hostile.json', JSON.stringify(raw)) }));
    const { page, consoleErrors, failedRequests, dialogs } = await visit(context, file, 12);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(failedRequests, []);
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.locator('header dd').first().textContent(), HOSTILE);
    assert.equal(await page.title(), `ftbench · a100-20261122-100000 · ${HOSTILE}`);
    const failures = await page.locator('#failures td').allTextContents();
    assert.ok(failures.includes(`${HOSTILE}</script><script>alert(2)</script>`));
    // Plotly draws the GEMM role as an axis label: literal text, not markup.
    const ticks = await page.locator('#plot-gemms .xtick text').allTextContents();
    assert.ok(ticks.some((tick) => tick.startsWith(`${HOSTILE}${PLOTLY_MARKUP}`)), ticks.join(' | '));
    assert.equal(await page.locator('a[href^="javascript"]').count(), 0);
    await page.close();
  });

  it(`a committed H200 run: at most ${MAX_BYTES / 1e6} MB, only the charts in view drawn when it opens`, async (t) => {
    const file = write('committed.html', dashboardHtml({ run: COMMITTED_RUN }));
    const bytes = statSync(file).size;
    assert.ok(bytes <= MAX_BYTES, `${bytes} bytes`);
    const page = await context.newPage();
    const start = Date.now();
    await page.goto(pathToFileURL(file).href, { waitUntil: 'commit' });
    await page.waitForFunction(() => {
      const plots = [...document.querySelectorAll('.plot')];
      const inView = plots.filter((plot) => plot.getBoundingClientRect().top < innerHeight);
      return inView.length > 0 && inView.every((plot) => plot.querySelector('.main-svg'));
    }, null, { timeout: 30_000, polling: 20 });
    t.diagnostic(`first view drawn after ${Date.now() - start} ms, ${bytes} bytes`);
    // What keeps opening quick: charts below the fold wait until they scroll into view.
    const drawn = await page.evaluate(() => {
      const plots = [...document.querySelectorAll('.plot')];
      return { all: plots.length, drawn: plots.filter((plot) => plot.querySelector('.main-svg')).length };
    });
    assert.ok(drawn.drawn < drawn.all, `${drawn.drawn} of ${drawn.all} charts drawn at first view`);
    await page.close();
  });

  it('a partial CPU run: its four charts, nothing GPU-only', async () => {
    const file = write('cpu.html', dashboardHtml({ run: write('cpu.json', JSON.stringify(cpuResults())) }));
    const { page, consoleErrors, failedRequests } = await visit(context, file, 4);
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(failedRequests, []);
    assert.equal(await plotCount(page), 4);
    assert.deepEqual(await page.locator('section h2').allTextContents(), [
      'encoder: latency and throughput vs batch',
      'decoding: latency and throughput vs batch',
      'All points',
    ]);
    assert.match((await page.locator('body > .warnings').textContent()) ?? '', /Partial run/);
    await page.close();
  });
});
