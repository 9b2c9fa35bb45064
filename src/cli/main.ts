#!/usr/bin/env node
// `npm run bench -- [options]`: expands a profile into points, runs them, prints a table and writes
// <out>/<run-id>.{jsonl,json,csv}. Exit 0 when every point is ok and correct, 1 when a point failed
// or is incorrect, 2 on bad input (one line on stderr naming the field).
// `npm run tune -- [options]` tunes the profile's GEMM shapes into the tuning cache, and
// `npm run bench -- --suite gemm` times each shape's tuned algorithm against cuBLASLt's heuristic.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Measurement, Profile } from '../sweep/axes.js';
import { getProfile, PROFILES } from '../../suites/index.js';
import { consoleHeader, consoleRow } from '../../reporters/console.js';
import { renderMarkdown } from '../../reporters/markdown.js';
import {
  BACKENDS, ConfigError, configKey, PATHS, PRECISIONS, requireOneOf, requireRange, VARIANTS, MODES, type BackendName, type MeasureMode, type PointConfig,
} from '../engine/config.js';
import { captureEnvironment, commandLine, deviceCeilings } from '../measure/environment.js';
import { loadAddon, type NativeAddon } from '../engine/native.js';
import { defaultRunId, ResultsWriter } from '../results/io.js';
import { PointSupervisor } from '../run/supervisor.js';
import { Progress } from '../run/progress.js';
import type { PointWork } from '../measure/runner.js';
import { ResultsFormatError, type Dropped, type Environment, type Point } from '../results/schema.js';
import { expandProfile, validateOverrides, type SweepOverrides } from '../sweep/expand.js';
import { DEFAULT_GEMM_CACHE_DIR, GemmCacheError, type GemmEntry } from '../gemm/cache.js';
import {
  GEMM_SUITE_SCHEMA, gemmSuite, gemmSuiteSummary, openGemmCache, tuneGemms, tuneSummary, untunedShapes, writeGemmSuite,
} from '../gemm/tuning.js';

const EXIT_OK = 0;
const EXIT_POINT_FAILED = 1;
const EXIT_BAD_INPUT = 2;

