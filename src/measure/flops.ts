// Analytic work counts of one unit of work (what model.measure() times): an encoder forward, `seq`
// decoder steps, or a whole decoding of `steps` steps. FLOPs (flopCount, and stageFlops by the
// engine stages of a kernel trace) and the fewest bytes of device memory the unit must move (bytesMoved).
//
// Counted: matrix products only, at 2·m·n·k each (one multiply and one add per term), on the
// configured (padded) shapes: batch·seq encoder tokens and mem_len memory positions, as
// FasterTransformer reports them, so a variant that skips padding shows a higher effective rate.
// Not counted: bias adds, LayerNorm, softmax, GELU/ReLU, embedding lookup, beam search / sampling
// (each O(elements), small next to the GEMMs at these sizes).
import { hiddenSize, type PointConfig } from '../engine/config.js';

type FlopConfig = Pick<PointConfig, 'path' | 'layers' | 'heads' | 'head_size' | 'inter_size' | 'vocab' | 'batch' | 'beam' | 'seq' | 'mem_len'>;
type BytesConfig = FlopConfig & Pick<PointConfig, 'precision'>;

const gemm = (m: number, n: number, k: number): number => 2 * m * n * k;

/** Adds `flops` to `stage` of `into`. */
function add(into: Record<string, number>, stage: string, flops: number): void {
  into[stage] = (into[stage] ?? 0) + flops;
}

/** The encoder's stages, `layers` post-LN BERT layers over batch sequences of `seq` tokens (hidden h, inter I). */
function encoderStages(c: FlopConfig): Record<string, number> {
  const h = hiddenSize(c);
  const tokens = c.batch * c.seq;
  const stages: Record<string, number> = {};
  add(stages, 'qkv_gemm', c.layers * gemm(tokens, 3 * h, h)); // QKV projection
  // Scores Q·Kᵀ and probabilities · V per sequence and head.
  add(stages, 'attention', c.layers * c.batch * c.heads * (gemm(c.seq, c.seq, c.head_size) + gemm(c.seq, c.head_size, c.seq)));
  add(stages, 'attn_out_gemm', c.layers * gemm(tokens, h, h)); // attention output projection
  add(stages, 'ffn1_gemm_gelu', c.layers * gemm(tokens, c.inter_size, h));
  add(stages, 'ffn2_gemm', c.layers * gemm(tokens, h, c.inter_size));
  return stages;
}

/**
 * The pre-LN decoder stack's stages over `steps` steps of `rows` = batch·beam rows (step t attends to
 * t + 1 cached keys), with the cross-attention memory K/V computed once (step 0) per sentence.
 */
function decoderStages(c: FlopConfig, steps: number): Record<string, number> {
  const h = hiddenSize(c);
  const rows = c.batch * c.beam;
  const perLayer = (flops: number) => c.layers * flops;
  const stages: Record<string, number> = {};
  add(stages, 'memory_kv', perLayer(gemm(c.batch * c.mem_len, 2 * h, h)));
  for (let t = 0; t < steps; t++) {
    add(stages, 'qkv_gemm', perLayer(gemm(rows, 3 * h, h))); // self-attention QKV of the new token
    // q·Kᵀ over the t + 1 cached keys and probabilities · V.
    add(stages, 'self_attention', perLayer(rows * c.heads * (gemm(1, t + 1, c.head_size) + gemm(1, c.head_size, t + 1))));
    add(stages, 'self_out_gemm', perLayer(gemm(rows, h, h)));
    add(stages, 'cross_q_gemm', perLayer(gemm(rows, h, h)));
    // q·memKᵀ over the memory and probabilities · memV.
    add(stages, 'cross_attention', perLayer(rows * c.heads * (gemm(1, c.mem_len, c.head_size) + gemm(1, c.head_size, c.mem_len))));
    add(stages, 'cross_out_gemm', perLayer(gemm(rows, h, h)));
    add(stages, 'ffn1_gemm_relu', perLayer(gemm(rows, c.inter_size, h)));
    add(stages, 'ffn2_gemm', perLayer(gemm(rows, h, c.inter_size)));
  }
  return stages;
}

/**
 * Trace stages that stand for several of stageFlops' stages: the persistent decoder kernel runs a
 * step's whole layer stack under one stage (native/src/cuda/models/decoder_stack.cc).
 */
export const COMPOSITE_STAGES: Readonly<Record<string, readonly string[]>> = {
  decoder_layers: ['qkv_gemm', 'self_attention', 'self_out_gemm', 'cross_q_gemm', 'cross_attention', 'cross_out_gemm',
    'ffn1_gemm_relu', 'ffn2_gemm'],
};

/**
 * FLOPs of one unit of work by engine stage: the stage names of `--profile-kernels` traces
 * (native/src/cuda/models), so a stage's time gives its own TFLOP/s. `steps` as flopCount's.
 */
