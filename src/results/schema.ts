// The one results schema (ftbench/results@1): written by the runner, read (and validated) by the
// reporters, the dashboard and the gate. A results file that does not match is rejected with the
// path of the first offending field. Beyond types, what the numbers must mean: an ok point has
// samples, its summary is the statistics of those samples (within rounding), times and counts are
// not negative, dates are ISO 8601.
import { z } from 'zod';
import { BACKENDS, configKey, MODES, PATHS, PRECISIONS, TP_VALUES, VARIANTS, type PointConfig } from '../engine/config.js';
import { summarize } from '../measure/sample-stats.js';
import { STOP_REASONS } from '../measure/stop-rule.js';
import { GemmChoiceSchema } from '../engine/gemm-types.js';
import { InputError } from '../input-error.js';

export const SCHEMA_ID = 'ftbench/results@1';

const finite = z.number().finite();
const count = z.number().int().nonnegative();
/** A time or duration: finite and not negative. */
const duration = finite.nonnegative();

/** Date and time with a zone, as toISOString writes it (other ISO 8601 offsets are read too). */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const dateTime = z.string().refine((text) => ISO_DATE_TIME.test(text) && Number.isFinite(Date.parse(text)), {
  message: 'must be an ISO 8601 date and time with a zone, e.g. 2026-11-22T10:00:00.000Z',
});

export const PointConfigSchema = z.object({
  backend: z.enum(BACKENDS),
  path: z.enum(PATHS),
  variant: z.enum(VARIANTS),
  precision: z.enum(PRECISIONS),
  layers: count, heads: count, head_size: count, inter_size: count, vocab: count,
  max_seq: count, mem_len: count, batch: count, beam: count, seq: count,
  top_k: count, top_p: finite, temperature: finite, length_penalty: finite,
  start_id: count, end_id: count, stop_at_end: z.boolean(), full_length: z.boolean(), graph: z.boolean(),
  seed: count,
  /** Absent in runs from before sampling modes: those were 'auto' by today's names. */
  mode: z.enum(MODES).default('auto'),
  /** Tensor-parallel ranks; absent in runs from before the tp axis, and in points that ran at tp 1. */
  tp: count.refine((tp) => (TP_VALUES as readonly number[]).includes(tp), { message: `tp must be one of ${TP_VALUES.join(', ')}` }).optional(),
  /** A user's checkpoint (--model) and the encoder settings its config.json sets; absent for the synthetic model. */
  model: z.object({
    dir: z.string(), inputs: z.string().optional(), type: z.string(), name: z.string(), sha256: z.string(),
    weights: z.array(z.object({ file: z.string(), sha256: z.string() })),
  }).optional(),
  layer_norm_eps: finite.optional(),
  activation: z.enum(['gelu_tanh', 'gelu_erf']).optional(),
});

/** Statistics of a point's retained samples (backend clock) and host latencies. */
export const SummarySchema = z.object({
  samples: count,
  gpu_ms_median: finite,
  gpu_ms_mean: finite,
  gpu_ms_min: finite,
  gpu_ms_max: finite,
  gpu_ms_p10: finite,
  gpu_ms_p90: finite,
  gpu_ms_stdev: finite,
  noise_pct: finite,
  /** Which rule ended the sampling (src/measure/stop-rule.ts); absent in runs from before it was recorded. */
  stop_reason: z.enum(STOP_REASONS).optional(),
  host_ms_median: finite.nullable(),
  tokens_per_s: finite,
  tflops: finite.nullable(),
  // Absent in runs from before each was recorded:
  /** bytesMoved (src/measure/flops.ts) over the median, GB/s. */
  gbps: finite.optional(),
  /** How the samples were taken (src/measure/runner.ts) and how many units each sample ran. */
  mode: z.enum(['cold', 'hot']).optional(),
  units_per_sample: count.optional(),
  /** Samples dropped for a throttled SM clock; the mean SM clock of the kept ones (null: the backend has none). */
  discarded: count.optional(),
  sm_clock_mhz: finite.nullable().optional(),
  /** tflops and gbps as % of the device's measured peaks (env.device peak_*); null when not measured. */
  pct_peak_tflops: finite.nullable().optional(),
  pct_peak_gbps: finite.nullable().optional(),
  /** Fresh model instances the samples were spread over (src/measure/instances.ts); absent: one. */
  instances: count.optional(),
});

