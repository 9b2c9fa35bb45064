// An independent float64 implementation of native/MODEL.md on tiny shapes: the check on the CPU
// reference engine. Only the weights and inputs come from the addon (so both run on identical
// values); the math is written here from the spec, with no rounding to fp32.
import { loadAddon, TensorId, type NativeConfig } from '../../src/engine/native.js';
import { randomUnit, streamOf } from './philox.js';

type Vector = number[];
type Matrix = Vector[];
type TensorName = keyof typeof TensorId;

export const hiddenOf = (c: NativeConfig): number => c.heads * c.head_size;
export const memoryLenOf = (c: NativeConfig): number => (c.mem_len > 0 ? c.mem_len : c.seq);

function values(c: NativeConfig, name: TensorName, layer: number, count: number): Vector {
  return Array.from(loadAddon().tensor(c, TensorId[name], layer, count));
}

function matrix(c: NativeConfig, name: TensorName, layer: number, rows: number, cols: number): Matrix {
  const flat = values(c, name, layer, rows * cols);
  return Array.from({ length: rows }, (_, i) => flat.slice(i * cols, (i + 1) * cols));
}

/** Generated lengths of the batch's sequences (EncoderLengths or MemoryLengths). */
export function lengthsOf(c: NativeConfig, name: 'EncoderLengths' | 'MemoryLengths', len: number): number[] {
  return Array.from({ length: c.batch }, (_, b) => loadAddon().sequenceLength(c, TensorId[name], b, len));
}

// ---- common pieces ----

interface Dense {
  w: Matrix; // [in][out]
  b: Vector;
}

interface LayerNormParams {
  gamma: Vector;
  beta: Vector;
}

function dense(c: NativeConfig, w: TensorName, b: TensorName, layer: number, inputs: number, outputs: number): Dense {
  return { w: matrix(c, w, layer, inputs, outputs), b: values(c, b, layer, outputs) };
}

function layerNormParams(c: NativeConfig, gamma: TensorName, beta: TensorName, layer: number): LayerNormParams {
  return { gamma: values(c, gamma, layer, hiddenOf(c)), beta: values(c, beta, layer, hiddenOf(c)) };
}

function apply(layer: Dense, x: Matrix): Matrix {
  return x.map((row) =>
    layer.b.map((bias, j) => row.reduce((sum, value, k) => sum + value * layer.w[k]![j]!, bias)),
  );
}

/** LayerNorm of each row, biased variance, eps 1e-6 unless a checkpoint sets another. */
export function layerNorm(p: LayerNormParams, x: Matrix, eps = 1e-6): Matrix {
  return x.map((row) => {
    const mean = row.reduce((s, v) => s + v, 0) / row.length;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length;
    return row.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * p.gamma[i]! + p.beta[i]!);
  });
}

export const addRows = (x: Matrix, y: Matrix): Matrix => x.map((row, i) => row.map((v, j) => v + y[i]![j]!));
export const gelu = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const relu = (v: number): number => Math.max(v, 0);
const columns = (x: Matrix, from: number, to: number): Matrix => x.map((row) => row.slice(from, to));

/** Multi-head attention of one query over keys/values [count][h]: per head softmax(q·kᵀ/√d)·v. */
export function attention(q: Vector, keys: Matrix, vals: Matrix, heads: number, headSize: number): Vector {
  const out: Vector = [];
  for (let head = 0; head < heads; head += 1) {
    const lo = head * headSize;
    const scores = keys.map((k) => {
      let dot = 0;
      for (let d = 0; d < headSize; d += 1) dot += q[lo + d]! * k[lo + d]!;
      return dot / Math.sqrt(headSize);
    });
    const max = Math.max(...scores);
    const weights = scores.map((s) => Math.exp(s - max));
    const total = weights.reduce((s, w) => s + w, 0);
    for (let d = 0; d < headSize; d += 1) {
      out.push(weights.reduce((s, w, j) => s + (w / total) * vals[j]![lo + d]!, 0));
    }
  }
  return out;
}

// ---- encoder ----

/** Encoder output [batch][seq][h] (rows past a sequence's length are 0) and the lengths. */
export function referenceEncoder(c: NativeConfig): { hidden: Matrix[]; lengths: number[] } {
  const h = hiddenOf(c);
  const input = matrix(c, 'EncoderInput', 0, c.batch * c.seq, h);
  const lengths = lengthsOf(c, 'EncoderLengths', c.seq);
  const hidden = lengths.map((len, b) => {
    // Every position runs through the layers with keys ≥ len masked; rows ≥ len are dropped at the end.
    let x = input.slice(b * c.seq, (b + 1) * c.seq);
    for (let layer = 0; layer < c.layers; layer += 1) x = encoderLayer(c, layer, x, len);
    return x.map((row, i) => (i < len ? row : row.map(() => 0)));
  });
  return { hidden, lengths };
}

