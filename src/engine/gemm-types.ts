// The GEMMs the engine plans and runs, as it reports them and as they are recorded: a shape, a
// cuBLASLt algorithm, a point's choice, and an entry of the tuning table the engine takes
// (setGemmTable) and its tuner produces. The results schema (src/results/schema.ts) records
// choices with points; the tuning cache (src/gemm/cache.ts) stores entries.
import { z } from 'zod';

const finite = z.number().finite();
const count = z.number().int().nonnegative();
const ms = finite.positive();

/** A GEMM's key fields (src/gemm/cache.ts keys tuned algorithms by them). */
// e4m3/f16: fp8 GEMMs (E4M3 A and B with per-row / per-channel scales, fp16 C and bias; native/MODEL.md, "fp8").
export const GEMM_DTYPES = ['f32', 'f32/tf32', 'f16', 'bf16', 'e4m3/f16'] as const;
export const GemmShapeSchema = z.object({
  m: count, n: count, k: count, batch_count: count,
  trans_a: z.boolean(), trans_b: z.boolean(),
  dtype: z.enum(GEMM_DTYPES),
  epilogue: z.enum(['none', 'bias', 'bias_gelu', 'bias_relu']),
});
/**
 * A cuBLASLt algorithm's whole configuration: values of cuBLASLt's own attributes, taken as it
 * reports them (enum ids such as cublasLtMatmulTile_t; split-K -1 on some Hopper algorithms).
 */
const attribute = z.number().int();
export const GemmAlgoSchema = z.object({
  id: attribute, tile: attribute, stages: attribute, splitk: attribute, reduction: attribute, swizzle: attribute,
  custom: attribute, inner: attribute, cluster: attribute, workspace: count,
});
/** A GEMM a point ran: its role in the model, shape, algorithm, and where the algorithm came from. */
export const GemmChoiceSchema = GemmShapeSchema.extend({
  role: z.string(),
  algo: GemmAlgoSchema,
  /**
   * tuned: from the tuning cache; heuristic: cuBLASLt's first choice (the shape was not in the cache);
   * skinny: the engine's few-row kernel (FTBENCH_SKINNY=1; m <= 128, fp16 or bf16), timed faster than the cuBLASLt algorithm it replaced.
   */
  source: z.enum(['tuned', 'heuristic', 'skinny']),
  /** Why the heuristic ran though the cache had the shape; the skinny kernel's timing against cuBLASLt. */
  note: z.string().optional(),
  /**
   * The cache's confirmed times of the tuned and the heuristic algorithm; null without a cache entry.
   * skinny: the skinny kernel's time and the replaced cuBLASLt algorithm's, timed at planning.
   */
  tuned_ms: finite.nullable(),
  heuristic_ms: finite.nullable(),
});

export const GemmEntrySchema = z.object({
  key: z.string(),
  shape: GemmShapeSchema,
  algo: GemmAlgoSchema,
  /** Nothing beat cuBLASLt's heuristic by more than 1 %: its algorithm is the one kept. */
  heuristic_kept: z.boolean(),
  tuned_ms: ms,
  heuristic_ms: ms,
  candidates_tried: count,
  /** Candidates whose output differed from the heuristic's beyond the type's tolerance (or failed). */
  rejected: z.array(z.string()),
  roles: z.array(z.string()),
  tuned_at: z.string(),
});

/** "algo 66 tile 18 stages 4 splitk 1 reduction 0 swizzle 0 custom 0 cluster 0 workspace 0": an algorithm in one cell. */
export function describeAlgo(algo: GemmAlgo): string {
  return (Object.keys(algo) as (keyof GemmAlgo)[]).map((field) => `${field === 'id' ? 'algo' : field} ${algo[field]}`).join(' ');
}

/** What ran for a GEMM: the skinny kernel, or the cuBLASLt algorithm's configuration. */
export function describeChoiceAlgo(choice: Pick<GemmChoice, 'source' | 'algo'>): string {
  return choice.source === 'skinny' ? 'skinny kernel' : describeAlgo(choice.algo);
}

export type GemmShape = z.infer<typeof GemmShapeSchema>;
export type GemmAlgo = z.infer<typeof GemmAlgoSchema>;
export type GemmChoice = z.infer<typeof GemmChoiceSchema>;
export type GemmEntry = z.infer<typeof GemmEntrySchema>;
