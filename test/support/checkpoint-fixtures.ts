// Tiny Hugging Face-style checkpoints built in TypeScript for the tests (no transformers here): a
// test-only safetensors builder, config.json of each family, and weights drawn from a seeded
// generator as multiples of 1/64 or 1/512 (exact in F32, F16 and BF16: every dtype stores the same model).
// test/fixtures/checkpoints/make_fixtures.py makes the same kind of folders with transformers itself.
import fs from 'node:fs';
import path from 'node:path';

export type FixtureDtype = 'F32' | 'F16' | 'BF16';
export type FixtureFamily = 'bert' | 'roberta' | 'distilbert';

export interface FixtureTensor {
  dtype: FixtureDtype;
  shape: number[];
  values: Float32Array;
}

/** F16 bits of a value that F16 holds exactly (normal or zero: the fixtures' multiples of 1/64). */
function f16Bits(value: number): number {
  if (value === 0) return 0;
  const sign = value < 0 ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  const exponent = Math.floor(Math.log2(magnitude));
  const mantissa = Math.round((magnitude / 2 ** exponent - 1) * 1024);
  return sign | ((exponent + 15) << 10) | mantissa;
}

function encode(tensor: FixtureTensor): Buffer {
  if (tensor.dtype === 'F32') return Buffer.from(new Float32Array(tensor.values).buffer);
  const bits = tensor.dtype === 'F16' ? Array.from(tensor.values, f16Bits)
    : Array.from(new Uint32Array(new Float32Array(tensor.values).buffer), (word) => word >>> 16);
  return Buffer.from(Uint16Array.from(bits).buffer);
}

/** A safetensors file's bytes: header length, JSON header (optionally edited), data. */
export function safetensorsBytes(tensors: Record<string, FixtureTensor>, editHeader?: (header: Record<string, unknown>) => void): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const blobs: Buffer[] = [];
  let offset = 0;
  for (const [name, tensor] of Object.entries(tensors)) {
    const blob = encode(tensor);
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + blob.length] };
    blobs.push(blob);
    offset += blob.length;
  }
  editHeader?.(header);
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, ...blobs]);
}

function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

export interface FixtureOptions {
  dtype?: FixtureDtype;
  layers?: number;
  hidden?: number;
  heads?: number;
  inter?: number;
  vocab?: number;
  positions?: number;
  /** Store names with the family prefix and add a classifier head, as a fine-tuned model's file. */
  prefixed?: boolean;
  hiddenAct?: string;
  seed?: number;
}

/** The config.json of a tiny model of `family`. */
function configJson(family: FixtureFamily, o: Required<FixtureOptions>): Record<string, unknown> {
  if (family === 'distilbert') {
    return { model_type: 'distilbert', dim: o.hidden, n_heads: o.heads, hidden_dim: o.inter, n_layers: o.layers, vocab_size: o.vocab,
      max_position_embeddings: o.positions, activation: o.hiddenAct, _name_or_path: 'tiny-distilbert' };
  }
  return { model_type: family, hidden_size: o.hidden, num_attention_heads: o.heads, intermediate_size: o.inter, num_hidden_layers: o.layers,
    vocab_size: o.vocab, max_position_embeddings: o.positions, type_vocab_size: family === 'bert' ? 2 : 1, hidden_act: o.hiddenAct,
    layer_norm_eps: 1e-12, pad_token_id: family === 'bert' ? 0 : 1, _name_or_path: `tiny-${family}` };
}

