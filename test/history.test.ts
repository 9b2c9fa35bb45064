// The history over commits: the step detector's rule, the store's incremental rebuild, the history of
// synthetic runs over three fake commits (one with a 20 % step), and `ftbench history` over the
// committed H200 runs with a hostile string planted in a copied run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configKey } from '../src/engine/config.js';
import { detectSteps, isStep, levelOf } from '../src/history/steps.js';
import { HistoryStore } from '../src/history/store.js';
import { buildHistory } from '../src/history/trends.js';
import { parseResultsFile } from '../src/results/reader.js';
import type { Results } from '../src/results/schema.js';
import { renderHistoryMarkdown } from '../reporters/history-markdown.js';
import { H100_DEVICE, lognormalSamples, makePoint, makeResults, pointConfig, seededRandom } from './gate-fixtures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/history.js');
const HOSTILE = '</script><img src=x onerror=alert(1)>|*_';

const flat = (random: () => number, median: number): number[] => lognormalSamples(random, 20, median, 0.01);

describe('step detector', () => {
  test('a lasting 20 % step is flagged once, at the commit that made it', () => {
    const random = seededRandom(1);
    const steps = detectSteps([flat(random, 1), flat(random, 1), flat(random, 1.2), flat(random, 1.2)]);
    assert.deepEqual(steps.map((step) => step.index), [2]);
    assert.ok(Math.abs(steps[0].ratio - 1.2) < 0.02, `ratio ${steps[0].ratio}`);
  });

  test('a single slow commit is flagged there and back; a commit without samples is skipped', () => {
    const random = seededRandom(2);
    assert.deepEqual(detectSteps([flat(random, 1), flat(random, 1.3), [], flat(random, 1)]).map((step) => step.index), [1, 3]);
  });

  test('changes under the threshold or within the noise are not flagged', () => {
    const random = seededRandom(3);
    assert.deepEqual(detectSteps([flat(random, 1), flat(random, 1.03), flat(random, 1.04)]), []);
    // 20 % apart, but each side spreads ±15 % (half IQR of samples 0.85..1.15 and 1.05..1.35).
    const wide = (median: number) => Array.from({ length: 21 }, (_, i) => median * (0.7 + (0.6 * i) / 20));
    assert.equal(isStep(levelOf(wide(1)), levelOf(wide(1.2)), 0.05), false);
    assert.deepEqual(detectSteps([flat(random, 1), flat(random, 1.2)], 0.25), []);
  });

  test('a level is the median and half the interquartile range', () => {
    assert.deepEqual(levelOf([4, 1, 3, 2, 5]), { median: 3, noise: 1, samples: 5 });
  });
});

/** A run of `points` at `commit`, started `day` days into December. */
function runAt(id: string, commit: string, day: number, medians: readonly number[], seed: number): Results {
  const random = seededRandom(seed);
  const points = medians.map((median, batch) => makePoint(pointConfig({ batch: batch + 1 }), lognormalSamples(random, 20, median, 0.01)));
  const results = makeResults(points, H100_DEVICE, id);
  return { ...results, run: { ...results.run, started_at: `2026-12-0${day}T12:00:00.000Z` }, env: { ...results.env, git: { commit, dirty: false } } };
}

const write = (dir: string, file: string, results: Results): void => {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), JSON.stringify(results));
};

