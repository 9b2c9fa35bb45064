// The bench and tune command line: its flags (node:util parseArgs), each value checked, into a
// BenchRequest. Lists are comma-separated; a list replaces that axis in every sweep of the profile.
// Every refusal is a UsageError or ConfigError naming the flag (exit 2, src/cli/exit.ts).
import { parseArgs } from 'node:util';
import { getProfile } from '../../suites/index.js';
import {
  BACKENDS, ConfigError, MODES, PATHS, PEER_VARIANTS, PRECISIONS, requireOneOf, requireRange, VARIANTS, type BackendName,
  type MeasureMode,
} from '../engine/config.js';
import type { Measurement } from '../sweep/axes.js';
import { validateOverrides, type SweepOverrides } from '../sweep/expand.js';
import { parseShard, type Shard } from '../sweep/shard.js';
import { UsageError } from './exit.js';

export const OPTIONS = {
  profile: { type: 'string' },
  backend: { type: 'string' },
  path: { type: 'string' },
  variant: { type: 'string' },
  peers: { type: 'string' },
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
  tp: { type: 'string' },
  'profile-kernels': { type: 'boolean' },
  seed: { type: 'string' },
  'min-samples': { type: 'string' },
  'min-time': { type: 'string' },
  'max-noise': { type: 'string' },
  timeout: { type: 'string' },
  warmup: { type: 'string' },
  instances: { type: 'string' },
  'fresh-process': { type: 'boolean' },
  'shared-process': { type: 'boolean' },
  out: { type: 'string' },
  'run-id': { type: 'string' },
  resume: { type: 'string' },
  repeat: { type: 'string' },
  'point-timeout': { type: 'string' },
  markdown: { type: 'string' },
  tune: { type: 'boolean' },
  suite: { type: 'string' },
  'gemm-cache': { type: 'string' },
  model: { type: 'string' },
  inputs: { type: 'string' },
  shard: { type: 'string' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const SUITES = ['points', 'gemm'] as const;

export const DEFAULT_OUT = 'results/runs';
export const DEFAULT_POINT_TIMEOUT_S = 600;
/** The longest time any time flag may ask for: setTimeout's limit, 2^31-1 ms (about 24.8 days). */
export const MAX_TIME_MS = 2 ** 31 - 1;
/** Units of work a --profile-kernels trace covers. */
export const PROFILE_ITERATIONS = 3;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true; allowPositionals: true }>>['values'];

export interface BenchRequest {
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
  /** A Hugging Face model folder to run on the encoder path, and its token ids file. */
  model?: string;
  inputs?: string;
  /** Run only this slice of the sweep's points (src/sweep/shard.ts). */
  shard?: Shard;
  /** Replace an existing run's files (--force). */
  force: boolean;
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
    peers: f.peers === undefined ? undefined : choices('peers', f.peers, PEER_VARIANTS),
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
    tp: list('tp', f.tp),
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

/** A number of seconds from flag `field`, at least `least` and at most MAX_TIME_MS (a timer must be able to wait for it). */
function seconds(field: string, text: string, least: 'zero' | 'positive' = 'zero'): number {
  const value = single(field, text);
  if (least === 'zero' ? value < 0 : !(value > 0)) {
    throw new ConfigError(field, `${field} must be ${least === 'zero' ? '>= 0' : '> 0'} (seconds), got ${value}`);
  }
  if (value * 1000 > MAX_TIME_MS) throw new ConfigError(field, `${field} must be at most ${MAX_TIME_MS / 1000} s, got ${value}`);
  return value;
}

/** A non-negative number of seconds from flag `field`, in ms. */
const milliseconds = (field: string, text: string): number => seconds(field, text) * 1000;

function measurementOverrides(f: Flags): Partial<Measurement> {
  const measurement: Partial<Measurement> = {};
  if (f['min-samples'] !== undefined) {
    measurement.min_samples = single('min_samples', f['min-samples']);
    requireRange('min_samples', measurement.min_samples, 1, 1_000_000);
  }
  if (f['min-time'] !== undefined) measurement.min_time_ms = milliseconds('min_time', f['min-time']);
  if (f.timeout !== undefined) measurement.timeout_ms = milliseconds('timeout', f.timeout);
  if (f.warmup !== undefined) measurement.warmup_ms = milliseconds('warmup', f.warmup);
  if (f.instances !== undefined) {
    measurement.instances = single('instances', f.instances);
    requireRange('instances', measurement.instances, 1, 100);
  }
  if (f['fresh-process'] && f['shared-process']) {
    throw new ConfigError('fresh_process', 'fresh_process: --fresh-process and --shared-process contradict each other');
  }
  if (f['fresh-process'] || f['shared-process']) measurement.fresh_process = f['fresh-process'] === true;
  if (f['max-noise'] !== undefined) {
    measurement.max_noise_pct = single('max_noise', f['max-noise']);
    if (!(measurement.max_noise_pct > 0)) throw new ConfigError('max_noise', `max_noise must be > 0 (%), got ${measurement.max_noise_pct}`);
  }
  return measurement;
}

/** --model takes the encoder path and its dims from config.json; --inputs sets batch and seq. */
function checkModelFlags(f: Flags): void {
  if (f.inputs !== undefined && f.model === undefined) throw new UsageError('--inputs needs --model (token ids for a checkpoint)');
  if (f.model === undefined) return;
  const dims = (['layers', 'heads', 'head-size', 'inter-size', 'vocab'] as const).filter((name) => f[name] !== undefined);
  if (dims.length > 0) throw new UsageError(`--model takes its dims from config.json: drop --${dims.join(', --')}`);
  const other = f.path === undefined ? undefined : items(f.path).find((path) => path !== 'encoder');
  if (other !== undefined) throw new UsageError(`--model runs the encoder path only, got --path ${other}`);
  const shape = (['batch', 'seq'] as const).filter((name) => f[name] !== undefined);
  if (f.inputs !== undefined && shape.length > 0) throw new UsageError(`--inputs sets batch and seq: drop --${shape.join(', --')}`);
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
export function parseBenchArgs(args: readonly string[]): BenchRequest | undefined {
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
  checkModelFlags(flags);
  const repeat = flags.repeat === undefined ? 1 : single('repeat', flags.repeat);
  requireRange('repeat', repeat, 1, 1000);
  const pointTimeoutS = flags['point-timeout'] === undefined
    ? DEFAULT_POINT_TIMEOUT_S : seconds('point_timeout', flags['point-timeout'], 'positive');
  const suite = flags.suite === undefined ? 'points' : requireOneOf('suite', flags.suite, SUITES);
  if (command === 'tune' && (flags.suite !== undefined || flags.tune)) throw new UsageError('tune takes neither --suite nor --tune');
  if (flags.model !== undefined && (command === 'tune' || suite === 'gemm')) throw new UsageError('--model runs with bench on the points suite');
  if (flags.shard !== undefined && (command === 'tune' || suite === 'gemm')) {
    throw new UsageError('--shard slices the points of a bench sweep: not for tune or --suite gemm');
  }
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
    model: flags.model,
    inputs: flags.inputs,
    shard: flags.shard === undefined ? undefined : parseShard(flags.shard),
    force: flags.force ?? false,
  }) as BenchRequest;
}
