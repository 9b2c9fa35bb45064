// The environment a run was measured in, recorded with its results: host (systeminformation),
// the backend's device (the addon), Node, the git state of the checkout, the command line.
import { execFileSync } from 'node:child_process';
import si from 'systeminformation';
import type { BackendName } from '../engine/config.js';
import { projectRoot, type NativeAddon } from '../engine/native.js';
import { EnvSchema, type Environment } from '../results/schema.js';

export interface GitState {
  commit: string | null;
  dirty: boolean | null;
}

function git(args: string[], cwd: string): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** HEAD and whether the tree has uncommitted changes; nulls when `dir` is not a git checkout. */
export function gitState(dir = projectRoot): GitState {
  try {
    return { commit: git(['rev-parse', 'HEAD'], dir).trim(), dirty: git(['status', '--porcelain'], dir).trim() !== '' };
  } catch {
    return { commit: null, dirty: null };
  }
}

async function hostInfo(): Promise<Environment['host']> {
  const [cpu, memory, os] = await Promise.all([si.cpu(), si.mem(), si.osInfo()]);
  return {
    cpu: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' '),
    cores: cpu.cores,
    physical_cores: cpu.physicalCores,
    memory_gb: Math.round((memory.total / 2 ** 30) * 10) / 10,
    os: `${os.distro} ${os.release}`.trim(),
    node: process.version,
  };
}

/**
 * Host, device and git state. The device fields include its measured ceilings (the backend's
 * calibration, taken here once per run): peak_gbps and peak_tflops_<precision>, as numbers.
 */
export async function captureEnvironment(addon: NativeAddon, backend: BackendName): Promise<Environment> {
  // Parsed through the schema: the backend reports every device field as text, the schema reads its quantities as numbers.
  const device = EnvSchema.shape.device.parse({ ...addon.deviceInfo(backend), ...addon.calibrate(backend) });
  return { host: await hostInfo(), device, git: gitState() };
}

/** Quotes an argument for a POSIX shell when it needs it. */
const shellWord = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);

/** The command that reproduces this run: the `ftbench` bin and its arguments, shell-quoted. */
export function commandLine(args: readonly string[] = process.argv.slice(2)): string {
  return ['ftbench', ...args].map(shellWord).join(' ');
}
