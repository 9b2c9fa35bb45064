// Hugging Face checkpoints on the encoder path (issue 19), on the CPU backend: tiny BERT, RoBERTa and
// DistilBERT folders (test/support/checkpoint-fixtures.ts, F32 / F16 / BF16, with and without the
// family prefix) loaded and run against an independent float64 implementation of Hugging Face's
// models on their own tensors (test/support/hf-reference.ts); then `bench --model` end to end.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readResults } from '../src/results/reader.js';
import { relativeL2 } from '../src/check/correctness.js';
import type { NativeAddon } from '../src/engine/native.js';
import { addonOrSkip } from './harness-fixtures.js';
import { safetensorsBytes, writeFixture, type FixtureDtype, type FixtureFamily, type FixtureOptions } from './support/checkpoint-fixtures.js';
import { hfEncoder } from './support/hf-reference.js';
import { runCheckpoint } from './support/checkpoint-run.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const { addon, skip } = addonOrSkip();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-checkpoints-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const BATCH = 2;
const SEQ = 12;
const LENGTHS = [12, 7];

/** Fixed ids: never RoBERTa's padding id 1 within the lengths. */
const IDS = Array.from({ length: BATCH }, (_, b) => Array.from({ length: SEQ }, (_, s) => (b * 37 + s * 11 + 3) % 97 + 2));

/** The CPU backend's hidden states of a folder's model for IDS / LENGTHS. */
function cpuHidden(engine: NativeAddon, dir: string): Float32Array {
  const run = runCheckpoint(engine, 'cpu', dir, IDS, LENGTHS);
  assert.deepEqual(Array.from(run.lengths), LENGTHS);
  return run.hidden;
}

const CASES: [FixtureFamily, FixtureDtype, FixtureOptions][] = [
  ['bert', 'F32', {}],
  ['bert', 'BF16', { prefixed: true, hiddenAct: 'gelu_new' }],
  ['roberta', 'F16', { prefixed: true }],
  ['roberta', 'F32', { hiddenAct: 'gelu_pytorch_tanh' }],
  ['distilbert', 'BF16', {}],
  ['distilbert', 'F16', { prefixed: true }],
];

describe('checkpoints on the cpu backend against float64 Hugging Face', { skip }, () => {
  for (const [family, dtype, options] of CASES) {
    const label = `${family} ${dtype}${options.prefixed ? ' (prefixed, with a head)' : ''}${options.hiddenAct ? ` ${options.hiddenAct}` : ''}`;
    test(label, () => {
      const fixture = writeFixture(path.join(root, label.replace(/\W+/g, '-')), family, { dtype, ...options });
      const hidden = cpuHidden(addon!, fixture.dir);
      const expected = IDS.flatMap((ids, b) => hfEncoder(fixture, ids, LENGTHS[b]).flat());
      assert.equal(hidden.length, expected.length);
      const error = relativeL2(hidden, expected);
      assert.ok(error < 1e-5, `relative L2 error ${error}`);
    });
  }

  test('shards (model.safetensors.index.json), model_type xlm-roberta and legacy gamma / beta names: the same model', () => {
    const single = writeFixture(path.join(root, 'single'), 'roberta');
    const dir = path.join(root, 'sharded');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...single.config, model_type: 'xlm-roberta' }));
    const legacy = (name: string) => name.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
    const entries = Object.entries(single.tensors).map(([name, tensor]) => [legacy(name), tensor] as const);
    const shards = [entries.slice(0, 9), entries.slice(9)];
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      fs.writeFileSync(path.join(dir, file), safetensorsBytes(Object.fromEntries(shard)));
      for (const [name] of shard) weightMap[name] = file;
    });
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    assert.deepEqual(cpuHidden(addon!, dir), cpuHidden(addon!, single.dir));
  });

  test('the erf and tanh GELUs give different models (the activation reaches the engine)', () => {
    const erf = writeFixture(path.join(root, 'gelu-erf'), 'bert', { hiddenAct: 'gelu' });
    const tanh = writeFixture(path.join(root, 'gelu-tanh'), 'bert', { hiddenAct: 'gelu_new' });
    assert.ok(relativeL2(cpuHidden(addon!, erf.dir), cpuHidden(addon!, tanh.dir)) > 1e-6);
  });
});

describe('bench --model end to end', { skip }, () => {
  test('records the model, its sha256 and a key with the model', () => {
    const fixture = writeFixture(path.join(root, 'e2e-bert'), 'bert', { prefixed: true });
    const out = path.join(root, 'e2e-out');
    const args = ['bench', '--profile', 'smoke', '--backend', 'cpu', '--model', fixture.dir, '--batch', '2', '--seq', '8',
      '--min-samples', '3', '--min-time', '0', '--warmup', '0', '--out', out, '--run-id', 'model'];
    const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const { points } = readResults(path.join(out, 'model.json')).results;
    const sha256 = crypto.createHash('sha256').update(fs.readFileSync(path.join(fixture.dir, 'model.safetensors'))).digest('hex');
    assert.equal(points.length, 1);
    const [point] = points;
    assert.equal(point.status, 'ok');
    assert.equal(point.correct, true);
    assert.deepEqual(point.config.model, {
      dir: fixture.dir, type: 'bert', name: 'tiny-bert', sha256, weights: [{ file: 'model.safetensors', sha256 }],
    });
    assert.equal(point.config.activation, 'gelu_erf');
    assert.equal(point.config.layer_norm_eps, 1e-12);
    assert.deepEqual([point.config.path, point.config.layers, point.config.heads, point.config.head_size, point.config.inter_size],
      ['encoder', 2, 4, 16, 128]);
    assert.ok(point.key.endsWith(` model=bert@${sha256.slice(0, 16)}`), point.key);
  });

  test('--inputs sets the ids, batch and seq', () => {
    const fixture = writeFixture(path.join(root, 'e2e-roberta'), 'roberta');
    const inputs = path.join(root, 'inputs.json');
    fs.writeFileSync(inputs, JSON.stringify({ ids: IDS, lengths: LENGTHS }));
    const out = path.join(root, 'e2e-inputs');
    const args = ['bench', '--profile', 'smoke', '--backend', 'cpu', '--model', fixture.dir, '--inputs', inputs,
      '--min-samples', '3', '--min-time', '0', '--warmup', '0', '--out', out, '--run-id', 'inputs'];
    const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const [point] = readResults(path.join(out, 'inputs.json')).results.points;
    assert.deepEqual([point.config.batch, point.config.seq, point.config.model?.inputs], [BATCH, SEQ, inputs]);
    assert.equal(point.status, 'ok');
  });
});
