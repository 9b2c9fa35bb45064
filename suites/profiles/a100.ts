// FasterTransformer's published benchmark matrix (their A100 tables; ../shared/REFERENCE.md §2),
// runnable on any CUDA GPU: the name says whose table it reproduces.
import type { Profile, Sweep } from '../../src/sweep/axes.js';
import type { PrecisionName } from '../../src/engine/config.js';
import { BERT_BASE, FT_DECODER } from '../models.js';

/** FT's decoder as its decoding sample runs it: with a memory (encoder output) as long as the output, 128. */
export const FT_DECODER_WITH_MEMORY = { ...FT_DECODER, mem_len: 128 } as const;
export const FT_STEPS = [128];
/** The baseline first: its outputs are the next (fused) point's reference, with no extra run (src/check/references.ts). */
export const BOTH_VARIANTS: Sweep['variant'] = ['unfused', 'fused'];

/**
 * FT timed 10-100 iterations after warm-up; here nvbench's rule: at least 20 samples and 0.25 s of
 * GPU time, then until the noise is under 1% or stops changing, 10 s at most; 100 ms of warm-up.
 */
export const GPU_MEASUREMENT: Profile['measurement'] = {
  min_samples: 20, min_time_ms: 250, max_noise_pct: 1, timeout_ms: 10_000, warmup_ms: 100,
};

/**
 * The a100 matrix has 216 points to run in 8 minutes (issue #7): nvbench's default of 10 samples and a
 * 2 s timeout. The slow points (unfused beam search at batch 128: 0.4–4 s per decoding) and the
 * launch-bound unfused ones whose noise stays over 1 % stop on the timeout; the others on the noise.
 */
export const A100_MEASUREMENT: Profile['measurement'] = { ...GPU_MEASUREMENT, min_samples: 10, timeout_ms: 2_000 };

export interface MatrixShape {
  precisions: PrecisionName[];
  encoderBatch: number[];
  encoderSeq: number[];
  decodingBatch: number[];
  /**
   * Adds fp8 (issue 22: E4M3 GEMMs; cuda on compute capability 8.9+, dropped with the reason
   * elsewhere, e.g. on an A100), the engine's alone, no peers: the encoder, and the beam-search
   * decoding at beam 1 (greedy: the ids target) and 4 (its tokens/s target).
   */
  fp8?: boolean;
}

/** The precisions --peers compares the engine with the peers at: those that users deploy. */
export const PEER_PRECISIONS: readonly PrecisionName[] = ['fp16', 'bf16'];

/**
 * `sweep` split in two by precision: its other precisions (fp32, tf32) are the engine's alone, the
 * peer precisions take --peers. Precision is the outermost axis of a path, so the points keep their order.
 */
function peersAtPeerPrecisions(sweep: Sweep): Sweep[] {
  const parts: Sweep[] = [
    { ...sweep, precision: sweep.precision.filter((p) => !PEER_PRECISIONS.includes(p)), peers: false },
    { ...sweep, precision: sweep.precision.filter((p) => PEER_PRECISIONS.includes(p)) },
  ];
  return parts.filter((part) => part.precision.length > 0);
}

/**
 * FT's decoder, beam-search and sampling sweeps over `batch` for `steps`, fp32/fp16/bf16 and both
 * variants; --peers adds the peers to the fp16/bf16 beam-search decoding.
 */
export function decodingSweeps(shape: Pick<MatrixShape, 'precisions' | 'decodingBatch'>, steps: number[]): Sweep[] {
  const decoding = { ...FT_DECODER_WITH_MEMORY, variant: BOTH_VARIANTS, precision: shape.precisions, batch: shape.decodingBatch, seq: steps };
  const beamSearch = { name: 'FT decoder and beam-search decoding', ...decoding, beam: [1, 4, 32] };
  return [
    { ...beamSearch, path: ['decoder'], peers: false },
    ...peersAtPeerPrecisions({ ...beamSearch, path: ['decoding'] }),
    { name: 'FT top-k sampling', ...decoding, path: ['decoding'], top_k: [4, 32], peers: false },
    { name: 'FT top-p sampling', ...decoding, path: ['decoding'], top_p: [0.75], peers: false },
  ];
}

/**
 * FT's beam-search decoding in fp8 (issue 22), the engine's alone. Its fp8 points bring their own
 * references (src/check/references.ts): the unfused fp8 run (for a fused point), the CPU's emulation
 * where cheap, and the fp32 and fp16 runs whose ids and scores are recorded.
 */
export function fp8DecodingSweep(batch: number[], beam: number[], steps: number[], variant: Sweep['variant']): Sweep {
  return {
    name: 'FT beam-search decoding fp8', ...FT_DECODER_WITH_MEMORY, path: ['decoding'], variant, precision: ['fp8'], batch, beam,
    seq: steps, peers: false,
  };
}

/**
 * The encoder, decoder, beam-search and sampling sweeps of FT's matrix at the given sizes; --peers
 * adds the peers to the fp16/bf16 encoder and beam-search decoding.
 */
export function ftMatrix(shape: MatrixShape): Sweep[] {
  const encoder: Sweep = {
    name: 'BERT-base encoder', ...BERT_BASE, variant: BOTH_VARIANTS, precision: shape.precisions, path: ['encoder'],
    batch: shape.encoderBatch, seq: shape.encoderSeq,
  };
  const fp8: Sweep[] = shape.fp8 ? [{ ...encoder, name: 'BERT-base encoder fp8', precision: ['fp8'], peers: false }] : [];
  const fp8Decoding: Sweep[] = shape.fp8 ? [fp8DecodingSweep(shape.decodingBatch, [1, 4], FT_STEPS, BOTH_VARIANTS)] : [];
  return [...peersAtPeerPrecisions(encoder), ...fp8, ...decodingSweeps(shape, FT_STEPS), ...fp8Decoding];
}

export const a100: Profile = {
  name: 'a100',
  description:
    "FasterTransformer's published matrix: BERT-base encoder batch {1,8,32} x seq {32,128,384}; decoder/decoding " +
    '6 layers 8x64 vocab 31538, 128 steps, batch {1,8,128} x beam {1,4,32}, top-k {4,32}, top-p 0.75; fp32 (TF32 off), ' +
    'fp16, bf16; fused and unfused; the encoder and beam 1/4 decoding in fp8 too where the GPU has it (compute capability 8.9+); ' +
    '--peers adds peers to the fp16/bf16 encoder and beam-search decoding',
  measurement: A100_MEASUREMENT,
  sweeps: ftMatrix({
    precisions: ['fp32', 'fp16', 'bf16'],
    encoderBatch: [1, 8, 32],
    encoderSeq: [32, 128, 384],
    decodingBatch: [1, 8, 128],
    fp8: true,
  }),
};
