// The peer backend of the runner: a point of a peer variant (torch-eager, torch-graph, torch-compile,
// hf-generate) runs in a peer worker process (src/engine/peer-worker-client.ts), one per point worker,
// reused from point to point. Before a point loads, its engine model and inputs are written as a
// checkpoint directory (src/checkpoints/engine-checkpoint.ts), so the peer runs on the engine's own
// weights and inputs. A PeerModel offers what the runner uses of a NativeModel (measure, run,
// outputs, notes, gemms, release), asynchronously: every call is a request to the worker.
// Failures are errors with the engine's codes, so the runner records them as it records the
// engine's (ERR_FTB_OOM -> oom, others -> error); a peer that is unavailable here fails its points.
// The same worker computes a user checkpoint's parity reference: transformers' last_hidden_state of
// the point's ids (the hf_hidden request), kept for the next points of the same model and ids.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CheckpointStore } from '../checkpoints/engine-checkpoint.js';
import type { TokenInputs } from '../checkpoints/inputs.js';
import type { ModelRef, PeerVariantName, PointConfig } from './config.js';
import type {
  NativeAddon, NativeConfig, NativeEnergy, NativeGemmChoice, NativeMemory, NativeOutputs, NativeSample,
} from './native.js';
import { PeerError, PeerWorkerClient, peerWorkerCommand, type PeerReply } from './peer-worker-client.js';

/** How long each request may take, ms. measure's grows with the units it runs (see PeerModel.measure). */
export interface PeerTimeouts {
  /** load: reading the checkpoint, casting, CUDA-graph capture, torch.compile (max-autotune takes minutes). */
  load_ms: number;
  /** Every other request (and measure's base). */
  request_ms: number;
}

export const DEFAULT_PEER_TIMEOUTS: PeerTimeouts = { load_ms: 540_000, request_ms: 120_000 };

/** measure may take this many times the units' expected time (from the last sample) beyond request_ms. */
const MEASURE_SLACK = 10;

/** The engine's code for a peer failure: the runner maps these to a point's status. */
function engineCoded(error: unknown): Error {
  if (!(error instanceof PeerError)) return error as Error;
  const code = error.code === 'ERR_FTB_UNAVAILABLE' ? 'ERR_FTB_ENGINE' : error.code;
  return Object.assign(new Error(error.message), { code });
}

/** Sends a request, with engine-coded failures. */
async function ask(client: PeerWorkerClient, request: { op: string } & Record<string, unknown>, timeoutMs: number): Promise<PeerReply> {
  try {
    return await client.request(request, timeoutMs);
  } catch (error) {
    throw engineCoded(error);
  }
}

/** The engine's fields of a point config: what the worker's load takes (it validates exactly these). */
function nativeConfig(c: PointConfig): NativeConfig {
  const { backend: _backend, mode: _mode, ...native } = c;
  return native;
}

interface OutputFile {
  file: string;
  dtype: string;
  shape: number[];
}

