// Baselines: results/baselines/<device>.json, replaced atomically; the replaced one is kept as
// <device>.json.prev so a bad promotion can be undone by hand.
import fs from 'node:fs';
import path from 'node:path';
import { makeDirectory, writeFileAtomic } from '../results/files.js';
import type { Results } from '../results/schema.js';
import { GateInputError } from './compare.js';

export const BASELINES_DIR = path.join('results', 'baselines');

const VENDOR_WORDS = new Set(['nvidia', 'geforce', 'tesla', 'quadro']);
const SLUG = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * The baseline's file name stem: "cpu" for the cpu backend, else the device name's words up to the
 * first one with a digit, vendor words dropped: "NVIDIA H100 80GB HBM3" -> "h100",
 * "NVIDIA A100-SXM4-80GB" -> "a100", "NVIDIA GeForce RTX 4090" -> "rtx-4090".
 */
export function deviceSlug(results: Results): string {
  if (results.run.backend === 'cpu' || results.env.device.backend === 'cpu') return 'cpu';
  const name = results.env.device.name ?? '';
  const words = name.toLowerCase().split(/[^a-z0-9]+/).filter((word) => word !== '' && !VENDOR_WORDS.has(word));
  const model = words.findIndex((word) => /\d/.test(word));
  if (model < 0) {
    throw new GateInputError(`cannot derive a device name from env.device.name ${JSON.stringify(name)}; pass --device`);
  }
  return words.slice(0, model + 1).join('-');
}

export function checkDeviceSlug(device: string): string {
  if (!SLUG.test(device)) {
    throw new GateInputError(`--device must be lower-case letters, digits, '.', '_' or '-', got ${JSON.stringify(device)}`);
  }
  return device;
}

export interface Promotion {
  file: string;
  /** Where the replaced baseline was kept, or null when there was none. */
  previous: string | null;
}

/**
 * Writes `text` (a validated results file, byte for byte) as the baseline of `device` under `dir`:
 * each file is written beside its target and renamed over it (checked, fsynced), so readers never see half a file.
 */
export function promoteBaseline(text: string, device: string, dir: string = BASELINES_DIR): Promotion {
  makeDirectory(dir);
  const file = path.join(dir, `${checkDeviceSlug(device)}.json`);
  let previous: string | null = null;
  if (fs.existsSync(file)) {
    previous = `${file}.prev`;
    writeFileAtomic(previous, fs.readFileSync(file, 'utf8'));
  }
  writeFileAtomic(file, text);
  return { file, previous };
}