/** Hugging Face names and shapes of a tiny model's tensors (unprefixed). */
function tensorShapes(family: FixtureFamily, o: Required<FixtureOptions>): [string, number[]][] {
  const h = o.hidden;
  const linear = (name: string, out: number, inp: number): [string, number[]][] => [[`${name}.weight`, [out, inp]], [`${name}.bias`, [out]]];
  const norm = (name: string): [string, number[]][] => [[`${name}.weight`, [h]], [`${name}.bias`, [h]]];
  const shapes: [string, number[]][] = [
    ['embeddings.word_embeddings.weight', [o.vocab, h]], ['embeddings.position_embeddings.weight', [o.positions, h]],
    ...(family === 'distilbert' ? [] : [['embeddings.token_type_embeddings.weight', [family === 'bert' ? 2 : 1, h]] as [string, number[]]]),
    ...norm('embeddings.LayerNorm'),
  ];
  for (let l = 0; l < o.layers; l++) {
    const names = family === 'distilbert'
      ? [`transformer.layer.${l}.attention.q_lin`, `transformer.layer.${l}.attention.k_lin`, `transformer.layer.${l}.attention.v_lin`,
        `transformer.layer.${l}.attention.out_lin`, `transformer.layer.${l}.sa_layer_norm`, `transformer.layer.${l}.ffn.lin1`,
        `transformer.layer.${l}.ffn.lin2`, `transformer.layer.${l}.output_layer_norm`]
      : [`encoder.layer.${l}.attention.self.query`, `encoder.layer.${l}.attention.self.key`, `encoder.layer.${l}.attention.self.value`,
        `encoder.layer.${l}.attention.output.dense`, `encoder.layer.${l}.attention.output.LayerNorm`, `encoder.layer.${l}.intermediate.dense`,
        `encoder.layer.${l}.output.dense`, `encoder.layer.${l}.output.LayerNorm`];
    const [q, k, v, out, ln1, ffn1, ffn2, ln2] = names;
    shapes.push(...linear(q, h, h), ...linear(k, h, h), ...linear(v, h, h), ...linear(out, h, h), ...norm(ln1),
      ...linear(ffn1, o.inter, h), ...linear(ffn2, h, o.inter), ...norm(ln2));
  }
  return shapes;
}

/**
 * Values of one tensor: LN gammas 1 ± 1/4 and embeddings ±1 in steps of 1/64; Linear weights and
 * biases ±3/32 in steps of 1/512 (attention scores stay moderate, as with trained weights).
 */
function fixtureValues(name: string, count: number, next: () => number): Float32Array {
  const gamma = /(LayerNorm|layer_norm)\.weight$/.test(name);
  const embedding = name.startsWith('embeddings.') && !gamma;
  const [offset, steps, step] = gamma ? [1, 16, 64] : embedding ? [0, 64, 64] : [0, 48, 512];
  return Float32Array.from({ length: count }, () => offset + Math.round((next() * 2 - 1) * steps) / step);
}

export interface Fixture {
  dir: string;
  config: Record<string, unknown>;
  /** Unprefixed Hugging Face name -> values (what the file stores). */
  tensors: Record<string, FixtureTensor>;
}

/** Writes a tiny checkpoint folder of `family` into `dir` (config.json + model.safetensors). */
export function writeFixture(dir: string, family: FixtureFamily, options: FixtureOptions = {}): Fixture {
  const o: Required<FixtureOptions> = {
    dtype: 'F32', layers: 2, hidden: 64, heads: 4, inter: 128, vocab: 100, positions: 40, prefixed: false,
    hiddenAct: family === 'distilbert' ? 'gelu' : 'gelu', seed: 7, ...options,
  };
  const next = generator(o.seed);
  const tensors: Record<string, FixtureTensor> = {};
  for (const [name, shape] of tensorShapes(family, o)) {
    tensors[name] = { dtype: o.dtype, shape, values: fixtureValues(name, shape.reduce((a, b) => a * b, 1), next) };
  }
  const prefix = family === 'distilbert' ? 'distilbert.' : `${family}.`;
  const stored: Record<string, FixtureTensor> = o.prefixed
    ? { ...Object.fromEntries(Object.entries(tensors).map(([name, t]) => [prefix + name, t])),
      'classifier.weight': { dtype: o.dtype, shape: [2, o.hidden], values: new Float32Array(2 * o.hidden) } }
    : tensors;
  fs.mkdirSync(dir, { recursive: true });
  const config = configJson(family, o);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(stored));
  return { dir, config, tensors };
}