const OPTIONS = {
  profile: { type: 'string' },
  backend: { type: 'string' },
  path: { type: 'string' },
  variant: { type: 'string' },
  precision: { type: 'string' },
  batch: { type: 'string' },
  beam: { type: 'string' },
  seq: { type: 'string' },
  steps: { type: 'string' },
  layers: { type: 'string' },
  heads: { type: 'string' },
  'head-size': { type: 'string' },
  'inter-size': { type: 'string' },
  vocab: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  temperature: { type: 'string' },
  'full-length': { type: 'boolean' },
  graph: { type: 'boolean' },
  'no-graph': { type: 'boolean' },
  mode: { type: 'string' },
  'profile-kernels': { type: 'boolean' },
  seed: { type: 'string' },
  'min-samples': { type: 'string' },
  'min-time': { type: 'string' },
  'max-noise': { type: 'string' },
  timeout: { type: 'string' },
  warmup: { type: 'string' },
  out: { type: 'string' },
  'run-id': { type: 'string' },
  resume: { type: 'string' },
  repeat: { type: 'string' },
  'point-timeout': { type: 'string' },
  markdown: { type: 'string' },
  tune: { type: 'boolean' },
  suite: { type: 'string' },
  'gemm-cache': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const SUITES = ['points', 'gemm'] as const;

const DEFAULT_OUT = 'results/runs';
const DEFAULT_POINT_TIMEOUT_S = 600;
/** Units of work a --profile-kernels trace covers. */
const PROFILE_ITERATIONS = 3;
const EXIT_INTERRUPTED = 130;

/** `text` broken into lines of at most `width` characters, each starting with `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const lines = [indent];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (lines[last].length + word.length + 1 > width && lines[last].trim()) lines.push(`${indent}  ${word}`);
    else lines[last] += lines[last].trim() ? ` ${word}` : word;
  }
  return lines.join('\n');
}

const USAGE = `usage: npm run bench -- [options]        (or: ftbench bench [options])
       npm run tune -- [options]         (or: ftbench tune [options])

bench runs a profile's sweep point by point and writes <out>/<run-id>.jsonl (as points finish), .json,
.csv (and .gemm.csv: the GEMMs each point ran, cuda). tune plans the profile's points and tunes every
GEMM shape the tuning cache (${DEFAULT_GEMM_CACHE_DIR}/<gpu>-cuda<ver>-cublas<ver>.json) lacks.
Lists are comma-separated (--batch 1,8,32); a list given here replaces that axis in every sweep.

  --profile NAME        ${Object.keys(PROFILES).join(' | ')}
                        (default: smoke on the cpu backend; on cuda, h100 on an H100, else a100)
  --backend NAME        cpu | cuda (default: cuda when the addon has it, else cpu)
  --path LIST           keep only these paths: encoder, decoder, decoding
  --variant LIST        fused, unfused (cuda); the cpu backend runs one variant, reference
  --precision LIST      fp32, tf32, fp16, bf16 (the cpu backend runs fp32)
  --batch LIST          batch sizes
  --beam LIST           beam widths (decoder, decoding)
  --seq LIST            encoder sequence lengths (and decoder/decoding steps unless --steps)
  --steps LIST          decoder/decoding steps
  --layers N --heads N --head-size N --inter-size N --vocab N
                        model dims, one value each
  --top-k LIST --top-p LIST --temperature LIST
                        sampling (decoding at beam 1)
  --full-length         every sequence at full length (no padding)
  --graph, --no-graph   every variant replays a CUDA graph (the unfused encoder included), or none does
                        (default: fused replays one, unfused launches each kernel from the host)
  --mode LIST           auto, cold, hot or both (= cold,hot): cold flushes the L2 before each run, hot
                        times back-to-back runs; auto (default) is cold under 1 ms, else hot
  --profile-kernels     also trace ${PROFILE_ITERATIONS} units per point with CUPTI: time per stage and kernel (cuda)
  --seed N              seed of the weights, inputs and sampling draws
  --min-samples N       samples per point at least (default: the profile's, 20 on the GPU)
  --min-time S          backend time the samples add up to at least, seconds (GPU default 0.25)
  --max-noise PCT       past both minimums, stop once the samples' relative stdev is <= PCT (default 1)
                        (or once it stops changing)
  --timeout S           stop sampling a point after S seconds of wall time (GPU default 10)
  --warmup S            backend time run before samples are kept, seconds (GPU default 0.1)
  --out DIR             where the run's files go (default ${DEFAULT_OUT})
  --run-id ID           the files' name (default <profile>-<yyyymmdd-hhmmss>, UTC)
  --repeat N            run the whole sweep N times in one process (stability runs; points carry repeat)
  --resume ID           finish run ID in --out: runs its points missing from <ID>.jsonl, with the run's
                        own profile and options (no other sweep or measurement flag)
  --point-timeout S     a point still running after S seconds is stopped and recorded as an error
                        (default ${DEFAULT_POINT_TIMEOUT_S})
  --markdown FILE       append a markdown summary of the run to FILE (e.g. $GITHUB_STEP_SUMMARY)
  --tune                tune the shapes the GEMM cache lacks before running (cuda)
  --suite NAME          points (default): the sweep; gemm: each distinct GEMM shape of the profile at
                        fp32, tf32, fp16 and bf16 (unless --precision), tuned vs cuBLASLt's heuristic,
                        written to <out>/gemm-<profile>-<date>.{json,csv} (cuda)
  --gemm-cache FILE     the GEMM tuning cache to use (default: the device's file in ${DEFAULT_GEMM_CACHE_DIR})
  -h, --help            this text

profiles:
${Object.values(PROFILES).map((p) => wrap(`${p.name}: ${p.description}`, 100, '  ')).join('\n')}

Each point runs in a worker process: a crash or a timeout is recorded for that point and the sweep
goes on. Ctrl-C stops after the current point (twice: at once) and still writes the run's files.

exit: 0 every point ok and correct, 1 a point failed or is incorrect, 2 bad input, 130 interrupted`;

/** A command line that cannot be run; the message is the whole explanation. */
class UsageError extends Error {}

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true; allowPositionals: true }>>['values'];

