// The plan of a bench run: a new run (its JSONL opened, its options recorded in run.options) or a
// resumed one (the options read back from the run's header and checked again, the points its stream
// lacks), with how each point is measured.
import fs from 'node:fs';
import { getProfile } from '../../suites/index.js';
import { configKey, PEER_VARIANTS, type PointConfig } from '../engine/config.js';
import type { NativeAddon } from '../engine/native.js';
import { captureEnvironment, commandLine } from '../measure/environment.js';
import { deviceCeilings } from '../results/device-ceilings.js';
import type { PointWork } from '../measure/runner.js';
import { ResultsFormatError, type Dropped, type Environment } from '../results/schema.js';
import { defaultRunId, ResultsWriter } from '../results/writer.js';
import type { Measurement } from '../sweep/axes.js';
import { expandProfile, validateOverrides, type PeerUnavailability, type SweepOverrides } from '../sweep/expand.js';
import { machineFp8Support } from '../sweep/fp8-support.js';
import { recordedShard, shardPoints, shardText, type Shard } from '../sweep/shard.js';
import { DEFAULT_POINT_TIMEOUT_S, MAX_TIME_MS, PROFILE_ITERATIONS, type BenchRequest } from './args.js';
import { UsageError } from './exit.js';
import { modelPlan, withModel, type ModelRequest } from './model-plan.js';
import { chooseBackend, gemmTable, planParity, planPeers, requestedSweep, requireCuda, type GemmTable } from './sweep-plan.js';

/** "N× reason" lines, one per distinct reason, in first-seen order. */
function droppedSummary(dropped: readonly Dropped[]): string[] {
  const counts = new Map<string, number>();
  for (const { reason } of dropped) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts].map(([reason, count]) => `  dropped ${count}x ${reason}`);
}

const warnLine = (message: string): void => console.error(`ftbench: warning: ${message}`);

/** A run ready to go: where it writes, the points still to run, and how. */
export interface SweepPlan {
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
  /** --model (and --inputs): the checkpoint the points run. */
  model?: ModelRequest;
  /** The peer variants the machine could not run when the run started (dropped; a resumed run drops them too). */
  unavailablePeers: PeerUnavailability;
  shard?: Shard;
}

/** The sweep's points `repeat` times over, whole sweep after whole sweep. */
const repeated = (configs: PointConfig[], repeat: number): SweepPlan['points'] =>
  Array.from({ length: repeat }, (_, r) => configs.map((config) => ({ config, repeat: r }))).flat();

/** A point's identity within a run: its key, and its repeat when the run repeats. */
const runKey = (config: PointConfig, repeat = 0): string => `${configKey(config)} #${repeat}`;

/** run.options of a new run, as recordedOptions reads them back, with the expansion's notes. */
const optionsRecord = (o: RecordedOptions, notes: string[]): Record<string, unknown> => ({
  measurement: o.measurement, overrides: o.overrides, notes, point_timeout_s: o.pointTimeoutS, profile_kernels: o.profileKernels,
  repeat: o.repeat, ...(o.model ? { model: o.model } : {}),
  ...(Object.keys(o.unavailablePeers).length > 0 ? { unavailable_peers: o.unavailablePeers } : {}),
  ...(o.shard ? { shard: o.shard } : {}),
});

/** The points of the run's shard (all of them when it is not one); a shard with none is refused. */
function shardOf(points: PointConfig[], shard: Shard | undefined): PointConfig[] {
  if (shard === undefined) return points;
  const slice = shardPoints(points, shard);
  if (slice.length === 0) throw new UsageError(`--shard ${shardText(shard)}: no points in this shard (the sweep has ${points.length})`);
  return slice;
}

/** How each point of a run is measured: the run's options, its device's ceilings and the GEMM table (cuda). */
const pointWork = (options: RecordedOptions, env: Environment, gemms?: GemmTable): PointWork => ({
  measurement: options.measurement,
  ...(env.parity ? { parity: env.parity.reference } : {}),
  ceilings: deviceCeilings(env),
  ...(options.profileKernels ? { profileIterations: PROFILE_ITERATIONS } : {}),
  ...(gemms ? { gemmTable: gemms.entries } : {}),
});

