// An independent float64 implementation of what Hugging Face's BertModel / RobertaModel /
// DistilBertModel compute (last_hidden_state), straight from the checkpoint's own tensors in their
// own layout ([out, in] Linear weights, separate q/k/v): the check on the loader's name mapping and
// layout conversion and on the CPU backend's embedding layer, erf GELU and LayerNorm eps.
import { addRows, attention, gelu, layerNorm } from './reference.js';
import type { Fixture, FixtureTensor } from './checkpoint-fixtures.js';

type Matrix = number[][];

const rows = (t: FixtureTensor): Matrix => {
  const cols = t.shape.at(-1)!;
  return Array.from({ length: t.values.length / cols }, (_, r) => Array.from(t.values.subarray(r * cols, (r + 1) * cols)));
};

/** y = x · Wᵀ + b with W [out, in] (nn.Linear). */
function linear(tensors: Record<string, FixtureTensor>, name: string, x: Matrix): Matrix {
  const w = rows(tensors[`${name}.weight`]);
  const b = Array.from(tensors[`${name}.bias`].values);
  return x.map((row) => w.map((wj, j) => row.reduce((sum, v, k) => sum + v * wj[k], b[j])));
}

const norm = (tensors: Record<string, FixtureTensor>, name: string, x: Matrix, eps: number): Matrix =>
  layerNorm({ gamma: Array.from(tensors[`${name}.weight`].values), beta: Array.from(tensors[`${name}.bias`].values) }, x, eps);

const geluErf = (v: number): number => 0.5 * v * (1 + erf(v / Math.SQRT2));

/** erf to ~1e-16 by its Maclaurin series (|x| < 3) or the continued fraction of erfc. */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let fraction = 0;
  for (let n = 60; n >= 1; n--) fraction = (n / 2) / (a + fraction);
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + fraction));
}

interface Names { q: string; k: string; v: string; out: string; ln1: string; ffn1: string; ffn2: string; ln2: string }

function layerNames(family: string, l: number): Names {
  if (family === 'distilbert') {
    const b = `transformer.layer.${l}`;
    return { q: `${b}.attention.q_lin`, k: `${b}.attention.k_lin`, v: `${b}.attention.v_lin`, out: `${b}.attention.out_lin`,
      ln1: `${b}.sa_layer_norm`, ffn1: `${b}.ffn.lin1`, ffn2: `${b}.ffn.lin2`, ln2: `${b}.output_layer_norm` };
  }
  const b = `encoder.layer.${l}`;
  return { q: `${b}.attention.self.query`, k: `${b}.attention.self.key`, v: `${b}.attention.self.value`, out: `${b}.attention.output.dense`,
    ln1: `${b}.attention.output.LayerNorm`, ffn1: `${b}.intermediate.dense`, ffn2: `${b}.output.dense`, ln2: `${b}.output.LayerNorm` };
}

/** last_hidden_state of one sequence [seq][h] for its ids, the first `length` tokens attended; rows past it zeroed. */
export function hfEncoder(fixture: Fixture, ids: number[], length: number): Matrix {
  const c = fixture.config;
  const t = fixture.tensors;
  const family = String(c.model_type);
  const eps = family === 'distilbert' ? 1e-12 : Number(c.layer_norm_eps);
  const act = String(c.hidden_act ?? c.activation) === 'gelu' ? geluErf : gelu;
  const heads = Number(c.num_attention_heads ?? c.n_heads);
  const layers = Number(c.num_hidden_layers ?? c.n_layers);
  const offset = family === 'roberta' ? Number(c.pad_token_id) + 1 : 0;
  const word = rows(t['embeddings.word_embeddings.weight']);
  const position = rows(t['embeddings.position_embeddings.weight']);
  const tokenType = t['embeddings.token_type_embeddings.weight'] ? rows(t['embeddings.token_type_embeddings.weight'])[0] : undefined;
  let x = ids.map((id, s) => word[id].map((v, j) => v + position[s + offset][j] + (tokenType ? tokenType[j] : 0)));
  x = norm(t, 'embeddings.LayerNorm', x, eps);
  const headSize = x[0].length / heads;
  for (let l = 0; l < layers; l++) {
    const n = layerNames(family, l);
    const keys = linear(t, n.k, x).slice(0, length);
    const values = linear(t, n.v, x).slice(0, length);
    const attended = linear(t, n.q, x).map((q) => attention(q, keys, values, heads, headSize));
    x = norm(t, n.ln1, addRows(x, linear(t, n.out, attended)), eps);
    const inner = linear(t, n.ffn1, x).map((row) => row.map(act));
    x = norm(t, n.ln2, addRows(x, linear(t, n.ffn2, inner)), eps);
  }
  return x.map((row, s) => (s < length ? row : row.map(() => 0)));
}
