// A point's engine model and inputs as a checkpoint directory the peers load (the format of
// peers/torch/PROTOCOL.md, "Checkpoint directory"): config.json, model.safetensors (F32, the engine's
// own values from the addon's tensor(), linear weights transposed to nn.Linear's [out, in]) and
// inputs.safetensors (the engine's inputs, lengths and sampling draws). So a peer computes on
// exactly the weights and inputs the engine computes on.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { hiddenSize, isSampling, type PointConfig } from '../engine/config.js';
import { TensorId, type NativeAddon, type NativeConfig } from '../engine/native.js';
import { arrayTensor, writeSafetensors, type TensorSource } from './safetensors.js';

type TensorName = keyof typeof TensorId;

/** Output rows per chunk of a transposed write (a chunk holds rows × fan-in values). */
const CHUNK_VALUES = 1 << 16;

/** The metadata save_pretrained writes: some transformers versions refuse a checkpoint without it. */
const METADATA = { format: 'pt' };

/** The layer norm epsilon of MODEL.md, which the peers' configs declare. */
const LAYER_NORM_EPS = 1e-6;

/** The engine's view of `config`: tensor values depend on the model, never on the variant or precision. */
const engineConfig = (c: PointConfig): NativeConfig => ({ ...c, variant: 'reference', precision: 'fp32' });

/** Memory length as the engine reads it (ModelConfig::memory_len): mem_len, else the steps. */
export const memoryLength = (c: PointConfig): number => (c.mem_len > 0 ? c.mem_len : c.seq);

/** Reads engine tensors, keeping the last one: the q, k and v slices of one weight read it once. */
class EngineTensors {
  private last: { key: string; values: Float32Array } | undefined;

  constructor(private readonly addon: NativeAddon, private readonly config: NativeConfig) {}

  values(name: TensorName, layer: number, count: number): Float32Array {
    const key = `${name}/${layer}/${count}`;
    if (this.last?.key !== key) this.last = { key, values: this.addon.tensor(this.config, TensorId[name], layer, count) };
    return this.last.values;
  }

  /** A vector (bias, LN parameter) or a slice [begin, begin + size) of one. */
  vector(name: string, id: TensorName, layer: number, size: number, total = size, begin = 0): TensorSource {
    return { name, dtype: 'F32', shape: [size], produce: (write) => write(this.values(id, layer, total).subarray(begin, begin + size)) };
  }

  /** A tensor stored as the engine lays it out (embedding [vocab, h], inputs). */
  asIs(name: string, id: TensorName, layer: number, shape: number[]): TensorSource {
    return { name, dtype: 'F32', shape, produce: (write) => write(this.values(id, layer, shape.reduce((a, b) => a * b, 1))) };
  }

  /**
   * Columns [begin, begin + outputs) of the engine's weight W [inputs, columns] (y = x · W), written
   * transposed as nn.Linear's weight [outputs, inputs], a chunk of rows at a time.
   */
  linear(name: string, id: TensorName, layer: number, inputs: number, columns: number, outputs = columns, begin = 0): TensorSource {
    return {
      name, dtype: 'F32', shape: [outputs, inputs],
      produce: (write) => {
        const w = this.values(id, layer, inputs * columns);
        const rowsPerChunk = Math.max(1, Math.floor(CHUNK_VALUES / inputs));
        for (let first = 0; first < outputs; first += rowsPerChunk) {
          const rows = Math.min(rowsPerChunk, outputs - first);
          const chunk = new Float32Array(rows * inputs);
          for (let r = 0; r < rows; r++) {
            const column = begin + first + r;
            for (let i = 0; i < inputs; i++) chunk[r * inputs + i] = w[i * columns + column];
          }
          write(chunk);
        }
      },
    };
  }
}