/** Reads one output file the worker wrote (raw little-endian float32 or int32). */
function readOutput(dir: string, name: string, entry: OutputFile): Float32Array | Int32Array {
  const bytes = fs.readFileSync(path.join(dir, path.basename(entry.file)));
  const count = entry.shape.reduce((a, b) => a * b, 1);
  if (bytes.byteLength !== count * 4 || (entry.dtype !== 'float32' && entry.dtype !== 'int32')) {
    throw engineCoded(new PeerError('ERR_FTB_ENGINE', `outputs: ${name} is ${bytes.byteLength} bytes of ${entry.dtype}, its shape [${entry.shape}] says ${count * 4} bytes of float32 or int32`));
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return entry.dtype === 'float32' ? new Float32Array(buffer) : new Int32Array(buffer);
}

/** A point's model loaded in the peer worker. */
export class PeerModel {
  /** The units' time of the last sample, ms: measure's timeout scales with it. */
  private lastUnitMs = 0;

  constructor(
    private readonly client: PeerWorkerClient,
    private readonly timeouts: PeerTimeouts,
    private readonly outputDir: string,
    private readonly loadNotes: Record<string, string>,
  ) {}

  /** Runs `iterations` units back to back (the L2 flushed first when asked): their mean time by CUDA events, and the SM clock. */
  async measure(iterations = 1, flushL2 = false): Promise<NativeSample> {
    const timeout = this.timeouts.request_ms + MEASURE_SLACK * iterations * this.lastUnitMs;
    const reply = await ask(this.client, { op: 'measure', iterations, flush_l2: flushL2 }, timeout);
    const sample = { ms: Number(reply.ms), smClockMhz: Number(reply.sm_clock_mhz ?? 0) };
    if (Number.isFinite(sample.ms)) this.lastUnitMs = sample.ms;
    return sample;
  }

  async run(): Promise<void> {
    await ask(this.client, { op: 'run' }, this.timeouts.request_ms);
  }

  /** The last unit's outputs; those a peer does not produce (hf-generate's beams, scores) are empty. */
  async outputs(): Promise<NativeOutputs> {
    fs.rmSync(this.outputDir, { recursive: true, force: true });
    const reply = await ask(this.client, { op: 'outputs', dir: this.outputDir }, this.timeouts.request_ms);
    const files = (reply.files ?? {}) as Record<string, OutputFile>;
    const read = <T extends Float32Array | Int32Array>(name: string, empty: T): T =>
      (files[name] ? readOutput(this.outputDir, name, files[name]) : empty) as T;
    return {
      hidden: read('hidden', new Float32Array()),
      lengths: read('lengths', new Int32Array()),
      outputIds: read('output_ids', new Int32Array()),
      stepIds: read('step_ids', new Int32Array()),
      parentIds: read('parent_ids', new Int32Array()),
      cumLogProbs: read('cum_log_probs', new Float32Array()),
      scores: read('scores', new Float32Array()),
      stepsRun: Number(reply.steps_run),
    };
  }

  /** What the worker said of the model at load (the peer's own notes, load_s, compile_s). */
  notes(): Record<string, string> {
    return { ...this.loadNotes };
  }

  /** A peer's GEMMs are its library's business: none recorded. */
  gemms(): NativeGemmChoice[] {
    return [];
  }

  /** A peer's memory lives in its worker's library (torch's allocator): not measured. */
  memory(): NativeMemory {
    return { reason: PEER_UNMEASURED };
  }

  /** Not measured for peers: the energy window runs the engine's own units. */
  measureEnergy(): NativeEnergy {
    return { reason: PEER_UNMEASURED };
  }

  /** Frees the model in the worker; a worker already dead has nothing left to free. */
  async release(): Promise<void> {
    if (this.client.alive) await this.client.request({ op: 'release' }, this.timeouts.request_ms).catch(() => {});
  }
}

const PEER_UNMEASURED = 'not measured for peer models (they run in the peer worker)';

/** The load reply's notes as a point records them: the peer's, then load_s and compile_s. */
function loadNotes(peer: PeerVariantName, reply: PeerReply): Record<string, string> {
  const own = Object.entries((reply.notes ?? {}) as Record<string, unknown>).map(([key, value]) => [key, String(value)]);
  const seconds = (value: unknown) => (typeof value === 'number' ? value.toFixed(3) : undefined);
  return Object.fromEntries([
    ['peer', peer], ...own,
    ...(seconds(reply.load_s) ? [['load_s', seconds(reply.load_s)!]] : []),
    ...(seconds(reply.compile_s) ? [['compile_s', seconds(reply.compile_s)!]] : []),
  ]);
}

export interface PeerBackendOptions {
  command?: string[];
  timeouts?: PeerTimeouts;
}

/** The peers of one point worker: its worker process (started at the first load) and checkpoint directories. */
export class PeerBackend {
  private client: PeerWorkerClient | undefined;
  private dir: string | undefined;
  private checkpoints: CheckpointStore | undefined;
  /** The last parity reference the worker computed, by model and inputs. */
  private hfHidden: { key: string; hidden: Float32Array } | undefined;
  /** Why peers cannot run here, once a worker said so: the next points fail at once, with the reason. */
  private unavailable: string | undefined;
  private readonly timeouts: PeerTimeouts;

  constructor(private readonly addon: NativeAddon, private readonly options: PeerBackendOptions = {}) {
    this.timeouts = options.timeouts ?? DEFAULT_PEER_TIMEOUTS;
  }

  /** Writes the point's checkpoint (when not written yet) and loads it in the worker as `config.variant`. */
  async load(config: PointConfig & { variant: PeerVariantName }): Promise<PeerModel> {
    if (this.unavailable) throw engineCoded(new PeerError('ERR_FTB_UNAVAILABLE', this.unavailable));
    this.dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-peers-'));
    this.checkpoints ??= new CheckpointStore(this.addon, this.dir);
    const checkpoint = this.checkpoints.prepare(config);
    if (!this.client?.alive) this.client = new PeerWorkerClient(this.options.command ?? peerWorkerCommand());
    try {
      const reply = await this.client.request({ op: 'load', peer: config.variant, checkpoint, config: nativeConfig(config) }, this.timeouts.load_ms);
      return new PeerModel(this.client, this.timeouts, path.join(this.dir, 'outputs'), loadNotes(config.variant, reply));
    } catch (error) {
      if (!(error instanceof PeerError && error.code === 'ERR_FTB_UNAVAILABLE')) throw engineCoded(error);
      this.unavailable = `peers unavailable: ${error.message}`;
      throw engineCoded(new PeerError(error.code, this.unavailable));
    }
  }

  /**
   * transformers' last_hidden_state [batch, seq, h] (padded rows 0) for `model`'s folder and these ids,
   * asked of the worker once per model and inputs (every variant and precision compares with it).
   */
  async transformersHidden(model: ModelRef, inputs: TokenInputs): Promise<Float32Array> {
    const key = JSON.stringify([model.dir, model.sha256, inputs]);
    if (this.hfHidden?.key === key) return this.hfHidden.hidden;
    this.hfHidden = undefined;
    this.dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-peers-'));
    if (!this.client?.alive) this.client = new PeerWorkerClient(this.options.command ?? peerWorkerCommand());
    const outputDir = path.join(this.dir, 'hf-hidden');
    fs.rmSync(outputDir, { recursive: true, force: true });
    const reply = await ask(this.client, { op: 'hf_hidden', model: model.dir, ids: inputs.ids, lengths: inputs.lengths, dir: outputDir },
      this.timeouts.load_ms);
    const entry = ((reply.files ?? {}) as Record<string, OutputFile>).hidden;
    if (!entry) throw engineCoded(new PeerError('ERR_FTB_ENGINE', 'hf_hidden: the reply names no hidden file'));
    const hidden = readOutput(outputDir, 'hidden', entry) as Float32Array;
    this.hfHidden = { key, hidden };
    return hidden;
  }

  /** Lets the worker exit and removes the checkpoints. */
  async close(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
    this.removeFiles();
  }

  /** Removes the checkpoints (synchronously: also when the process is exiting). */
  removeFiles(): void {
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    this.checkpoints = undefined;
  }
}
