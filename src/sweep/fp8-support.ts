// Where precision fp8 (E4M3 GEMMs, native/MODEL.md "fp8") can run, so that the sweep drops its points
// elsewhere with the reason instead of failing them: the cuda backend on a device of compute
// capability 8.9 or newer (Ada, Hopper: the first with fp8 tensor cores, which cuBLASLt's fp8 matmul
// needs), on every path (encoder, decoder, decoding). The cpu backend computes fp8 only as
// the emulated reference of cuda fp8 points (src/check/references.ts), never as a measured point.
import type { BackendName, PointConfig } from '../engine/config.js';
import type { NativeAddon } from '../engine/native.js';

/** The lowest compute capability with fp8 tensor cores (Ada is 8.9, Hopper 9.0). */
export const FP8_MIN_COMPUTE_CAPABILITY = [8, 9] as const;

/**
 * Why `backend` on this machine cannot run fp8 at all, or undefined when it can. `computeCapability`:
 * the cuda device's "major.minor" (deviceInfo's compute_capability); undefined when unknown.
 */
export function fp8Unsupported(backend: BackendName, computeCapability?: string): string | undefined {
  if (backend === 'cpu') return 'the cpu backend emulates fp8 only as the reference of cuda fp8 points (it measures fp32)';
  const [major, minor] = (computeCapability ?? '').split('.').map(Number);
  if (!Number.isInteger(major) || !Number.isInteger(minor)) return `the device's compute capability is unknown (${computeCapability ?? 'not reported'})`;
  const [needMajor, needMinor] = FP8_MIN_COMPUTE_CAPABILITY;
  if (major < needMajor || (major === needMajor && minor < needMinor)) {
    return `compute capability ${computeCapability} has no fp8 tensor cores (needs ${needMajor}.${needMinor} or newer)`;
  }
  return undefined;
}

/** Why an fp8 point is not run, or undefined when it is (`unsupported`: fp8Unsupported's answer for the machine). */
export function fp8DropReason(c: PointConfig, unsupported: string | undefined): string | undefined {
  if (c.precision !== 'fp8') return undefined;
  return unsupported === undefined ? undefined : `precision fp8 on the ${c.backend} backend: ${unsupported}`;
}

/** fp8Unsupported for `backend` on this machine: the cuda backend asks its device for the compute capability. */
export function machineFp8Support(addon: NativeAddon, backend: BackendName): string | undefined {
  return backend === 'cpu' ? fp8Unsupported('cpu') : fp8Unsupported(backend, addon.deviceInfo(backend).compute_capability);
}
