// What every bench-side command starts from: the engine, the backend and profile a request names
// (defaults: cuda when built, the profile for the device), the expanded sweep, and for cuda the GEMM
// tuning cache the points look their GEMMs up in (tuning the shapes it lacks when asked), for
// sweeps with peers, what the peer worker says it can run, and for a checkpoint (--model) what its
// parity is measured against: transformers where the worker has it, else the CPU reference.
import { getProfile, PROFILES } from '../../suites/index.js';
import { isPeerVariant, type BackendName, type PeerVariantName, type PointConfig } from '../engine/config.js';
import { loadAddon, type NativeAddon } from '../engine/native.js';
import { probePeers } from '../engine/peer-worker-client.js';
import { openGemmCache, tuneGemms, tuneSummary } from '../gemm/tuning.js';
import type { GemmEntry } from '../engine/gemm-types.js';
import type { Profile } from '../sweep/axes.js';
import { expandProfile, type PeerUnavailability } from '../sweep/expand.js';
import { machineFp8Support } from '../sweep/fp8-support.js';
import type { Environment } from '../results/schema.js';
import type { BenchRequest } from './args.js';
import { UsageError } from './exit.js';

/** The addon; failing to load it (not built, wrong platform) is a usage error, reported in one line. */
export function engine(): NativeAddon {
  try {
    return loadAddon();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function chooseBackend(addon: NativeAddon, requested: BackendName | undefined): BackendName {
  const built = addon.backends();
  if (requested === undefined) return built.includes('cuda') ? 'cuda' : 'cpu';
  if (!built.includes(requested)) throw new UsageError(`backend ${requested} is not built into this addon (built: ${built.join(', ')})`);
  return requested;
}

function defaultProfile(addon: NativeAddon, backend: BackendName): Profile {
  if (backend === 'cpu') return PROFILES.smoke;
  return (addon.deviceInfo('cuda').name ?? '').includes('H100') ? PROFILES.h100 : PROFILES.a100;
}

/** The profile, backend and points a request names; a usage error when nothing is left to run. */
export function requestedSweep(addon: NativeAddon, request: BenchRequest, overrides = request.overrides, unavailablePeers: PeerUnavailability = {}) {
  const backend = chooseBackend(addon, request.backend);
  const profile = request.profile === undefined ? defaultProfile(addon, backend) : getProfile(request.profile);
  const expansion = expandProfile(profile, backend, overrides, unavailablePeers, addon.deviceCount(backend),
    machineFp8Support(addon, backend));
  if (expansion.points.length === 0) {
    const why = expansion.dropped.length > 0 ? `every combination was dropped (${expansion.dropped[0].reason})` : 'no sweep matches';
    throw new UsageError(`nothing to run in profile ${profile.name} on the ${backend} backend: ${why}`);
  }
  return { backend, profile, expansion };
}

export function requireCuda(backend: BackendName, what: string): void {
  if (backend !== 'cuda') throw new UsageError(`${what} needs the cuda backend (GEMMs run through cuBLASLt)`);
}

/** The GEMM cache a cuda run's points look their GEMMs up in: its file and entries. */
export interface GemmTable {
  file: string;
  entries: GemmEntry[];
}

/** The GEMM cache's entries for a cuda sweep, after tuning the shapes it lacks when `tune`; says which cache is used. */
export function gemmTable(addon: NativeAddon, configs: readonly PointConfig[], file: string | undefined, tune: boolean): GemmTable {
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

/** What a run's peers run on (env.peers) and which peer variants cannot run here, and why. */
export interface PeerPlan {
  env?: Environment['peers'];
  unavailable: PeerUnavailability;
}

/**
 * Asks a peer worker hello once, when `points` has peer variants: the versions it runs on, and the
 * peer variants that cannot run here (no python3, no torch, no CUDA GPU, not offered), with the reason.
 */
export async function planPeers(points: readonly PointConfig[]): Promise<PeerPlan> {
  const variants = [...new Set(points.map((c) => c.variant).filter(isPeerVariant))];
  if (variants.length === 0) return { unavailable: {} };
  const probe = await probePeers();
  const offered = (variant: PeerVariantName) => probe.hello?.peers.includes(variant) ?? false;
  const unavailable: PeerUnavailability = Object.fromEntries(variants
    .map((variant) => [variant, probe.unavailable ?? (offered(variant) ? undefined : 'the peer worker does not offer it')])
    .filter(([, reason]) => reason !== undefined));
  if (!probe.hello) return { unavailable };
  const { python, torch, transformers, torch_cuda, cudnn, device } = probe.hello;
  return { env: { python, torch, transformers, torch_cuda, cudnn, device }, unavailable };
}

/** A checkpoint run's parity reference, as env.parity records it. */
export type ParityPlan = NonNullable<Environment['parity']>;

/**
 * Asks a peer worker hello once: transformers' output is the parity reference when its python has
 * transformers (on the GPU when torch sees one, else on the CPU); otherwise the CPU reference, with why.
 */
export async function planParity(): Promise<ParityPlan> {
  const { hello, unavailable } = await probePeers();
  if (!hello) return { reference: 'cpu', reason: `no transformers: ${unavailable}` };
  if (hello.transformers === null) {
    return { reference: 'cpu', reason: `no transformers: python ${hello.python} has no ${hello.torch === null ? 'torch' : 'transformers'}` };
  }
  return { reference: 'transformers', transformers: hello.transformers, python: hello.python, torch: hello.torch, device: hello.device };
}