/** The BERT encoder's layers under Hugging Face's names (BertEncoder), the engine's weights. */
function encoderTensors(t: EngineTensors, c: PointConfig): TensorSource[] {
  const h = hiddenSize(c);
  return Array.from({ length: c.layers }, (_, i) => {
    const at = (name: string) => `encoder.layer.${i}.${name}`;
    return [
      ...(['query', 'key', 'value'] as const).flatMap((part, j) => [
        t.linear(at(`attention.self.${part}.weight`), 'EncQkvW', i, h, 3 * h, h, j * h),
        t.vector(at(`attention.self.${part}.bias`), 'EncQkvB', i, h, 3 * h, j * h),
      ]),
      t.linear(at('attention.output.dense.weight'), 'EncAttnOutW', i, h, h),
      t.vector(at('attention.output.dense.bias'), 'EncAttnOutB', i, h),
      t.vector(at('attention.output.LayerNorm.weight'), 'EncAttnLnGamma', i, h),
      t.vector(at('attention.output.LayerNorm.bias'), 'EncAttnLnBeta', i, h),
      t.linear(at('intermediate.dense.weight'), 'EncFfn1W', i, h, c.inter_size),
      t.vector(at('intermediate.dense.bias'), 'EncFfn1B', i, c.inter_size),
      t.linear(at('output.dense.weight'), 'EncFfn2W', i, c.inter_size, h),
      t.vector(at('output.dense.bias'), 'EncFfn2B', i, h),
      t.vector(at('output.LayerNorm.weight'), 'EncFfnLnGamma', i, h),
      t.vector(at('output.LayerNorm.bias'), 'EncFfnLnBeta', i, h),
    ];
  }).flat();
}

/** FT's decoder layers and the decoding model's embedding, final LN and logits (ftbench-decoding names). */
function decodingTensors(t: EngineTensors, c: PointConfig): TensorSource[] {
  const h = hiddenSize(c);
  const layers = Array.from({ length: c.layers }, (_, i) => {
    const at = (name: string) => `decoder.layers.${i}.${name}`;
    const norm = (name: string, gamma: TensorName, beta: TensorName) =>
      [t.vector(at(`${name}.weight`), gamma, i, h), t.vector(at(`${name}.bias`), beta, i, h)];
    return [
      ...norm('self_ln', 'DecSelfLnGamma', 'DecSelfLnBeta'),
      t.linear(at('self_attn.qkv.weight'), 'DecSelfQkvW', i, h, 3 * h), t.vector(at('self_attn.qkv.bias'), 'DecSelfQkvB', i, 3 * h),
      t.linear(at('self_attn.out.weight'), 'DecSelfOutW', i, h, h), t.vector(at('self_attn.out.bias'), 'DecSelfOutB', i, h),
      ...norm('cross_ln', 'DecCrossLnGamma', 'DecCrossLnBeta'),
      t.linear(at('cross_attn.q.weight'), 'DecCrossQW', i, h, h), t.vector(at('cross_attn.q.bias'), 'DecCrossQB', i, h),
      t.linear(at('cross_attn.kv.weight'), 'DecCrossKvW', i, h, 2 * h), t.vector(at('cross_attn.kv.bias'), 'DecCrossKvB', i, 2 * h),
      t.linear(at('cross_attn.out.weight'), 'DecCrossOutW', i, h, h), t.vector(at('cross_attn.out.bias'), 'DecCrossOutB', i, h),
      ...norm('ffn_ln', 'DecFfnLnGamma', 'DecFfnLnBeta'),
      t.linear(at('ffn.fc1.weight'), 'DecFfn1W', i, h, c.inter_size), t.vector(at('ffn.fc1.bias'), 'DecFfn1B', i, c.inter_size),
      t.linear(at('ffn.fc2.weight'), 'DecFfn2W', i, c.inter_size, h), t.vector(at('ffn.fc2.bias'), 'DecFfn2B', i, h),
    ];
  }).flat();
  return [
    ...layers,
    t.asIs('embedding.weight', 'Embedding', 0, [c.vocab, h]),
    t.vector('final_ln.weight', 'FinalLnGamma', 0, h),
    t.vector('final_ln.bias', 'FinalLnBeta', 0, h),
    t.linear('logits.weight', 'LogitsW', 0, h, c.vocab),
    t.vector('logits.bias', 'LogitsB', 0, c.vocab),
  ];
}

/** config.json of the point's model: a Hugging Face BERT config (encoder) or ftbench's decoding model's. */
export function checkpointConfig(c: PointConfig): Record<string, unknown> {
  const h = hiddenSize(c);
  if (c.path === 'encoder') {
    return {
      model_type: 'bert', architectures: ['BertModel'], hidden_size: h, num_hidden_layers: c.layers,
      num_attention_heads: c.heads, intermediate_size: c.inter_size, hidden_act: 'gelu_pytorch_tanh',
      layer_norm_eps: LAYER_NORM_EPS, vocab_size: 2, max_position_embeddings: Math.max(512, c.seq), type_vocab_size: 2,
      hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, torch_dtype: 'float32',
    };
  }
  return {
    model_type: 'ftbench-decoding', hidden_size: h, num_layers: c.layers, num_heads: c.heads, head_size: c.head_size,
    intermediate_size: c.inter_size, vocab_size: c.vocab, layer_norm_eps: LAYER_NORM_EPS, start_id: c.start_id,
    end_id: c.end_id, length_penalty: c.length_penalty, torch_dtype: 'float32',
  };
}

