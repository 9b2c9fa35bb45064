// The safetensors writer (src/checkpoints/safetensors.ts), parsed back byte by byte here by an
// independent reader, and the checkpoint directories the peers load (src/checkpoints/engine-checkpoint.ts):
// tensor names, nn.Linear transposition and the inputs against the engine's own values.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { arrayTensor, writeSafetensors, type TensorSource } from '../src/checkpoints/safetensors.js';
import { checkpointConfig, CheckpointStore } from '../src/checkpoints/engine-checkpoint.js';
import { TensorId, type NativeConfig } from '../src/engine/native.js';
import { DEFAULT_CONFIG, type PointConfig } from '../src/engine/config.js';
import { addonOrSkip } from './harness-fixtures.js';
import { randomUnit, streamOf } from './support/philox.js';

interface Parsed {
  headerLength: number;
  header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  headerText: string;
  data: Buffer;
}

/** An independent reading of the format: u64 LE header length, JSON header, data. */
function parse(file: string): Parsed {
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const headerText = bytes.subarray(8, 8 + headerLength).toString('utf8');
  return { headerLength, header: JSON.parse(headerText), headerText, data: bytes.subarray(8 + headerLength) };
}

/** A tensor's values from a parsed F32 file. */
function f32(parsed: Parsed, name: string): Float32Array {
  const entry = parsed.header[name];
  assert.ok(entry, `tensor ${name} in the file`);
  assert.equal(entry.dtype, 'F32');
  const [begin, end] = entry.data_offsets;
  return new Float32Array(new Uint8Array(parsed.data.subarray(begin, end)).buffer);
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-st-'));

describe('safetensors writer', () => {
  test('header, offsets, dtypes and data, byte for byte', () => {
    const file = path.join(tmp(), 'small.safetensors');
    const a = Float32Array.from([1, -2, 3.5, 0, 1e-8, 7]);
    const b = Int32Array.from([-1, 2147483647]);
    const c = Float64Array.from([Math.PI]);
    writeSafetensors(file, [arrayTensor('a', [2, 3], a), arrayTensor('b', [2], b), arrayTensor('c', [1], c)], { format: 'pt' });
    const parsed = parse(file);
    const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},' +
      '"b":{"dtype":"I32","shape":[2],"data_offsets":[24,32]},"c":{"dtype":"F64","shape":[1],"data_offsets":[32,40]}}';
    // The JSON, padded with spaces so the data starts 8-byte aligned.
    assert.equal(parsed.headerLength % 8, 0);
    assert.equal(parsed.headerText, json.padEnd(parsed.headerLength, ' '));
    assert.ok(parsed.headerLength - json.length < 8);
    assert.equal(parsed.data.length, 40);
    assert.deepEqual(parsed.data, Buffer.concat([Buffer.from(a.buffer), Buffer.from(b.buffer), Buffer.from(c.buffer)]));
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['small.safetensors']);
  });

  test('a tensor produced in chunks is written in order; a wrong byte count leaves no file', () => {
    const dir = tmp();
    const chunked: TensorSource = {
      name: 'x', dtype: 'F32', shape: [4],
      produce: (write) => {
        write(Float32Array.from([1, 2]));
        write(Float32Array.from([3, 4]));
      },
    };
    writeSafetensors(path.join(dir, 'ok.safetensors'), [chunked]);
    assert.deepEqual(Array.from(f32(parse(path.join(dir, 'ok.safetensors')), 'x')), [1, 2, 3, 4]);
    const short: TensorSource = { ...chunked, name: 'short', produce: (write) => write(Float32Array.from([1, 2, 3])) };
    assert.throws(() => writeSafetensors(path.join(dir, 'bad.safetensors'), [short]), { message: 'safetensors: short produced 12 bytes, its shape says 16' });
    const long: TensorSource = { ...chunked, name: 'long', produce: (write) => write(new Float32Array(5)) };
    assert.throws(() => writeSafetensors(path.join(dir, 'bad.safetensors'), [long]), { message: 'safetensors: long produced more than its 16 bytes' });
    assert.deepEqual(fs.readdirSync(dir), ['ok.safetensors']);
  });
});

const { addon, skip } = addonOrSkip();

const point = (overrides: Partial<PointConfig>): PointConfig => ({
  ...DEFAULT_CONFIG, backend: 'cuda', path: 'encoder', variant: 'torch-eager', precision: 'fp16', ...overrides,
});
/** The engine's view of a point for the addon (tensor values do not depend on variant or precision). */
const engine = (c: PointConfig): NativeConfig => ({ ...c, variant: 'reference', precision: 'fp32' });

/** W [inputs, columns] (engine layout), columns [begin, begin + outputs), as nn.Linear's [outputs, inputs]. */
function transposed(w: Float32Array, inputs: number, columns: number, outputs = columns, begin = 0): Float32Array {
  return Float32Array.from({ length: outputs * inputs }, (_, at) => w[Math.floor(at % inputs) * columns + begin + Math.floor(at / inputs)]);
}