function encoderLayer(c: NativeConfig, layer: number, x: Matrix, len: number): Matrix {
  const h = hiddenOf(c);
  const qkv = apply(dense(c, 'EncQkvW', 'EncQkvB', layer, h, 3 * h), x);
  const keys = columns(qkv, h, 2 * h).slice(0, len);
  const vals = columns(qkv, 2 * h, 3 * h).slice(0, len);
  const attended = columns(qkv, 0, h).map((q) => attention(q, keys, vals, c.heads, c.head_size));
  const attnOut = apply(dense(c, 'EncAttnOutW', 'EncAttnOutB', layer, h, h), attended);
  x = layerNorm(layerNormParams(c, 'EncAttnLnGamma', 'EncAttnLnBeta', layer), addRows(x, attnOut));
  const inner = apply(dense(c, 'EncFfn1W', 'EncFfn1B', layer, h, c.inter_size), x).map((row) => row.map(gelu));
  const ffnOut = apply(dense(c, 'EncFfn2W', 'EncFfn2B', layer, c.inter_size, h), inner);
  return layerNorm(layerNormParams(c, 'EncFfnLnGamma', 'EncFfnLnBeta', layer), addRows(x, ffnOut));
}

// ---- decoder ----

interface DecoderLayerParams {
  selfLn: LayerNormParams;
  selfQkv: Dense;
  selfOut: Dense;
  crossLn: LayerNormParams;
  crossQ: Dense;
  crossKv: Dense;
  crossOut: Dense;
  ffnLn: LayerNormParams;
  ffn1: Dense;
  ffn2: Dense;
}

function decoderLayerParams(c: NativeConfig, layer: number): DecoderLayerParams {
  const h = hiddenOf(c);
  return {
    selfLn: layerNormParams(c, 'DecSelfLnGamma', 'DecSelfLnBeta', layer),
    selfQkv: dense(c, 'DecSelfQkvW', 'DecSelfQkvB', layer, h, 3 * h),
    selfOut: dense(c, 'DecSelfOutW', 'DecSelfOutB', layer, h, h),
    crossLn: layerNormParams(c, 'DecCrossLnGamma', 'DecCrossLnBeta', layer),
    crossQ: dense(c, 'DecCrossQW', 'DecCrossQB', layer, h, h),
    crossKv: dense(c, 'DecCrossKvW', 'DecCrossKvB', layer, h, 2 * h),
    crossOut: dense(c, 'DecCrossOutW', 'DecCrossOutB', layer, h, h),
    ffnLn: layerNormParams(c, 'DecFfnLnGamma', 'DecFfnLnBeta', layer),
    ffn1: dense(c, 'DecFfn1W', 'DecFfn1B', layer, h, c.inter_size),
    ffn2: dense(c, 'DecFfn2W', 'DecFfn2B', layer, c.inter_size, h),
  };
}

/** Pre-LN decoder layers with a self-attention cache per row and memory K/V per sentence. */
export class ReferenceDecoderStack {
  readonly memoryLengths: number[];
  private readonly layers: DecoderLayerParams[];
  private readonly memory: { keys: Matrix; vals: Matrix }[][]; // [layer][sentence], valid rows only
  private cache: { keys: Matrix; vals: Matrix }[][]; // [layer][row]: one entry per step so far

  constructor(private readonly c: NativeConfig) {
    const h = hiddenOf(c);
    const memLen = memoryLenOf(c);
    const memory = matrix(c, 'Memory', 0, c.batch * memLen, h);
    this.memoryLengths = lengthsOf(c, 'MemoryLengths', memLen);
    this.layers = Array.from({ length: c.layers }, (_, layer) => decoderLayerParams(c, layer));
    this.memory = this.layers.map((p) =>
      this.memoryLengths.map((len, b) => {
        const kv = apply(p.crossKv, memory.slice(b * memLen, b * memLen + len));
        return { keys: columns(kv, 0, h), vals: columns(kv, h, 2 * h) };
      }),
    );
    this.cache = this.layers.map(() => Array.from({ length: c.batch * c.beam }, () => ({ keys: [], vals: [] })));
  }

  /** One step over rows x [batch·beam][h]. */
  step(x: Matrix): Matrix {
    this.layers.forEach((p, layer) => {
      x = this.selfBlock(p, layer, x);
      x = this.crossBlock(p, layer, x);
      const inner = apply(p.ffn1, layerNorm(p.ffnLn, x)).map((row) => row.map(relu));
      x = addRows(x, apply(p.ffn2, inner));
    });
    return x;
  }