/** The model's tensors in the checkpoint's names and layouts (the decoder path writes the whole decoding model). */
export function modelTensors(addon: NativeAddon, c: PointConfig): TensorSource[] {
  const tensors = new EngineTensors(addon, engineConfig(c));
  return c.path === 'encoder' ? encoderTensors(tensors, c) : decodingTensors(tensors, c);
}

/**
 * The decoding path's sampling draws: u = random_unit(seed, SamplingDraw, t·batch + b), the
 * engine's Philox word (the addon's philox) turned into an odd multiple of 2^-24 as random_unit does,
 * so they equal the engine's draws exactly.
 */
export function samplingDraws(addon: NativeAddon, c: PointConfig): Float64Array {
  const draws = new Float64Array(c.seq * c.batch);
  const [seedLo, seedHi] = [c.seed % 2 ** 32, Math.floor(c.seed / 2 ** 32)];
  for (let index = 0; index < draws.length; index++) {
    const [word] = addon.philox(index % 2 ** 32, Math.floor(index / 2 ** 32), TensorId.SamplingDraw, 0, seedLo, seedHi);
    draws[index] = ((word >>> 8) | 1) * 2 ** -24;
  }
  return draws;
}

/** The point's inputs: the encoder's hidden states and lengths, or the memory (and the decoder's inputs, the draws). */
export function inputTensors(addon: NativeAddon, c: PointConfig): TensorSource[] {
  const native = engineConfig(c);
  const tensors = new EngineTensors(addon, native);
  const h = hiddenSize(c);
  const lengths = (id: TensorName, len: number) => Int32Array.from({ length: c.batch }, (_, b) => addon.sequenceLength(native, TensorId[id], b, len));
  if (c.path === 'encoder') {
    return [tensors.asIs('encoder_input', 'EncoderInput', 0, [c.batch, c.seq, h]), arrayTensor('encoder_lengths', [c.batch], lengths('EncoderLengths', c.seq))];
  }
  const memLen = memoryLength(c);
  return [
    tensors.asIs('memory', 'Memory', 0, [c.batch, memLen, h]),
    arrayTensor('memory_lengths', [c.batch], lengths('MemoryLengths', memLen)),
    ...(c.path === 'decoder' ? [tensors.asIs('decoder_input', 'DecoderInput', 0, [c.seq, c.batch * c.beam, h])] : []),
    ...(c.path === 'decoding' && isSampling(c) ? [arrayTensor('sampling_draws', [c.seq * c.batch], samplingDraws(addon, c))] : []),
  ];
}

/** What the model's files depend on: its weights (dims, seed) and what config.json says. */
const modelKey = (c: PointConfig): string => JSON.stringify(checkpointConfig(c)) + ` seed=${c.seed}`;

/** What the inputs depend on. */
const inputsKey = (c: PointConfig): string =>
  JSON.stringify([c.path, c.heads, c.head_size, c.batch, c.beam, c.seq, c.mem_len, c.full_length, c.seed, isSampling(c)]);

/**
 * The checkpoint directories of a point worker's peers, under `root`: one model at a time (a sweep
 * runs many points of one model: its weights are written once, its inputs when they change).
 */
export class CheckpointStore {
  private current: { dir: string; model: string; inputs?: string } | undefined;

  constructor(private readonly addon: NativeAddon, private readonly root: string) {}

  /** The directory holding `config`'s model and inputs, writing what is not there yet. */
  prepare(config: PointConfig): string {
    const model = modelKey(config);
    if (this.current?.model !== model) {
      if (this.current) fs.rmSync(this.current.dir, { recursive: true, force: true });
      this.current = undefined;
      const dir = path.join(this.root, `model-${crypto.createHash('sha256').update(model).digest('hex').slice(0, 16)}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(checkpointConfig(config), null, 2)}\n`);
      writeSafetensors(path.join(dir, 'model.safetensors'), modelTensors(this.addon, config), METADATA);
      this.current = { dir, model };
    }
    const inputs = inputsKey(config);
    if (this.current.inputs !== inputs) {
      this.current.inputs = undefined;
      writeSafetensors(path.join(this.current.dir, 'inputs.safetensors'), inputTensors(this.addon, config), METADATA);
      this.current.inputs = inputs;
    }
    return this.current.dir;
  }
}