/**
 * A kernel trace of the point (--profile-kernels, src/measure/kernel-trace.ts); times are per unit of work:
 * event_ms of the traced (eager) units, kernel_ms their kernels', memcpys' and memsets' time, gap_pct
 * the share of the measured median outside them.
 */
export const ProfileSchema = z.object({ iterations: count, event_ms: finite, kernel_ms: finite, gap_pct: finite, note: z.string() });
/** A stage's time per unit of work; tflops where flops.ts counts its matrix products (stageFlops). */
export const StageTimeSchema = z.object({ name: z.string(), calls: finite, total_ms: finite, tflops: finite.optional() });
export const KernelTimeSchema = z.object({
  name: z.string(), kind: z.enum(['kernel', 'memcpy', 'memset']), stage: z.string(), calls: finite, total_ms: finite, mean_ms: finite,
  grid: z.string().nullable(), block: z.string().nullable(),
});

/** Why a resource reading is absent: the cpu backend, NVML missing, the counter unsupported, a peer model. */
const AbsentSchema = z.object({ reason: z.string() }).strict();
/**
 * The model's peak device memory (src/measure/resources.ts): its device buffers (weights, workspace,
 * activations) at their peak since it was built, through its runs; or why there is none.
 */
export const MemorySchema = z.union([z.object({ peak_bytes: count }).strict(), AbsentSchema]);
/**
 * The device's energy from NVML's counter over a window of back-to-back units run after the samples
 * (src/measure/resources.ts): joules per unit (an encoder forward; `seq` decoder steps; a decoding),
 * per token (tokens as tokens_per_s counts them) and the mean watts over the window; or why there is none.
 */
export const EnergySchema = z.union([
  z.object({ joules_per_unit: finite, joules_per_token: finite, mean_w: finite, units: count, window_ms: finite }).strict(),
  AbsentSchema,
]);

export const CheckSchema = z.object({ name: z.string(), ok: z.boolean(), detail: z.string().optional() });

export const PointSchema = z.object({
  key: z.string(),
  config: PointConfigSchema,
  status: z.enum(['ok', 'error', 'oom']),
  error: z.string().optional(),
  summary: SummarySchema.nullable(),
  samples_ms: z.array(duration),
  correct: z.boolean().nullable(),
  max_rel_err: finite.nullable(),
  /** A checkpoint's point: relative L2 error of the valid tokens' hidden states against its parity reference, for the same inputs. */
  parity_rel_err: finite.optional(),
  /** What parity_rel_err is measured against: transformers' own output (the peer worker), or the CPU reference. */
  parity_reference: z.enum(['transformers', 'cpu']).optional(),
  /** Decoding: share of output ids equal to the unfused run's (the CPU's for an unfused point). */
  ids_equal_fraction: finite.optional(),
  /**
   * An fp8 point: relative L2 error against the same config's unfused fp32 run (recorded, not judged),
   * of its hidden states (encoder, decoder) or of its scores over all rows (decoding).
   */
  fp32_rel_err: finite.optional(),
  /** An fp8 decoding point: share of output ids equal to the same config's unfused fp32 run's. */
  fp32_ids_equal_fraction: finite.optional(),
  /** An fp8 decoding point: share of output ids equal to the same config's fp16 run's (issue 22's target: ≥ 0.9 greedy). */
  fp16_ids_equal_fraction: finite.optional(),
  /** An fp8 decoding point: relative L2 error of its scores (all rows) against the same config's fp16 run. */
  fp16_score_rel_err: finite.optional(),
  checks: z.array(CheckSchema),
  notes: z.record(z.string(), z.string()),
  /** Which pass over the sweep this is, in a run made with --repeat (0-based). */
  repeat: count.optional(),
  profile: ProfileSchema.optional(),
  stages: z.array(StageTimeSchema).optional(),
  kernels: z.array(KernelTimeSchema).optional(),
  /** The GEMMs the point ran (cuda backend). */
  gemms: z.array(GemmChoiceSchema).optional(),
  /** Absent in runs from before they were recorded, and on failed points. */
  memory: MemorySchema.optional(),
  energy: EnergySchema.optional(),
  started_at: dateTime,
  duration_s: duration,
}).superRefine(summaryMatchesSamples).transform(launchedAsRecorded);