/** The checkpoint a run's points carry, with its dims as overrides; none without --model. */
function checkpointPlan(model: ModelRequest | undefined, overrides: SweepOverrides) {
  return model === undefined ? undefined : modelPlan(model, overrides);
}

/** A new run of the requested profile; prints what it will run. */
export async function newRun(addon: NativeAddon, request: BenchRequest): Promise<SweepPlan> {
  const model: ModelRequest | undefined = request.model === undefined ? undefined
    : { dir: request.model, ...(request.inputs === undefined ? {} : { inputs: request.inputs }) };
  const checkpoint = checkpointPlan(model, request.overrides);
  const overrides = checkpoint?.overrides ?? request.overrides;
  const first = requestedSweep(addon, request, overrides);
  const peers = await planPeers(first.expansion.points);
  const requested = Object.keys(peers.unavailable).length > 0 ? requestedSweep(addon, request, overrides, peers.unavailable) : first;
  const { backend, profile } = requested;
  const expansion = checkpoint ? { ...requested.expansion, points: withModel(requested.expansion.points, checkpoint) } : requested.expansion;
  const measurement: Measurement = { ...profile.measurement, ...request.measurement };
  if (request.profileKernels && backend === 'cpu') throw new UsageError('--profile-kernels needs the cuda backend (kernel traces come from CUPTI)');
  if (request.tune) requireCuda(backend, '--tune');
  const options: RecordedOptions = {
    measurement, overrides: request.overrides, pointTimeoutS: request.pointTimeoutS, profileKernels: request.profileKernels,
    repeat: request.repeat, unavailablePeers: peers.unavailable, ...(model ? { model } : {}), shard: request.shard,
  };
  const points = shardOf(expansion.points, options.shard);
  const startedAt = new Date();
  const parity = checkpoint ? await planParity() : undefined;
  const env = { ...(await captureEnvironment(addon, backend)), ...(peers.env ? { peers: peers.env } : {}), ...(parity ? { parity } : {}) };
  const gemms = backend === 'cuda' ? gemmTable(addon, points, request.gemmCache, request.tune) : undefined;
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
  }, { force: request.force, warn: warnLine });
  const device = addon.deviceInfo(backend).name ?? backend;
  const sliced = options.shard ? ` (shard ${shardText(options.shard)}: ${points.length} of them)` : '';
  console.log(`ftbench: profile ${profile.name} on ${device} (${backend}): ${expansion.points.length} points${sliced}, ` +
    `${expansion.dropped.length} combinations dropped -> ${writer.jsonlPath}`);
  for (const note of expansion.notes) console.log(`  note: ${note}`);
  if (parity) console.log(`  parity: ${parity.reference === 'transformers' ? `against transformers ${parity.transformers} (${parity.device ?? 'cpu'})` : `against the cpu reference (${parity.reason})`}`);
  for (const line of droppedSummary(expansion.dropped)) console.log(line);
  return {
    writer, points: repeated(points, options.repeat), repeats: options.repeat,
    work: pointWork(options, env, gemms), pointTimeoutS: options.pointTimeoutS, gemmCache: gemms?.file,
  };
}

