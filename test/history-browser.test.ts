// The history page in a real browser (Debian's chromium, driven by playwright-core), opened over
// file:// with every network request refused: every chart draws with no console error, the flagged
// step is in its table, and hostile strings from results files are shown as text, never run.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { buildHistoryPage } from '../dashboards/history.js';
import { loadAssets, renderHtml } from '../dashboards/html.js';
import { buildHistory } from '../src/history/trends.js';
import type { StoredPoint, StoredRun } from '../src/history/store.js';

const CHROMIUM = '/usr/bin/chromium';
const HOSTILE = '<img src=x onerror=alert(1)>';
const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium)`;

/** Three commits of two points on two paths; the encoder point is 20 % slower at the third. */
function storedHistory() {
  const runs: StoredRun[] = ['a', 'b', 'c'].map((commit, i) => ({
    file: `${commit}.json`, id: i === 2 ? `run ${HOSTILE}` : `run-${commit}`, startedAt: `2026-12-0${i + 1}T00:00:00Z`,
    commit: commit.repeat(40), dirty: false, device: `GPU ${HOSTILE}`, profile: 'p', backend: 'cuda',
  }));
  const samples = (median: number): number[] => [0.99, 1, 1.01].map((factor) => factor * median);
  const points: StoredPoint[] = runs.flatMap((run, i) => [
    { file: run.file, key: 'k-enc', label: `encoder fused fp16 b1 s32 ${HOSTILE}`, path: 'encoder', precision: 'fp16', samples: samples(i === 2 ? 1.2 : 1) },
    { file: run.file, key: 'k-dec', label: 'decoding fused fp16 b1 s32 beam 4', path: 'decoding', precision: 'fp16', samples: samples(5) },
  ]);
  return buildHistory({ runs, points, problems: [] }, 0.05);
}

describe('history page in chromium', { skip }, () => {
  let browser: Browser;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ftbench-history-page-'));
    // Imported only where a browser exists: a machine without one (the GPU machine) need not carry it.
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  });
  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws every chart, lists the step, and shows hostile strings as text', async () => {
    const file = path.join(dir, 'history.html');
    writeFileSync(file, renderHtml(buildHistoryPage(storedHistory(), `runs ${HOSTILE}`), loadAssets()));
    const page = await browser.newPage();
    const errors: string[] = [];
    const dialogs: string[] = [];
    page.on('console', (message) => void (message.type() === 'error' && errors.push(message.text())));
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('dialog', (dialog) => void (dialogs.push(dialog.message()), dialog.dismiss()));
    await page.route('**/*', (route) => (route.request().url().startsWith('file://') ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2, undefined, { timeout: 30_000 });

    assert.deepEqual(errors, []);
    assert.deepEqual(dialogs, []);
    assert.equal(await page.locator('.js-plotly-plot:has(.main-svg)').count(), 2);
    assert.deepEqual(await page.locator('#trends figcaption').allTextContents(), [
      `GPU ${HOSTILE} · decoding · fp16 (1 points)`, `GPU ${HOSTILE} · encoder · fp16 (1 points)`,
    ]);
    const step = await page.locator('#steps tbody tr td').allTextContents();
    assert.deepEqual(step.slice(0, 4), [`GPU ${HOSTILE}`, `encoder fused fp16 b1 s32 ${HOSTILE}`, 'bbbbbbb', 'ccccccc']);
    assert.equal(step[6], '20');
    assert.ok((await page.locator('#runs tbody').textContent())?.includes(`run ${HOSTILE}`));
    assert.equal(await page.locator('img').count(), 0);
    await page.close();
  });
});