describe('checkpoint directories of the engine model', { skip }, () => {
  test('encoder: BERT names, q/k/v split from the fused weight and transposed, inputs and lengths', () => {
    const c = point({ layers: 2, heads: 2, head_size: 4, inter_size: 16, batch: 3, seq: 5, max_seq: 5 });
    const dir = new CheckpointStore(addon!, tmp()).prepare(c);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')), checkpointConfig(c));
    const model = parse(path.join(dir, 'model.safetensors'));
    assert.deepEqual(model.header.__metadata__, { format: 'pt' });
    assert.equal(Object.keys(model.header).length, 1 + 2 * 16);
    const h = 8;
    const qkv = addon!.tensor(engine(c), TensorId.EncQkvW, 1, h * 3 * h);
    assert.deepEqual(f32(model, 'encoder.layer.1.attention.self.key.weight'), transposed(qkv, h, 3 * h, h, h));
    assert.deepEqual(f32(model, 'encoder.layer.1.attention.self.value.bias'), addon!.tensor(engine(c), TensorId.EncQkvB, 1, 3 * h).subarray(2 * h));
    assert.deepEqual(f32(model, 'encoder.layer.0.intermediate.dense.weight'), transposed(addon!.tensor(engine(c), TensorId.EncFfn1W, 0, h * 16), h, 16));
    assert.deepEqual(model.header['encoder.layer.0.output.dense.weight'].shape, [h, 16]);
    assert.deepEqual(f32(model, 'encoder.layer.1.output.LayerNorm.weight'), addon!.tensor(engine(c), TensorId.EncFfnLnGamma, 1, h));
    // A known element: query.weight[o][i] = qkv_w[i][o] (the engine computes y = x · W).
    assert.equal(f32(model, 'encoder.layer.1.attention.self.query.weight')[3 * h + 5], qkv[5 * 3 * h + 3]);
    const inputs = parse(path.join(dir, 'inputs.safetensors'));
    assert.deepEqual(f32(inputs, 'encoder_input'), addon!.tensor(engine(c), TensorId.EncoderInput, 0, 3 * 5 * h));
    const lengths = inputs.header.encoder_lengths;
    assert.deepEqual([lengths.dtype, lengths.shape], ['I32', [3]]);
    assert.deepEqual(Array.from(new Int32Array(new Uint8Array(inputs.data.subarray(...lengths.data_offsets)).buffer)),
      [0, 1, 2].map((b) => addon!.sequenceLength(engine(c), TensorId.EncoderLengths, b, 5)));
  });

  test('decoding: logits transposed in chunks, embedding as the engine lays it out, the sampling draws exactly', () => {
    const c = point({ path: 'decoding', layers: 1, heads: 2, head_size: 4, inter_size: 16, vocab: 10_000, batch: 2, seq: 3, max_seq: 8, mem_len: 6, top_k: 4 });
    const dir = new CheckpointStore(addon!, tmp()).prepare(c);
    const model = parse(path.join(dir, 'model.safetensors'));
    // 10 000 rows of 8: more than one 65 536-value chunk.
    assert.deepEqual(f32(model, 'logits.weight'), transposed(addon!.tensor(engine(c), TensorId.LogitsW, 0, 8 * 10_000), 8, 10_000));
    assert.deepEqual(f32(model, 'embedding.weight'), addon!.tensor(engine(c), TensorId.Embedding, 0, 10_000 * 8));
    assert.deepEqual(f32(model, 'decoder.layers.0.cross_attn.kv.weight'), transposed(addon!.tensor(engine(c), TensorId.DecCrossKvW, 0, 8 * 16), 8, 16));
    assert.deepEqual(model.header['decoder.layers.0.self_attn.qkv.weight'].shape, [24, 8]);
    const inputs = parse(path.join(dir, 'inputs.safetensors'));
    assert.deepEqual(Object.keys(inputs.header), ['__metadata__', 'memory', 'memory_lengths', 'sampling_draws']);
    assert.deepEqual(inputs.header.memory.shape, [2, 6, 8]);
    const draws = inputs.header.sampling_draws;
    assert.deepEqual([draws.dtype, draws.shape], ['F64', [6]]);
    const expected = Array.from({ length: 6 }, (_, index) => randomUnit(c.seed, streamOf(TensorId.SamplingDraw), index));
    assert.deepEqual(Array.from(new Float64Array(new Uint8Array(inputs.data.subarray(...draws.data_offsets)).buffer)), expected);
  });

  test('one model on disk at a time: its weights written once, its inputs when they change', () => {
    const root = tmp();
    const store = new CheckpointStore(addon!, root);
    const c = point({ layers: 1, heads: 2, head_size: 4, inter_size: 16, batch: 1, seq: 4, max_seq: 8 });
    const dir = store.prepare(c);
    const modelFile = path.join(dir, 'model.safetensors');
    fs.writeFileSync(path.join(dir, 'marker'), '');
    const written = fs.statSync(modelFile).mtimeMs;
    assert.equal(store.prepare({ ...c, batch: 2, variant: 'torch-graph', precision: 'bf16' }), dir);
    assert.equal(fs.statSync(modelFile).mtimeMs, written);
    assert.deepEqual(parse(path.join(dir, 'inputs.safetensors')).header.encoder_input.shape, [2, 4, 8]);
    const other = store.prepare({ ...c, layers: 2 });
    assert.notEqual(other, dir);
    assert.deepEqual(fs.readdirSync(root), [path.basename(other)]);
  });
});