  /** Row r continues the caches of row parentRows[r] (absolute rows). */
  reorder(parentRows: number[]): void {
    this.cache = this.cache.map((rows) =>
      parentRows.map((parent) => ({ keys: [...rows[parent]!.keys], vals: [...rows[parent]!.vals] })),
    );
  }

  private selfBlock(p: DecoderLayerParams, layer: number, x: Matrix): Matrix {
    const h = hiddenOf(this.c);
    const qkv = apply(p.selfQkv, layerNorm(p.selfLn, x));
    const attended = qkv.map((row, r) => {
      const cache = this.cache[layer]![r]!;
      cache.keys.push(row.slice(h, 2 * h));
      cache.vals.push(row.slice(2 * h, 3 * h));
      return attention(row.slice(0, h), cache.keys, cache.vals, this.c.heads, this.c.head_size);
    });
    return addRows(x, apply(p.selfOut, attended));
  }

  private crossBlock(p: DecoderLayerParams, layer: number, x: Matrix): Matrix {
    const q = apply(p.crossQ, layerNorm(p.crossLn, x));
    const attended = q.map((row, r) => {
      const memory = this.memory[layer]![Math.floor(r / this.c.beam)]!;
      return attention(row, memory.keys, memory.vals, this.c.heads, this.c.head_size);
    });
    return addRows(x, apply(p.crossOut, attended));
  }
}

/** The decoder path: `seq` steps fed DecoderInput[t]; the last step's output [batch·beam][h]. */
export function referenceDecoder(c: NativeConfig): { hidden: Matrix; memoryLengths: number[] } {
  const rows = c.batch * c.beam;
  const h = hiddenOf(c);
  const input = matrix(c, 'DecoderInput', 0, c.seq * rows, h);
  const stack = new ReferenceDecoderStack(c);
  let x: Matrix = [];
  for (let t = 0; t < c.seq; t += 1) x = stack.step(input.slice(t * rows, (t + 1) * rows));
  return { hidden: x, memoryLengths: stack.memoryLengths };
}

// ---- decoding ----

export interface DecodingResult {
  outputIds: number[][]; // [batch·beam][steps], beams of a sentence sorted by score
  lengths: number[];
  cumLogProbs: number[];
  scores: number[];
  stepIds: number[][]; // [steps][batch·beam]
  parentIds: number[][];
  stepsRun: number;
}

interface RowState {
  cum: number;
  finished: boolean;
  length: number;
  id: number;
}

/** Tokens of every final row [rows][steps], following parent ids back from the last step. */
export function gatherTree(stepIds: number[][], parentIds: number[][], beam: number): number[][] {
  const rows = stepIds[0]?.length ?? 0;
  return Array.from({ length: rows }, (_, r) => {
    const first = r - (r % beam);
    const tokens: number[] = [];
    for (let t = stepIds.length - 1, row = r; t >= 0; t -= 1) {
      tokens.unshift(stepIds[t]![row]!);
      row = first + parentIds[t]![row]!;
    }
    return tokens;
  });
}

/** The decoding path (greedy, beam search or sampling) with float64 logits and scores. */
export function referenceDecoding(c: NativeConfig): DecodingResult {
  const h = hiddenOf(c);
  const rows = c.batch * c.beam;
  const embedding = matrix(c, 'Embedding', 0, c.vocab, h);
  const finalLn = layerNormParams(c, 'FinalLnGamma', 'FinalLnBeta', 0);
  const logitsLayer = dense(c, 'LogitsW', 'LogitsB', 0, h, c.vocab);
  const stack = new ReferenceDecoderStack(c);
  const sampling = c.beam === 1 && (c.top_k > 0 || c.top_p > 0);
  let state: RowState[] = Array.from({ length: rows }, (_, r) => ({
    cum: r % c.beam === 0 ? 0 : -Infinity,
    finished: false,
    length: 0,
    id: c.start_id,
  }));
  const stepIds: number[][] = [];
  const parentIds: number[][] = [];
  for (let t = 0; t < c.seq; t += 1) {
    const x = state.map((row) => embedding[row.id]!.map((e, i) => e * Math.sqrt(h) + positionEncoding(t, i, h)));
    const logits = apply(logitsLayer, layerNorm(finalLn, stack.step(x)));
    const next = sampling ? sampleStep(c, t, logits, state) : beamStep(c, logits, state);
    if (!sampling) stack.reorder(next.parents.map((j, r) => r - (r % c.beam) + j));
    state = next.state;
    stepIds.push(state.map((row) => row.id));
    parentIds.push(next.parents);
    if (c.stop_at_end && state.every((row) => row.finished)) break;
  }
  return finish(c, state, stepIds, parentIds);
}