/** The options a run recorded (see newRun), checked again: the file may have been edited. */
function recordedOptions(options: Record<string, unknown>): RecordedOptions {
  const measurement = options.measurement as Partial<Measurement> | undefined;
  const valid = (value: unknown) => typeof value === 'number' && value >= 0 && value <= MAX_TIME_MS;
  const fields = ['min_samples', 'min_time_ms', 'max_noise_pct', 'timeout_ms', 'warmup_ms'] as const;
  if (!measurement || !fields.every((field) => valid(measurement[field]))) {
    throw new ResultsFormatError(`run.options.measurement must hold ${fields.join(', ')}, each 0..${MAX_TIME_MS}`);
  }
  const instances = measurement.instances ?? 1;
  if (!(Number.isInteger(instances) && instances >= 1 && instances <= 100)) {
    throw new ResultsFormatError('run.options.measurement.instances must be an integer 1..100');
  }
  if (!['undefined', 'boolean'].includes(typeof measurement.fresh_process)) {
    throw new ResultsFormatError('run.options.measurement.fresh_process must be true or false');
  }
  const overrides = (options.overrides ?? {}) as SweepOverrides;
  validateOverrides(overrides);
  const pointTimeoutS = options.point_timeout_s ?? DEFAULT_POINT_TIMEOUT_S;
  if (!(typeof pointTimeoutS === 'number' && pointTimeoutS > 0 && pointTimeoutS * 1000 <= MAX_TIME_MS)) {
    throw new ResultsFormatError(`run.options.point_timeout_s must be > 0 and at most ${MAX_TIME_MS / 1000}`);
  }
  const repeat = options.repeat ?? 1;
  if (!(typeof repeat === 'number' && Number.isInteger(repeat) && repeat >= 1)) throw new ResultsFormatError('run.options.repeat must be an integer >= 1');
  const model = options.model as ModelRequest | undefined;
  if (model !== undefined && (typeof model.dir !== 'string' || !['undefined', 'string'].includes(typeof model.inputs))) {
    throw new ResultsFormatError('run.options.model must be {dir, inputs?} (strings)');
  }
  const unavailablePeers = (options.unavailable_peers ?? {}) as PeerUnavailability;
  if (typeof unavailablePeers !== 'object' || Object.entries(unavailablePeers).some(([peer, why]) =>
    !(PEER_VARIANTS as readonly string[]).includes(peer) || typeof why !== 'string')) {
    throw new ResultsFormatError(`run.options.unavailable_peers must map peer variants (${PEER_VARIANTS.join(', ')}) to reasons`);
  }
  return {
    measurement: measurement as Measurement, overrides, pointTimeoutS, profileKernels: options.profile_kernels === true, repeat, unavailablePeers,
    ...(model ? { model } : {}), shard: recordedShard(options),
  };
}

/** Run `id` in `request.out`, to be finished: its profile's points whose keys its JSONL lacks. */
export function resumedRun(addon: NativeAddon, request: BenchRequest & { resume: string }): SweepPlan {
  const writer = ResultsWriter.resume(request.out, request.resume, warnLine);
  try {
    return resumePlan(addon, writer);
  } catch (error) {
    writer.close();
    throw error;
  }
}

/** The plan of a resumed run whose stream `writer` holds. */
function resumePlan(addon: NativeAddon, writer: ResultsWriter): SweepPlan {
  const { run } = writer.header;
  const options = recordedOptions(run.options);
  const backend = chooseBackend(addon, run.backend);
  const checkpoint = checkpointPlan(options.model, options.overrides);
  const expanded = expandProfile(getProfile(run.profile), backend, checkpoint?.overrides ?? options.overrides, options.unavailablePeers,
    addon.deviceCount(backend), machineFp8Support(addon, backend));
  const expansion = checkpoint ? { ...expanded, points: withModel(expanded.points, checkpoint) } : expanded;
  const done = new Set(writer.written.map((point) => runKey(point.config, point.repeat)));
  const all = repeated(shardOf(expansion.points, options.shard), options.repeat);
  const points = all.filter((point) => !done.has(runKey(point.config, point.repeat)));
  console.log(`ftbench: resuming run ${writer.runId} (profile ${run.profile}, ${backend}): ${all.length - points.length} of ` +
    `${all.length} points done, ${points.length} to run -> ${writer.jsonlPath}`);
  // The run's own cache where it had one (it may have been written since: it is read again).
  const recorded = typeof run.options.gemm_cache === 'string' && fs.existsSync(run.options.gemm_cache) ? run.options.gemm_cache : undefined;
  const gemms = backend === 'cuda' ? gemmTable(addon, [], recorded, false) : undefined;
  return {
    writer, points, repeats: options.repeat, pointTimeoutS: options.pointTimeoutS,
    work: pointWork(options, writer.header.env, gemms), gemmCache: gemms?.file,
  };
}