interface BenchRequest {
  command: 'bench' | 'tune';
  suite: (typeof SUITES)[number];
  tune: boolean;
  gemmCache?: string;
  profile?: string;
  backend?: BackendName;
  overrides: SweepOverrides;
  measurement: Partial<Measurement>;
  out: string;
  runId?: string;
  resume?: string;
  pointTimeoutS: number;
  profileKernels: boolean;
  repeat: number;
  markdown?: string;
}

const items = (text: string): string[] => text.split(',').map((item) => item.trim());

function numbers(field: string, text: string): number[] {
  return items(text).map((item) => {
    const value = Number(item);
    if (item === '' || !Number.isFinite(value)) throw new ConfigError(field, `${field} must be a number, got ${item || '""'}`);
    return value;
  });
}

function single(field: string, text: string): number {
  const values = numbers(field, text);
  if (values.length !== 1) throw new ConfigError(field, `${field} takes one value, got ${text}`);
  return values[0];
}

const choices = <T extends string>(field: string, text: string, allowed: readonly T[]): T[] =>
  items(text).map((item) => requireOneOf(field, item, allowed));

/** Copies the defined entries only, so that an absent flag leaves the sweep's axis alone. */
function defined<T extends object>(entries: T): Partial<T> {
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** --graph or --no-graph (not both); undefined leaves each variant's default. */
function graphOverride(f: Flags): boolean | undefined {
  if (f.graph && f['no-graph']) throw new ConfigError('graph', 'graph: --graph and --no-graph contradict each other');
  return f.graph ? true : f['no-graph'] ? false : undefined;
}

function sweepOverrides(f: Flags): SweepOverrides {
  const list = (field: string, text: string | undefined) => (text === undefined ? undefined : numbers(field, text));
  const one = (field: string, text: string | undefined) => (text === undefined ? undefined : single(field, text));
  const overrides: SweepOverrides = defined({
    path: f.path === undefined ? undefined : choices('path', f.path, PATHS),
    variant: f.variant === undefined ? undefined : choices('variant', f.variant, VARIANTS),
    precision: f.precision === undefined ? undefined : choices('precision', f.precision, PRECISIONS),
    batch: list('batch', f.batch),
    beam: list('beam', f.beam),
    seq: list('seq', f.seq),
    steps: list('steps', f.steps),
    top_k: list('top_k', f['top-k']),
    top_p: list('top_p', f['top-p']),
    temperature: list('temperature', f.temperature),
    mode: f.mode === undefined ? undefined : [...new Set(items(f.mode).flatMap((item) =>
      item === 'both' ? (['cold', 'hot'] as const) : [requireOneOf('mode', item, [...MODES, 'both'] as const)]))] as MeasureMode[],
    layers: one('layers', f.layers),
    heads: one('heads', f.heads),
    head_size: one('head_size', f['head-size']),
    inter_size: one('inter_size', f['inter-size']),
    vocab: one('vocab', f.vocab),
    seed: one('seed', f.seed),
    full_length: f['full-length'] ? true : undefined,
    graph: graphOverride(f),
  });
  validateOverrides(overrides);
  return overrides;
}

/** A non-negative number of seconds from flag `field`, in ms. */
function milliseconds(field: string, text: string): number {
  const seconds = single(field, text);
  if (seconds < 0) throw new ConfigError(field, `${field} must be >= 0 (seconds), got ${seconds}`);
  return seconds * 1000;
}

function measurementOverrides(f: Flags): Partial<Measurement> {
  const measurement: Partial<Measurement> = {};
  if (f['min-samples'] !== undefined) {
    measurement.min_samples = single('min_samples', f['min-samples']);
    requireRange('min_samples', measurement.min_samples, 1, 1_000_000);
  }
  if (f['min-time'] !== undefined) measurement.min_time_ms = milliseconds('min_time', f['min-time']);
  if (f.timeout !== undefined) measurement.timeout_ms = milliseconds('timeout', f.timeout);
  if (f.warmup !== undefined) measurement.warmup_ms = milliseconds('warmup', f.warmup);
  if (f['max-noise'] !== undefined) {
    measurement.max_noise_pct = single('max_noise', f['max-noise']);
    if (!(measurement.max_noise_pct > 0)) throw new ConfigError('max_noise', `max_noise must be > 0 (%), got ${measurement.max_noise_pct}`);
  }
  return measurement;
}

function parseFlags(args: readonly string[]): Flags & { positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: true });
    return { ...values, positionals };
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message);
    if (unknown) throw new UsageError(`unknown flag ${unknown[1]} (see --help)`);
    const missing = /Option '(-\S+)[^']*' argument missing/.exec(message);
    if (missing) throw new UsageError(`${missing[1]} needs a value`);
    // parseArgs will not take a value starting with '-' after a space (it may be a flag).
    const ambiguous = /Option '(-\S+)' argument is ambiguous/.exec(message);
    if (ambiguous) throw new UsageError(`${ambiguous[1]} needs a value (one starting with '-' is written ${ambiguous[1]}=<value>)`);
    const unexpected = /Option '(--\S+)' does not take an argument/.exec(message);
    if (unexpected) throw new UsageError(`${unexpected[1]} takes no value`);
    throw new UsageError(message);
  }
}