/** The summary fields that are statistics of samples_ms, with the sample-stats.ts name of each. */
const SAMPLE_STATISTICS = [
  ['gpu_ms_median', 'median'], ['gpu_ms_mean', 'mean'], ['gpu_ms_min', 'min'], ['gpu_ms_max', 'max'],
  ['gpu_ms_p10', 'p10'], ['gpu_ms_p90', 'p90'],
] as const;

/** Equal up to the rounding of a writer that kept 4 significant digits (5e-4 relative), with margin. */
const withinRounding = (recorded: number, computed: number): boolean =>
  Math.abs(recorded - computed) <= 1e-3 * Math.max(Math.abs(computed), 1e-9);

/** An ok point has samples, and a summary that is theirs: its count, median, mean, extremes and percentiles. */
function summaryMatchesSamples(
  point: { status: string; summary: Summary | null; samples_ms: number[] }, context: z.RefinementCtx,
): void {
  const { summary, samples_ms: samples } = point;
  if (point.status === 'ok' && (summary === null || samples.length === 0)) {
    context.addIssue({ code: 'custom', path: [summary === null ? 'summary' : 'samples_ms'], message: 'an ok point must have samples and their summary' });
    return;
  }
  if (summary === null || samples.length === 0) return;
  if (summary.samples !== samples.length) {
    context.addIssue({ code: 'custom', path: ['summary', 'samples'], message: `${summary.samples}, but samples_ms holds ${samples.length}` });
    return;
  }
  const stats = summarize(samples);
  for (const [field, statistic] of SAMPLE_STATISTICS) {
    if (!withinRounding(summary[field], stats[statistic])) {
      context.addIssue({ code: 'custom', path: ['summary', field], message: `${summary[field]} is not the ${statistic} of samples_ms (${stats[statistic]})` });
    }
  }
}

/**
 * Runs from before the unfused encoder could replay a graph recorded `graph: true` (the option's old
 * default) on unfused points that launched every kernel eagerly. The notes say what ran: such a
 * point is read with `graph: false` and the key that goes with it, as it would be recorded today.
 */
function launchedAsRecorded<P extends { key: string; config: PointConfig; notes: Record<string, string> }>(point: P): P {
  if (!point.config.graph || point.notes.graph !== 'off') return point;
  const config = { ...point.config, graph: false };
  return { ...point, config, key: configKey(config) };
}

export const DroppedSchema = z.object({ config: z.record(z.string(), z.unknown()), reason: z.string() });

export const RunSchema = z.object({
  id: z.string().min(1),
  started_at: dateTime,
  finished_at: dateTime.nullable(),
  wall_s: duration.nullable(),
  command: z.string(),
  profile: z.string(),
  backend: z.enum(BACKENDS),
  options: z.record(z.string(), z.unknown()),
});

/** env.device: text fields (the backend, name, driver and library versions) and quantities. */
export interface DeviceFields {
  backend?: string;
  name?: string;
  [field: string]: string | number | undefined;
}

/** A device field that holds a quantity (threads, memory_mb, sm_clock_mhz, sm_count, device_index, peak_gbps, peak_tflops_fp16, ...). */
const QUANTITY_FIELD = /^threads$|_(mb|mhz|count|index)$|^peak_/;
const DECIMAL = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i;

