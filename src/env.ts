// The environment a run was measured in, recorded with its results: host (systeminformation),
// the backend's device (the addon), Node, the git state of the checkout, the command line.
import { execFileSync } from 'node:child_process';
import si from 'systeminformation';
import type { BackendName } from './config.js';
import { projectRoot, type NativeAddon } from './native.js';
import type { Environment } from './schema.js';

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

export async function captureEnvironment(addon: NativeAddon, backend: BackendName): Promise<Environment> {
  return { host: await hostInfo(), device: addon.deviceInfo(backend), git: gitState() };
}

/** Quotes an argument for a POSIX shell when it needs it. */
const shellWord = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);

/** The command that reproduces this run: the `ftbench` bin and its arguments, shell-quoted. */
export function commandLine(args: readonly string[] = process.argv.slice(2)): string {
  return ['ftbench', ...args].map(shellWord).join(' ');
}