export function stageFlops(c: FlopConfig, steps = c.seq): Record<string, number> {
  switch (c.path) {
    case 'encoder':
      return encoderStages(c);
    case 'decoder':
      return decoderStages(c, c.seq);
    case 'decoding': {
      // Plus the logits GEMM of every step: rows × vocab × h.
      const stages = decoderStages(c, steps);
      add(stages, 'logits_gemm', steps * gemm(c.batch * c.beam, c.vocab, hiddenSize(c)));
      return stages;
    }
  }
}

/**
 * FLOPs of one unit of work. `steps` is the decoding steps actually run (fewer than `seq` only
 * with stop_at_end); it defaults to `seq`.
 */
export function flopCount(c: FlopConfig, steps = c.seq): number {
  return Object.values(stageFlops(c, steps)).reduce((sum, flops) => sum + flops, 0);
}

// ---------------------------------------------------------------------------------------------
// Bytes: the floor of device-memory traffic (METHOD.md's "fewest bytes"): every weight read once
// per unit (per step for the decoder), the unit's input read and output written once, and the
// caches attention must read; intermediates that could stay on chip are not counted. Element size
// by precision: 4 bytes fp32/tf32, 2 fp16/bf16; fp8 1 for the layer GEMMs' weights and the decoding's
// logits weights (stored E4M3) and 2 for everything else (fp16: caches, activations, biases). Padded shapes, as for the FLOPs.

const elementBytes = (c: BytesConfig): number => (c.precision === 'fp16' || c.precision === 'bf16' || c.precision === 'fp8' ? 2 : 4);

/**
 * The GEMM weight elements an fp8 point reads as 1 byte each, not 2: the encoder's layer GEMMs once;
 * the decoder's (decoderLayerWeights' 8h² + 2h·inter) and the decoding's logits every one of `steps`.
 */
function fp8WeightElements(c: BytesConfig, steps: number): number {
  if (c.precision !== 'fp8') return 0;
  const h = hiddenSize(c);
  if (c.path === 'encoder') return c.layers * (4 * h * h + 2 * h * c.inter_size);
  return steps * (c.layers * (8 * h * h + 2 * h * c.inter_size) + (c.path === 'decoding' ? h * c.vocab : 0));
}

/** Weights of one encoder layer: QKV, out, FFN1, FFN2 (+ biases, + 2 LayerNorms). */
function encoderLayerWeights(c: FlopConfig): number {
  const h = hiddenSize(c);
  return 4 * h * h + 2 * h * c.inter_size + 3 * h + h + c.inter_size + h + 4 * h;
}

/** Weights of one decoder layer: self QKV + out, cross Q + KV + out, FFN1, FFN2 (+ biases, 3 LayerNorms). */
function decoderLayerWeights(c: FlopConfig): number {
  const h = hiddenSize(c);
  return 6 * h * h + 2 * h * h + 2 * h * c.inter_size + 3 * h + h + h + 2 * h + h + c.inter_size + h + 6 * h;
}

/** One decoder step at position t over `rows` rows: weights, the row in and out, self K/V for t + 1 positions, memory K/V. */
function decoderStepElements(c: FlopConfig, t: number): number {
  const h = hiddenSize(c);
  const rows = c.batch * c.beam;
  const selfCache = 2 * rows * (t + 1) * h;
  // The memory K/V are one per sentence (beams share them).
  const memoryCache = 2 * c.batch * c.mem_len * h;
  return c.layers * (decoderLayerWeights(c) + selfCache + memoryCache) + 2 * rows * h;
}

/** Memory read and its K/V written once at step 0 (per layer), plus the K/V weights read then. */
const memoryKvElements = (c: FlopConfig): number => {
  const h = hiddenSize(c);
  return c.batch * c.mem_len * h + c.layers * (2 * c.batch * c.mem_len * h);
};

/** The fewest bytes of device memory one unit of work moves (see above). */
export function bytesMoved(c: BytesConfig, steps = c.seq): number {
  const h = hiddenSize(c);
  let elements: number;
  const stepCount = c.path === 'decoder' ? c.seq : steps;
  switch (c.path) {
    case 'encoder':
      elements = c.layers * encoderLayerWeights(c) + 2 * c.batch * c.seq * h;
      break;
    case 'decoder':
    case 'decoding': {
      elements = memoryKvElements(c);
      for (let t = 0; t < stepCount; t++) elements += decoderStepElements(c, t);
      // Decoding reads the embedding rows and the logits weights, and writes the logits, every step.
      if (c.path === 'decoding') elements += stepCount * (c.batch * c.beam * (h + c.vocab) + h * c.vocab + c.vocab);
    }
  }
  return elements * elementBytes(c) - fp8WeightElements(c, stepCount);
}