/** The request of a command line, every value checked; undefined for --help. */
function parseBenchArgs(args: readonly string[]): BenchRequest | undefined {
  const { positionals, ...flags } = parseFlags(args);
  const [command = 'bench', ...extra] = positionals;
  if (command !== 'bench' && command !== 'tune') throw new UsageError(`unknown command ${command} (commands: bench, tune)`);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
  if (flags.help) return undefined;
  if (flags.profile !== undefined) getProfile(flags.profile);
  const runId = flags['run-id'];
  for (const [field, id] of [['run_id', runId], ['resume', flags.resume]] as const) {
    if (id !== undefined && !/^[A-Za-z0-9][\w.-]*$/.test(id)) {
      throw new ConfigError(field, `${field} must be letters, digits, '.', '_' or '-', got ${id}`);
    }
  }
  if (flags.resume !== undefined) {
    const fixed = (Object.keys(OPTIONS) as (keyof typeof OPTIONS)[])
      .filter((name) => !['resume', 'out', 'markdown', 'help'].includes(name) && flags[name] !== undefined);
    if (fixed.length > 0) throw new UsageError(`--resume runs with the run's own options: drop --${fixed.join(', --')}`);
  }
  const repeat = flags.repeat === undefined ? 1 : single('repeat', flags.repeat);
  requireRange('repeat', repeat, 1, 1000);
  let pointTimeoutS = DEFAULT_POINT_TIMEOUT_S;
  if (flags['point-timeout'] !== undefined) {
    pointTimeoutS = single('point_timeout', flags['point-timeout']);
    if (!(pointTimeoutS > 0)) throw new ConfigError('point_timeout', `point_timeout must be > 0 (seconds), got ${pointTimeoutS}`);
  }
  const suite = flags.suite === undefined ? 'points' : requireOneOf('suite', flags.suite, SUITES);
  if (command === 'tune' && (flags.suite !== undefined || flags.tune)) throw new UsageError('tune takes neither --suite nor --tune');
  return defined({
    command,
    suite,
    tune: flags.tune ?? false,
    gemmCache: flags['gemm-cache'],
    profile: flags.profile,
    backend: flags.backend === undefined ? undefined : requireOneOf('backend', flags.backend, BACKENDS),
    overrides: sweepOverrides(flags),
    measurement: measurementOverrides(flags),
    out: flags.out ?? DEFAULT_OUT,
    runId,
    resume: flags.resume,
    pointTimeoutS,
    profileKernels: flags['profile-kernels'] ?? false,
    repeat,
    markdown: flags.markdown,
  }) as BenchRequest;
}

