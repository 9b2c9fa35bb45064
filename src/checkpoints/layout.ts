// The tensor names of each BERT-family checkpoint and their conversion to the engine's layouts
// (native/src/common/checkpoint.h): Hugging Face's nn.Linear weights are [out, in] and the engine's
// GEMM weights [in, out]; the engine's qkv weight is q | k | v side by side by columns ([h, 3h]).
// Heads (classifier.*, pooler.*, lm_head.*) are not read.
import type { EncoderSpec } from './hf-config.js';

/** A Linear's or LayerNorm's Hugging Face name (without .weight / .bias) in one layer. */
interface LayerNames {
  q: string; k: string; v: string; attnOut: string; attnLn: string; ffn1: string; ffn2: string; ffnLn: string;
}

function layerNames(family: EncoderSpec['family'], layer: number): LayerNames {
  if (family === 'distilbert') {
    const base = `transformer.layer.${layer}`;
    return {
      q: `${base}.attention.q_lin`, k: `${base}.attention.k_lin`, v: `${base}.attention.v_lin`, attnOut: `${base}.attention.out_lin`,
      attnLn: `${base}.sa_layer_norm`, ffn1: `${base}.ffn.lin1`, ffn2: `${base}.ffn.lin2`, ffnLn: `${base}.output_layer_norm`,
    };
  }
  const base = `encoder.layer.${layer}`;
  return {
    q: `${base}.attention.self.query`, k: `${base}.attention.self.key`, v: `${base}.attention.self.value`,
    attnOut: `${base}.attention.output.dense`, attnLn: `${base}.attention.output.LayerNorm`,
    ffn1: `${base}.intermediate.dense`, ffn2: `${base}.output.dense`, ffnLn: `${base}.output.LayerNorm`,
  };
}

/** The family prefix of a base model's names inside a model with a head ("bert.", "roberta.", "distilbert."). */
export const familyPrefix = (family: EncoderSpec['family']): string => (family === 'xlm-roberta' ? 'roberta.' : `${family}.`);

/** A tensor the engine needs: its Hugging Face name (unprefixed) and the shape config.json implies. */
export interface Needed {
  name: string;
  shape: number[];
}

/** Old BERT checkpoints name LayerNorm parameters gamma / beta; today's weight / bias. */
export const LEGACY_NORM_NAMES: Record<string, string> = { weight: 'gamma', bias: 'beta' };

/** Every tensor the engine reads, with the shape config.json implies. */
export function neededTensors(spec: EncoderSpec): Needed[] {
  const h = spec.hidden;
  const linear = (name: string, out: number, inp: number): Needed[] => [
    { name: `${name}.weight`, shape: [out, inp] }, { name: `${name}.bias`, shape: [out] },
  ];
  const norm = (name: string): Needed[] => [{ name: `${name}.weight`, shape: [h] }, { name: `${name}.bias`, shape: [h] }];
  const needed: Needed[] = [
    { name: 'embeddings.word_embeddings.weight', shape: [spec.vocab, h] },
    { name: 'embeddings.position_embeddings.weight', shape: [spec.max_positions, h] },
    ...(spec.type_vocab > 0 ? [{ name: 'embeddings.token_type_embeddings.weight', shape: [spec.type_vocab, h] }] : []),
    ...norm('embeddings.LayerNorm'),
  ];
  for (let layer = 0; layer < spec.layers; layer++) {
    const n = layerNames(spec.family, layer);
    needed.push(
      ...linear(n.q, h, h), ...linear(n.k, h, h), ...linear(n.v, h, h), ...linear(n.attnOut, h, h), ...norm(n.attnLn),
      ...linear(n.ffn1, spec.inter_size, h), ...linear(n.ffn2, h, spec.inter_size), ...norm(n.ffnLn),
    );
  }
  return needed;
}

/** w [rows, cols] -> [cols, rows], written into `out` at column offset `column` of rows `width` wide. */
function transposeInto(w: Float32Array, rows: number, cols: number, out: Float32Array, width: number, column: number): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * width + column + r] = w[r * cols + c];
  }
}

const transposed = (w: Float32Array, rows: number, cols: number): Float32Array => {
  const out = new Float32Array(w.length);
  transposeInto(w, rows, cols, out, rows, 0);
  return out;
};

/** Engine tensors (native/src/common/checkpoint.h names) from the Hugging Face ones; `read` gives a tensor by unprefixed name. */
export function engineTensors(spec: EncoderSpec, read: (name: string) => Float32Array): Record<string, Float32Array> {
  const h = spec.hidden;
  const tensors: Record<string, Float32Array> = {
    'embeddings.word': read('embeddings.word_embeddings.weight'),
    'embeddings.position': read('embeddings.position_embeddings.weight'),
    'embeddings.ln_gamma': read('embeddings.LayerNorm.weight'),
    'embeddings.ln_beta': read('embeddings.LayerNorm.bias'),
  };
  if (spec.type_vocab > 0) tensors['embeddings.token_type'] = read('embeddings.token_type_embeddings.weight');
  for (let layer = 0; layer < spec.layers; layer++) {
    const n = layerNames(spec.family, layer);
    const prefix = `layer.${layer}.`;
    const qkv = new Float32Array(h * 3 * h);
    [n.q, n.k, n.v].forEach((name, part) => transposeInto(read(`${name}.weight`), h, h, qkv, 3 * h, part * h));
    const qkvBias = new Float32Array(3 * h);
    [n.q, n.k, n.v].forEach((name, part) => qkvBias.set(read(`${name}.bias`), part * h));
    Object.assign(tensors, {
      [`${prefix}qkv_w`]: qkv,
      [`${prefix}qkv_b`]: qkvBias,
      [`${prefix}attn_out_w`]: transposed(read(`${n.attnOut}.weight`), h, h),
      [`${prefix}attn_out_b`]: read(`${n.attnOut}.bias`),
      [`${prefix}attn_ln_gamma`]: read(`${n.attnLn}.weight`),
      [`${prefix}attn_ln_beta`]: read(`${n.attnLn}.bias`),
      [`${prefix}ffn1_w`]: transposed(read(`${n.ffn1}.weight`), spec.inter_size, h),
      [`${prefix}ffn1_b`]: read(`${n.ffn1}.bias`),
      [`${prefix}ffn2_w`]: transposed(read(`${n.ffn2}.weight`), h, spec.inter_size),
      [`${prefix}ffn2_b`]: read(`${n.ffn2}.bias`),
      [`${prefix}ffn_ln_gamma`]: read(`${n.ffnLn}.weight`),
      [`${prefix}ffn_ln_beta`]: read(`${n.ffnLn}.bias`),
    });
  }
  return tensors;
}