/**
 * The device's fields as its backend reports them: text (name, versions) and quantities, written as
 * numbers. Runs from before that recorded quantities as decimal strings, which are read as numbers;
 * text in a quantity's field is the backend's word for not having it ("unavailable") and stays text.
 */
const DeviceSchema = z.record(z.string(), z.union([z.string(), finite])).transform((device): DeviceFields =>
  Object.fromEntries(
    Object.entries(device).map(([field, value]) =>
      [field, typeof value === 'string' && QUANTITY_FIELD.test(field) && DECIMAL.test(value) ? Number(value) : value]),
  ),
);

export const EnvSchema = z.object({
  host: z.object({
    cpu: z.string(), cores: count, physical_cores: count.optional(), memory_gb: finite.nonnegative(), os: z.string(), node: z.string(),
  }),
  device: DeviceSchema,
  git: z.object({ commit: z.string().nullable(), dirty: z.boolean().nullable() }),
  /** What the peer worker runs on (its hello: python, torch, transformers, torch's CUDA, cuDNN, device); runs with peers only. */
  peers: z.object({
    python: z.string(), torch: z.string().nullable(), transformers: z.string().nullable(), torch_cuda: z.string().nullable(),
    cudnn: z.string().nullable(), device: z.string().nullable(),
  }).optional(),
  /**
   * A checkpoint run's parity reference (--model): transformers (its version, and where it runs), or
   * the CPU reference with the reason transformers is not used.
   */
  parity: z.union([
    z.object({ reference: z.literal('transformers'), transformers: z.string(), python: z.string(), torch: z.string().nullable(), device: z.string().nullable() }),
    z.object({ reference: z.literal('cpu'), reason: z.string() }),
  ]).optional(),
});

export const ResultsSchema = z.object({
  schema: z.literal(SCHEMA_ID),
  run: RunSchema,
  env: EnvSchema,
  points: z.array(PointSchema),
  dropped: z.array(DroppedSchema),
});

/** Lines of `<run-id>.jsonl`: one header, then one line per finished point. */
export const StreamLineSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('header'), schema: z.literal(SCHEMA_ID), run: RunSchema, env: EnvSchema,
    dropped: z.array(DroppedSchema) }),
  z.object({ type: z.literal('point'), point: PointSchema }),
]);

export type Summary = z.infer<typeof SummarySchema>;
export type Check = z.infer<typeof CheckSchema>;
export type StageTime = z.infer<typeof StageTimeSchema>;
export type KernelTime = z.infer<typeof KernelTimeSchema>;
export type Point = z.infer<typeof PointSchema>;
export type Dropped = z.infer<typeof DroppedSchema>;
export type RunInfo = z.infer<typeof RunSchema>;
export type Environment = z.infer<typeof EnvSchema>;
export type Results = z.infer<typeof ResultsSchema>;
export type StreamLine = z.infer<typeof StreamLineSchema>;

/** A results file that does not match the schema; the message names the file and field. */
export class ResultsFormatError extends InputError {}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Validates parsed JSON as a results file; `source` names it in errors. */
export function parseResults(data: unknown, source: string): Results {
  const schema = (data as { schema?: unknown } | null)?.schema;
  if (typeof data === 'object' && data !== null && schema !== SCHEMA_ID) {
    throw new ResultsFormatError(
      `${source}: not an ftbench results file (schema is ${JSON.stringify(schema)}, expected "${SCHEMA_ID}")`,
    );
  }
  const parsed = ResultsSchema.safeParse(data);
  if (!parsed.success) throw new ResultsFormatError(`${source}: invalid results file: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** Validates one JSONL line; `where` names file:line in errors. */
export function parseStreamLine(text: string, where: string): StreamLine {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ResultsFormatError(`${where}: not JSON (${(error as Error).message})`);
  }
  const parsed = StreamLineSchema.safeParse(data);
  if (!parsed.success) throw new ResultsFormatError(`${where}: invalid results line: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