function chooseBackend(addon: NativeAddon, requested: BackendName | undefined): BackendName {
  const built = addon.backends();
  if (requested === undefined) return built.includes('cuda') ? 'cuda' : 'cpu';
  if (!built.includes(requested)) throw new UsageError(`backend ${requested} is not built into this addon (built: ${built.join(', ')})`);
  return requested;
}

function defaultProfile(addon: NativeAddon, backend: BackendName): Profile {
  if (backend === 'cpu') return PROFILES.smoke;
  return (addon.deviceInfo('cuda').name ?? '').includes('H100') ? PROFILES.h100 : PROFILES.a100;
}

/** "N× reason" lines, one per distinct reason, in first-seen order. */
function droppedSummary(dropped: readonly Dropped[]): string[] {
  const counts = new Map<string, number>();
  for (const { reason } of dropped) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts].map(([reason, count]) => `  dropped ${count}x ${reason}`);
}

const cleanPass = (p: Point): boolean => p.status === 'ok' && p.correct === true;

/** The addon; failing to load it (not built, wrong platform) is a usage error, reported in one line. */
function engine(): NativeAddon {
  try {
    return loadAddon();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A run ready to go: where it writes, the points still to run, and how. */
interface SweepPlan {
  writer: ResultsWriter;
  /** Points still to run, with their repeat index (0 unless the run repeats its sweep). */
  points: { config: PointConfig; repeat: number }[];
  /** Passes over the sweep (--repeat); points carry their pass when there are several. */
  repeats: number;
  work: PointWork;
  pointTimeoutS: number;
  /** The GEMM tuning cache the points look their GEMMs up in (cuda). */
  gemmCache?: string;
}

/** A run's options as recorded in run.options (resume reads them back). */
interface RecordedOptions {
  measurement: Measurement;
  overrides: SweepOverrides;
  pointTimeoutS: number;
  profileKernels: boolean;
  repeat: number;
}

/** The sweep's points `repeat` times over, whole sweep after whole sweep. */
const repeated = (configs: PointConfig[], repeat: number): SweepPlan['points'] =>
  Array.from({ length: repeat }, (_, r) => configs.map((config) => ({ config, repeat: r }))).flat();

/** A point's identity within a run: its key, and its repeat when the run repeats. */
const runKey = (config: PointConfig, repeat = 0): string => `${configKey(config)} #${repeat}`;

/** run.options of a new run, as recordedOptions reads them back, with the expansion's notes. */
const optionsRecord = (o: RecordedOptions, notes: string[]): Record<string, unknown> => ({
  measurement: o.measurement, overrides: o.overrides, notes, point_timeout_s: o.pointTimeoutS, profile_kernels: o.profileKernels,
  repeat: o.repeat,
});

/** How each point of a run is measured: the run's options, its device's ceilings and the GEMM table (cuda). */
const pointWork = (options: RecordedOptions, env: Environment, gemms?: GemmTable): PointWork => ({
  measurement: options.measurement,
  ceilings: deviceCeilings(env),
  ...(options.profileKernels ? { profileIterations: PROFILE_ITERATIONS } : {}),
  ...(gemms ? { gemmTable: gemms.entries } : {}),
});

/** The profile, backend and points a request names; a usage error when nothing is left to run. */
function requestedSweep(addon: NativeAddon, request: BenchRequest, overrides = request.overrides) {
  const backend = chooseBackend(addon, request.backend);
  const profile = request.profile === undefined ? defaultProfile(addon, backend) : getProfile(request.profile);
  const expansion = expandProfile(profile, backend, overrides);
  if (expansion.points.length === 0) {
    const why = expansion.dropped.length > 0 ? `every combination was dropped (${expansion.dropped[0].reason})` : 'no sweep matches';
    throw new UsageError(`nothing to run in profile ${profile.name} on the ${backend} backend: ${why}`);
  }
  return { backend, profile, expansion };
}

function requireCuda(backend: BackendName, what: string): void {
  if (backend !== 'cuda') throw new UsageError(`${what} needs the cuda backend (GEMMs run through cuBLASLt)`);
}

/** The GEMM cache a cuda run's points look their GEMMs up in: its file and entries. */
interface GemmTable {
  file: string;
  entries: GemmEntry[];
}

/** The GEMM cache's entries for a cuda sweep, after tuning the shapes it lacks when `tune`; says which cache is used. */
function gemmTable(addon: NativeAddon, configs: readonly PointConfig[], file: string | undefined, tune: boolean): GemmTable {
  const cache = openGemmCache(addon, file);
  if (!tune) {
    for (const warning of cache.warnings) console.log(`  gemm: ${warning}`);
    if (cache.entries.length > 0) console.log(`  gemm: ${cache.entries.length} tuned shapes from ${cache.file}`);
    return { file: cache.file, entries: cache.entries };
  }
  console.log(`  gemm: tuning the shapes ${cache.file} lacks`);
  const report = tuneGemms(addon, configs, cache, (line) => console.log(`  tune ${line}`));
  for (const line of tuneSummary(report, cache.file)) console.log(`  gemm: ${line}`);
  return { file: cache.file, entries: report.entries };
}

/** A new run of the requested profile; prints what it will run. */
async function newRun(addon: NativeAddon, request: BenchRequest): Promise<SweepPlan> {
  const { backend, profile, expansion } = requestedSweep(addon, request);
  const measurement: Measurement = { ...profile.measurement, ...request.measurement };
  if (request.profileKernels && backend === 'cpu') throw new UsageError('--profile-kernels needs the cuda backend (kernel traces come from CUPTI)');
  if (request.tune) requireCuda(backend, '--tune');
  const options: RecordedOptions = {
    measurement, overrides: request.overrides, pointTimeoutS: request.pointTimeoutS, profileKernels: request.profileKernels,
    repeat: request.repeat,
  };
  const startedAt = new Date();
  const env = await captureEnvironment(addon, backend);
  const gemms = backend === 'cuda' ? gemmTable(addon, expansion.points, request.gemmCache, request.tune) : undefined;
  const writer = new ResultsWriter(request.out, {
    run: {
      id: request.runId ?? defaultRunId(profile.name, startedAt),
      started_at: startedAt.toISOString(),
      finished_at: null,
      wall_s: null,
      command: commandLine(),
      profile: profile.name,
      backend,
      options: { ...optionsRecord(options, expansion.notes), ...(gemms ? { gemm_cache: gemms.file } : {}) },
    },
    env,
    dropped: expansion.dropped,
  });
  const device = addon.deviceInfo(backend).name ?? backend;
  console.log(`ftbench: profile ${profile.name} on ${device} (${backend}): ${expansion.points.length} points, ` +
    `${expansion.dropped.length} combinations dropped -> ${writer.jsonlPath}`);
  for (const note of expansion.notes) console.log(`  note: ${note}`);
  for (const line of droppedSummary(expansion.dropped)) console.log(line);
  return {
    writer, points: repeated(expansion.points, options.repeat), repeats: options.repeat,
    work: pointWork(options, env, gemms), pointTimeoutS: options.pointTimeoutS, gemmCache: gemms?.file,
  };
}

/** The options a run recorded (see newRun), checked again: the file may have been edited. */
function recordedOptions(options: Record<string, unknown>): RecordedOptions {
  const measurement = options.measurement as Partial<Measurement> | undefined;
  const valid = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value >= 0;
  const fields = ['min_samples', 'min_time_ms', 'max_noise_pct', 'timeout_ms', 'warmup_ms'] as const;
  if (!measurement || !fields.every((field) => valid(measurement[field]))) {
    throw new ResultsFormatError(`run.options.measurement must hold ${fields.join(', ')}`);
  }
  const overrides = (options.overrides ?? {}) as SweepOverrides;
  validateOverrides(overrides);
  const pointTimeoutS = options.point_timeout_s ?? DEFAULT_POINT_TIMEOUT_S;
  if (!(typeof pointTimeoutS === 'number' && pointTimeoutS > 0)) throw new ResultsFormatError('run.options.point_timeout_s must be > 0');
  const repeat = options.repeat ?? 1;
  if (!(typeof repeat === 'number' && Number.isInteger(repeat) && repeat >= 1)) throw new ResultsFormatError('run.options.repeat must be an integer >= 1');
  return { measurement: measurement as Measurement, overrides, pointTimeoutS, profileKernels: options.profile_kernels === true, repeat };
}

/** Run `id` in `request.out`, to be finished: its profile's points whose keys its JSONL lacks. */
function resumedRun(addon: NativeAddon, request: BenchRequest & { resume: string }): SweepPlan {
  const writer = ResultsWriter.resume(request.out, request.resume);
  const { run } = writer.header;
  const options = recordedOptions(run.options);
  const backend = chooseBackend(addon, run.backend);
  const expansion = expandProfile(getProfile(run.profile), backend, options.overrides);
  const done = new Set(writer.written.map((point) => runKey(point.config, point.repeat)));
  const all = repeated(expansion.points, options.repeat);
  const points = all.filter((point) => !done.has(runKey(point.config, point.repeat)));
  console.log(`ftbench: resuming run ${run.id} (profile ${run.profile}, ${backend}): ${all.length - points.length} of ` +
    `${all.length} points done, ${points.length} to run -> ${writer.jsonlPath}`);
  // The run's own cache where it had one (it may have been written since: it is read again).
  const recorded = typeof run.options.gemm_cache === 'string' && fs.existsSync(run.options.gemm_cache) ? run.options.gemm_cache : undefined;
  const gemms = backend === 'cuda' ? gemmTable(addon, [], recorded, false) : undefined;
  return {
    writer, points, repeats: options.repeat, pointTimeoutS: options.pointTimeoutS,
    work: pointWork(options, writer.header.env, gemms), gemmCache: gemms?.file,
  };
}

/**
 * Runs the plan's points one by one in a worker process, appending each as it finishes. Ctrl-C
 * stops after the current point; a second Ctrl-C stops at once (the current point is not recorded).
 * Returns whether the sweep was interrupted.
 */
async function runPoints(plan: SweepPlan): Promise<boolean> {
  const supervisor = new PointSupervisor({ work: plan.work, timeoutMs: plan.pointTimeoutS * 1000 });
  const progress = new Progress(plan.writer.written.length + plan.points.length, plan.writer.written.length);
  const interrupt = { stop: 'no' as 'no' | 'after-point' | 'now' };
  // A call, not a field read: the compiler cannot know that an await lets the handler change it.
  const stopping = () => interrupt.stop;
  const onInterrupt = () => {
    progress.clear();
    if (interrupt.stop === 'no') {
      interrupt.stop = 'after-point';
      console.error('ftbench: stopping after the current point (Ctrl-C again to stop now)');
    } else {
      interrupt.stop = 'now';
      supervisor.stop();
    }
  };
  process.on('SIGINT', onInterrupt);
  console.log(consoleHeader());
  try {
    for (const { config, repeat } of plan.points) {
      if (stopping() !== 'no') break;
      progress.starting(config);
      const point = { ...(await supervisor.run(config)), ...(plan.repeats > 1 ? { repeat } : {}) };
      progress.clear();
      if (stopping() === 'now') break;
      progress.finishedPoint(point.duration_s);
      plan.writer.append(point);
      console.log(consoleRow(point));
    }
  } finally {
    supervisor.close();
    process.off('SIGINT', onInterrupt);
  }
  return interrupt.stop !== 'no';
}

async function bench(request: BenchRequest): Promise<number> {
  const addon = engine();
  const plan = request.resume === undefined ? await newRun(addon, request) : resumedRun(addon, { ...request, resume: request.resume });
  const interrupted = await runPoints(plan);
  const results = plan.writer.finish(new Date());
  if (request.markdown) fs.writeFileSync(request.markdown, renderMarkdown(results), { flag: 'a' });
  const points = results.points;
  const passed = points.filter(cleanPass).length;
  const gemmCsv = points.some((point) => point.gemms !== undefined) ? `, ${plan.writer.gemmCsvPath}` : '';
  const files = `wrote ${plan.writer.jsonlPath}, ${plan.writer.jsonPath}, ${plan.writer.csvPath}${gemmCsv}`;
  if (interrupted) {
    console.log(`\ninterrupted: ${points.length} points recorded, ${passed} ok and correct; ${files}\n` +
      `finish it with: npm run bench -- --resume ${results.run.id} --out ${request.out}`);
    return EXIT_INTERRUPTED;
  }
  if (plan.gemmCache !== undefined) {
    const untuned = untunedShapes(points);
    if (untuned.length > 0) {
      console.log(`\ngemm: ${untuned.length} shapes not in ${plan.gemmCache} ran cuBLASLt's heuristic ` +
        `(npm run tune -- --profile ${results.run.profile} tunes them): ${untuned.join('; ')}`);
    }
  }
  console.log(`\n${passed} of ${points.length} points ok and correct in ${results.run.wall_s?.toFixed(1)} s; ${files}`);
  return passed === points.length ? EXIT_OK : EXIT_POINT_FAILED;
}

/** `ftbench tune`: tunes the GEMM shapes of the requested sweep that the cache lacks. */
function tune(request: BenchRequest): number {
  const addon = engine();
  const { backend, profile, expansion } = requestedSweep(addon, request);
  requireCuda(backend, 'tune');
  const cache = openGemmCache(addon, request.gemmCache);
  console.log(`ftbench: tuning the GEMMs of profile ${profile.name} (${expansion.points.length} points) on ${cache.device.gpu} -> ${cache.file}`);
  for (const warning of cache.warnings) console.log(`  ${warning}`);
  const report = tuneGemms(addon, expansion.points, cache, (line) => console.log(`  ${line}`));
  for (const line of tuneSummary(report, cache.file)) console.log(line);
  return report.failed.length === 0 ? EXIT_OK : EXIT_POINT_FAILED;
}

/** `--suite gemm`: every distinct GEMM shape of the sweep (at every precision unless --precision), tuned vs heuristic. */
async function gemmSuiteRun(request: BenchRequest): Promise<number> {
  const addon = engine();
  const { backend, profile, expansion } = requestedSweep(addon, request, { precision: [...PRECISIONS], ...request.overrides });
  requireCuda(backend, '--suite gemm');
  const startedAt = new Date();
  const env = await captureEnvironment(addon, backend);
  const gemms = gemmTable(addon, expansion.points, request.gemmCache, request.tune);
  console.log(`ftbench: GEMM suite of profile ${profile.name} on ${env.device.name}: the shapes of ${expansion.points.length} points`);
  const { rows, failed } = gemmSuite(addon, expansion.points, gemms.entries, deviceCeilings(env).peak_tflops ?? {},
    (line) => console.log(`  ${line}`));
  const run = {
    id: request.runId ?? defaultRunId(`gemm-${profile.name}`, startedAt), started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(), command: commandLine(), profile: profile.name, gemm_cache: gemms.file,
  };
  const files = writeGemmSuite(request.out, { schema: GEMM_SUITE_SCHEMA, run, env, rows, failed });
  for (const line of [...gemmSuiteSummary(rows), ...failed.map((failure) => `could not plan ${failure}`)]) console.log(line);
  console.log(`wrote ${files.join(', ')}`);
  return failed.length === 0 ? EXIT_OK : EXIT_POINT_FAILED;
}

export async function main(args: readonly string[]): Promise<number> {
  try {
    const request = parseBenchArgs(args);
    if (request === undefined) {
      console.log(USAGE);
      return EXIT_OK;
    }
    if (request.command === 'tune') return tune(request);
    return request.suite === 'gemm' ? await gemmSuiteRun(request) : await bench(request);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError || error instanceof ResultsFormatError || error instanceof GemmCacheError) {
      console.error(`ftbench: ${(error as Error).message}`);
      return EXIT_BAD_INPUT;
    }
    throw error;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
