// Bad checkpoints and inputs through the CLI (issue 19): every problem is one line on stderr naming
// the file and the tensor, exit 2, no results written and nothing run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { addonOrSkip } from './harness-fixtures.js';
import { safetensorsBytes, writeFixture, type Fixture, type FixtureTensor } from './support/checkpoint-fixtures.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const { skip } = addonOrSkip();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-checkpoint-errors-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

let folders = 0;

/** A valid tiny BERT folder, then `spoil` applied to it; returns the folder and its weights file. */
function spoiled(spoil: (fixture: Fixture, file: string) => void): { dir: string; file: string } {
  const fixture = writeFixture(path.join(root, `model-${folders++}`), 'bert');
  const file = path.join(fixture.dir, 'model.safetensors');
  spoil(fixture, file);
  return { dir: fixture.dir, file };
}

/** Exit 2, exactly `message` as the one line on stderr, nothing written. */
function refused(args: string[], message: string): void {
  const out = path.join(root, `out-${folders++}`);
  const result = spawnSync(process.execPath, [CLI, 'bench', '--backend', 'cpu', '--profile', 'smoke', ...args, '--out', out], { encoding: 'utf8' });
  assert.equal(result.stderr, `ftbench: ${message}\n`, args.join(' '));
  assert.equal(result.status, 2);
  assert.equal(result.stdout, '');
  assert.equal(fs.existsSync(out), false);
}

const LAST = 'encoder.layer.1.output.LayerNorm.bias';

describe('bad checkpoints through the CLI', { skip }, () => {
  test('a truncated file', () => {
    const { dir, file } = spoiled((_, f) => fs.truncateSync(f, fs.statSync(f).size - 10));
    const data = fs.statSync(file).size - 8 - Number(fs.readFileSync(file).readBigUInt64LE(0));
    refused(['--model', dir], `${file}: tensor ${LAST}: data_offsets [${data + 10 - 256}, ${data + 10}] run past the end of the data (${data} bytes; truncated file?)`);
  });

  test('a header length past the end of the file', () => {
    const { dir, file } = spoiled((_, f) => {
      const bytes = fs.readFileSync(f);
      bytes.writeBigUInt64LE(1_000_000n);
      fs.writeFileSync(f, bytes);
    });
    refused(['--model', dir], `${file}: header length 1000000 runs past the end of the file (${fs.statSync(file).size} bytes)`);
  });

  test('a file too short for a header', () => {
    const { dir, file } = spoiled((_, f) => fs.writeFileSync(f, Buffer.alloc(5)));
    refused(['--model', dir], `${file}: 5 bytes, too short for a safetensors header`);
  });

  test('a header that is not JSON', () => {
    const { dir, file } = spoiled((_, f) => {
      const bytes = fs.readFileSync(f);
      bytes.write('{{{', 8);
      fs.writeFileSync(f, bytes);
    });
    refused(['--model', dir], `${file}: header is not valid JSON`);
  });

  const rewrite = (edit: (header: Record<string, unknown>) => void, tensors?: (t: Record<string, FixtureTensor>) => void) =>
    spoiled((fixture, f) => {
      tensors?.(fixture.tensors);
      fs.writeFileSync(f, safetensorsBytes(fixture.tensors, edit));
    });
  const entry = (header: Record<string, unknown>, name: string) => header[name] as { dtype: string; shape: number[]; data_offsets: number[] };

  test('an unknown dtype', () => {
    const { dir, file } = rewrite((h) => { entry(h, 'embeddings.LayerNorm.bias').dtype = 'F8_E4M3'; });
    refused(['--model', dir], `${file}: tensor embeddings.LayerNorm.bias: dtype "F8_E4M3" is not supported (F64, F32, F16, BF16, I64, I32)`);
  });

  test('a shape its offsets do not hold', () => {
    const { dir, file } = rewrite((h) => { entry(h, 'embeddings.LayerNorm.bias').shape = [65]; });
    refused(['--model', dir], `${file}: tensor embeddings.LayerNorm.bias: shape [65] of F32 needs 260 bytes, data_offsets span 256`);
  });

  test('a tensor misshapen for config.json', () => {
    const { dir, file } = rewrite(() => {}, (t) => {
      t['encoder.layer.0.intermediate.dense.bias'] = { dtype: 'F32', shape: [64], values: new Float32Array(64) };
    });
    refused(['--model', dir], `${file}: tensor encoder.layer.0.intermediate.dense.bias: shape [64] does not match config.json (expected [128])`);
  });

  test('a missing tensor', () => {
    const { dir, file } = rewrite(() => {}, (t) => { delete t['encoder.layer.1.attention.self.key.weight']; });
    refused(['--model', dir], `${file}: tensor encoder.layer.1.attention.self.key.weight is missing`);
  });

  test('overlapping offsets', () => {
    const { dir, file } = rewrite((h) => {
      const offsets = entry(h, LAST).data_offsets;
      entry(h, LAST).data_offsets = [offsets[0] - 4, offsets[1] - 4];
    });
    refused(['--model', dir], `${file}: tensor ${LAST}: data_offsets overlap those of tensor encoder.layer.1.output.LayerNorm.weight`);
  });

  test('an activation the engine does not compute', () => {
    const { dir } = spoiled((fixture) => {
      fs.writeFileSync(path.join(fixture.dir, 'config.json'), JSON.stringify({ ...fixture.config, hidden_act: 'relu' }));
    });
    refused(['--model', dir], `${path.join(dir, 'config.json')}: hidden_act "relu" is not supported (gelu, gelu_new, gelu_pytorch_tanh)`);
  });

  test('a family the engine does not run', () => {
    const { dir } = spoiled((fixture) => {
      fs.writeFileSync(path.join(fixture.dir, 'config.json'), JSON.stringify({ ...fixture.config, model_type: 'gpt2' }));
    });
    refused(['--model', dir], `${path.join(dir, 'config.json')}: model_type "gpt2" is not supported (bert, roberta, xlm-roberta, distilbert)`);
  });

  test('a folder without weights', () => {
    const { dir } = spoiled((_, f) => fs.rmSync(f));
    refused(['--model', dir], `${dir}: no model.safetensors or model.safetensors.index.json (only safetensors checkpoints are read)`);
  });
});