describe('history store over synthetic runs', () => {
  let dir: string;
  const cache = () => path.join(dir, '.ftbench-history.sqlite');
  /** Opens the cache, syncs it with the folder, saves it, and returns what the sync did and the history. */
  async function sync() {
    const store = await HistoryStore.open(cache());
    const report = store.sync(dir);
    const history = buildHistory({ runs: store.runs(), points: store.points(), problems: store.problems() }, 0.05);
    store.save();
    store.close();
    return { report, history };
  }

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-history-'));
    write(dir, 'a/run-1.json', runAt('run-1', 'aaaaaaa1111', 1, [1, 2], 11));
    write(dir, 'a/run-2.json', runAt('run-2', 'bbbbbbb2222', 2, [1, 2], 12));
    // The third commit makes batch 2 20 % slower; batch 1 stays.
    write(dir, 'b/run-3.json', runAt('run-3', 'ccccccc3333', 3, [1, 2.4], 13));
    fs.writeFileSync(path.join(dir, 'b/cache.json'), JSON.stringify({ schema: 'ftbench/gemm-cache@1', entries: [] }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('flags exactly the 20 % step, at the third commit', async () => {
    const { report, history } = await sync();
    assert.deepEqual(report.read, ['a/run-1.json', 'a/run-2.json', 'b/cache.json', 'b/run-3.json']);
    assert.deepEqual(history.positions.map((position) => position.label), ['aaaaaaa', 'bbbbbbb', 'ccccccc']);
    assert.equal(history.trends.length, 2);
    assert.deepEqual(history.steps.map(({ trend, from, to }) => [trend.key, from.label, to.label]),
      [[configKey(pointConfig({ batch: 2 })), 'bbbbbbb', 'ccccccc']]);
    assert.ok(Math.abs(history.steps[0].step.ratio - 1.2) < 0.02);
    assert.deepEqual(history.warnings, []);
  });

  test('touching nothing reads nothing; a touched file is hashed, not parsed; a replaced file is read again', async () => {
    const again = await sync();
    assert.deepEqual(again.report, { read: [], rehashed: [], unchanged: 4, removed: [] });
    assert.equal(again.history.steps.length, 1);

    const touched = path.join(dir, 'a/run-1.json');
    fs.utimesSync(touched, new Date(), new Date(Date.now() + 5000));
    assert.deepEqual((await sync()).report, { read: [], rehashed: ['a/run-1.json'], unchanged: 3, removed: [] });

    // The third commit measured again without the step: the flag goes.
    write(dir, 'b/run-3.json', runAt('run-3', 'ccccccc3333', 3, [1, 2.01], 14));
    const replaced = await sync();
    assert.deepEqual(replaced.report, { read: ['b/run-3.json'], rehashed: [], unchanged: 3, removed: [] });
    assert.deepEqual(replaced.history.steps, []);
  });

  test('a removed file takes its rows; a finished run\'s .jsonl stands aside for its .json; a broken file is a warning', async () => {
    fs.rmSync(path.join(dir, 'a/run-2.json'));
    fs.writeFileSync(path.join(dir, 'b/broken.json'), '{"schema": "ftbench/results@1"}');
    const { report, history } = await sync();
    assert.deepEqual(report.removed, ['a/run-2.json']);
    assert.deepEqual(history.runs.map((run) => run.id), ['run-1', 'run-3']);
    assert.equal(history.warnings.length, 1);
    assert.match(history.warnings[0], /^b\/broken\.json: skipped \(.*b\/broken\.json: invalid results file: run: /);
  });

  test('a run copied into two files counts once', async () => {
    fs.copyFileSync(path.join(dir, 'a/run-1.json'), path.join(dir, 'baseline.json'));
    const { history } = await sync();
    assert.deepEqual(history.runs.map((run) => run.file), ['a/run-1.json', 'b/run-3.json']);
    assert.ok(history.warnings.includes('baseline.json repeats run run-1 of a/run-1.json: counted once'));
    fs.rmSync(path.join(dir, 'baseline.json'));
  });

  test('a damaged cache is rebuilt from the files', async () => {
    fs.writeFileSync(cache(), 'not a database');
    const { report, history } = await sync();
    assert.equal(report.read.length, 4);
    assert.equal(history.runs.length, 2);
  });
});

describe('ftbench history results/h200', () => {
  let dir: string;
  let committedIds: string[];
  let commits: Set<string>;
  let run: ReturnType<typeof spawnSync>;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-history-cli-'));
    const copy = path.join(dir, 'h200');
    fs.cpSync(path.join(ROOT, 'results/h200'), copy, { recursive: true, filter: (source) => !source.endsWith('.sqlite') });
    const committed = fs.readdirSync(copy, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.json')).flatMap((file) => {
      const parsed = parseResultsFile(fs.readFileSync(path.join(copy, file), 'utf8'), file);
      return parsed ? [parsed.results] : [];
    });
    committedIds = committed.map((results) => results.run.id);
    // A run copied into two files (a promoted baseline) counts once; the planted run adds one. A
    // commit run from a dirty tree is a commit of its own (history labels it "<sha> (dirty)").
    commits = new Set(committed.map((results) => `${results.env.git.commit?.slice(0, 7) ?? ''}${results.env.git.dirty ? ' (dirty)' : ''}`));
    const planted = JSON.parse(fs.readFileSync(path.join(copy, 'measurement/kernels-20261130.json'), 'utf8'));
    planted.run.id = `planted ${HOSTILE}`;
    planted.env.device.name = `NVIDIA H200 ${HOSTILE}`;
    fs.writeFileSync(path.join(copy, 'planted.json'), JSON.stringify(planted));
    run = spawnSync(process.execPath, [CLI, copy, '--out', path.join(dir, 'page.html'), '--markdown', path.join(dir, 'summary.md')],
      { encoding: 'utf8' });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('renders every committed run, and the planted string only escaped', () => {
    assert.equal(run.status, 0, String(run.stderr));
    assert.ok(committedIds.includes('a100-20261130b') && committedIds.includes('a100-peers-20261201'));
    const html = fs.readFileSync(path.join(dir, 'page.html'), 'utf8');
    for (const id of committedIds) assert.ok(html.includes(id), `run ${id} on the page`);
    assert.ok(!html.includes(HOSTILE) && !html.includes('<img src=x'), 'the planted markup is not in the page as markup');
    assert.ok(html.includes('planted \\u003c/script>\\u003cimg src=x onerror=alert(1)>|*_'), 'the planted run id, as JSON text');
    assert.ok(html.includes('planted &lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;|*_'), 'the run id in hover text, entity-escaped');
    const runs = new Set(committedIds).size + 1;
    assert.match(String(run.stdout), new RegExp(`^history: \\d+ file\\(s\\) read, 0 unchanged, 0 removed; ${runs} runs over ${commits.size} commits, `));
    assert.ok(fs.existsSync(path.join(dir, 'h200/.ftbench-history.sqlite')), 'the cache beside the runs');
  });

  test('writes the markdown summary', () => {
    const markdown = fs.readFileSync(path.join(dir, 'summary.md'), 'utf8');
    assert.match(markdown, new RegExp(`^### ftbench history of .*h200\\n\\n${new Set(committedIds).size + 1} runs over ${commits.size} commits \\(2d0f936 \\(dirty\\), 42f3147, b10dcda, `));
  });

  test('bad input exits 2 with one line', () => {
    const cases: [string[], string][] = [
      [[path.join(dir, 'nope')], `history: ${path.join(dir, 'nope')}: no such folder\n`],
      [[dir, '--threshold', '5'], 'history: --threshold must be a fraction (0.05) or a percentage (5%) between 0 and 100%, got 5\n'],
      [[], 'history: expected one folder of runs, got 0 arguments (see --help)\n'],
      [[fs.mkdtempSync(path.join(dir, 'empty-'))], `history: ${dir}/empty-`],
    ];
    for (const [args, message] of cases) {
      const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
      assert.equal(result.status, 2, args.join(' '));
      assert.ok(result.stderr.startsWith(message), result.stderr);
      assert.equal(result.stderr.trim().split('\n').length, 1);
    }
  });
});

test('the markdown summary of a step escapes what markdown reads as markup', () => {
  const history = buildHistory({
    runs: [
      { file: 'x.json', id: 'x', startedAt: '2026-12-01', commit: 'a'.repeat(40), dirty: false, device: 'GPU <b>1</b> |*', profile: 'p', backend: 'cuda' },
      { file: 'y.json', id: 'y', startedAt: '2026-12-02', commit: 'b'.repeat(40), dirty: true, device: 'GPU <b>1</b> |*', profile: 'p', backend: 'cuda' },
    ],
    points: [
      { file: 'x.json', key: 'k', label: 'encoder fused fp16 b1 s32', path: 'encoder', precision: 'fp16', samples: [1, 1, 1] },
      { file: 'y.json', key: 'k', label: 'encoder fused fp16 b1 s32', path: 'encoder', precision: 'fp16', samples: [1.5, 1.5, 1.5] },
    ],
    problems: [],
  }, 0.05);
  assert.equal(renderHistoryMarkdown(history, 'runs_dir'), [
    '### ftbench history of runs\\_dir',
    '',
    '2 runs over 2 commits (aaaaaaa, bbbbbbb (dirty)), 1 points on 1 device(s). A step is flagged where a point\'s median moved ' +
      'by more than 5 % and by more than the noise (half the interquartile range) of the samples before and after it added up.',
    '',
    '**1 step change(s) flagged** (median ± noise, ms):',
    '',
    '| device | point | from | to | before | after | change |',
    '|---|---|---|---|---:|---:|---|',
    '| GPU \\<b\\>1\\</b\\> \\|\\* | encoder fused fp16 b1 s32 | aaaaaaa | bbbbbbb (dirty) | 1.000 ± 0.000 | 1.500 ± 0.000 | +50.0 % (slower) |',
    '',
  ].join('\n'));
});