function positionEncoding(t: number, i: number, h: number): number {
  const half = Math.floor(h / 2);
  const d = Math.max(half, 1);
  return i < half ? Math.sin(t / 10000 ** (i / d)) : Math.cos(t / 10000 ** ((i - half) / d));
}

function logSoftmax(logits: Vector): Vector {
  const max = Math.max(...logits);
  const logTotal = max + Math.log(logits.reduce((s, l) => s + Math.exp(l - max), 0));
  return logits.map((l) => l - logTotal);
}

interface StepResult {
  state: RowState[];
  parents: number[];
}

/** Beam search: every candidate of the sentence ranked by (score desc, j·vocab + v asc). */
function beamStep(c: NativeConfig, logits: Matrix, state: RowState[]): StepResult {
  const next: StepResult = { state: [], parents: [] };
  for (let b = 0; b < c.batch; b += 1) {
    const candidates: { score: number; index: number }[] = [];
    for (let j = 0; j < c.beam; j += 1) {
      const row = state[b * c.beam + j]!;
      if (row.finished) {
        candidates.push({ score: row.cum, index: j * c.vocab + c.end_id });
        continue;
      }
      logSoftmax(logits[b * c.beam + j]!).forEach((lp, v) => {
        candidates.push({ score: row.cum + lp, index: j * c.vocab + v });
      });
    }
    candidates.sort((x, y) => (x.score > y.score ? -1 : x.score < y.score ? 1 : x.index - y.index));
    for (const { score, index } of candidates.slice(0, c.beam)) {
      const j = Math.floor(index / c.vocab);
      const v = index % c.vocab;
      const parent = state[b * c.beam + j]!;
      next.state.push({
        cum: score,
        finished: parent.finished || v === c.end_id,
        length: parent.length + (parent.finished ? 0 : 1),
        id: v,
      });
      next.parents.push(j);
    }
  }
  return next;
}

/** Sampling (beam 1): top-k / top-p over logits sorted descending, the engine's Philox draw. */
function sampleStep(c: NativeConfig, t: number, logits: Matrix, state: RowState[]): StepResult {
  const rows = state.map((row, b) => {
    if (row.finished) return { ...row, id: c.end_id };
    const ranked = logits[b]!.map((logit, id) => ({ logit, id })).sort((x, y) => y.logit - x.logit || x.id - y.id);
    const candidates = c.top_k > 0 ? ranked.slice(0, c.top_k) : ranked;
    const p = candidates.map(({ logit }) => Math.exp((logit - candidates[0]!.logit) / Math.fround(c.temperature)));
    const total = p.reduce((s, v) => s + v, 0);
    let kept = p.length;
    if (c.top_p > 0) {
      let mass = 0;
      const reached = p.findIndex((v) => (mass += v) / total >= Math.fround(c.top_p));
      if (reached >= 0) kept = reached + 1;
    }
    const keptTotal = p.slice(0, kept).reduce((s, v) => s + v, 0);
    const threshold = randomUnit(c.seed, streamOf(TensorId.SamplingDraw), t * c.batch + b) * keptTotal;
    let prefix = 0;
    const found = p.slice(0, kept).findIndex((v) => (prefix += v) > threshold);
    const pick = found < 0 ? kept - 1 : found;
    const id = candidates[pick]!.id;
    return { cum: row.cum + Math.log(p[pick]! / keptTotal), finished: id === c.end_id, length: row.length + 1, id };
  });
  return { state: rows, parents: rows.map(() => 0) };
}

function finish(c: NativeConfig, state: RowState[], stepIds: number[][], parentIds: number[][]): DecodingResult {
  const gathered = gatherTree(stepIds, parentIds, c.beam);
  const scores = state.map((row) => row.cum / ((5 + row.length) / 6) ** Math.fround(c.length_penalty));
  const order = Array.from({ length: c.batch }, (_, b) =>
    Array.from({ length: c.beam }, (_, i) => b * c.beam + i).sort((x, y) => scores[y]! - scores[x]! || x - y),
  ).flat();
  return {
    outputIds: order.map((r) => gathered[r]!),
    lengths: order.map((r) => state[r]!.length),
    cumLogProbs: order.map((r) => state[r]!.cum),
    scores: order.map((r) => scores[r]!),
    stepIds,
    parentIds,
    stepsRun: stepIds.length,
  };
}