describe('bad --model and --inputs flags', { skip }, () => {
  const { dir } = spoiled(() => {});
  const inputs = (name: string, data: unknown): string => {
    const file = path.join(root, name);
    fs.writeFileSync(file, JSON.stringify(data));
    return file;
  };

  test('ids outside the vocabulary', () => {
    const file = inputs('vocab.json', { ids: [[1, 2, 3], [4, 100, 5]] });
    refused(['--model', dir, '--inputs', file], `${file}: ids[1][1] must be a token id 0..99, got 100`);
  });

  test('ragged ids and bad lengths', () => {
    const ragged = inputs('ragged.json', { ids: [[1, 2, 3], [4, 5]] });
    refused(['--model', dir, '--inputs', ragged], `${ragged}: ids[1] has 2 ids, ids[0] has 3 (all rows alike, at least one)`);
    const lengths = inputs('lengths.json', { ids: [[1, 2, 3]], lengths: [4] });
    refused(['--model', dir, '--inputs', lengths], `${lengths}: lengths[0] must be 1..3, got 4`);
  });

  test('rows longer than the positions', () => {
    const file = inputs('long.json', { ids: [Array(41).fill(5)] });
    refused(['--model', dir, '--inputs', file], `${file}: rows of 41 ids, the model has positions for 40`);
  });

  test('flags that do not go with --model', () => {
    refused(['--model', dir, '--path', 'decoding'], '--model runs the encoder path only, got --path decoding');
    refused(['--model', dir, '--layers', '3'], '--model takes its dims from config.json: drop --layers');
    refused(['--inputs', 'x.json'], '--inputs needs --model (token ids for a checkpoint)');
    refused(['--model', dir, '--inputs', 'x.json', '--batch', '2'], '--inputs sets batch and seq: drop --batch');
    refused(['--model', dir, '--seq', '64'], 'seq must be at most 40 (the model\'s positions), got 64');
  });
});
