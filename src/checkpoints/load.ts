// A Hugging Face model folder, loaded for the engine: config.json read (hf-config.ts), the weight
// files found (model.safetensors, or the shards model.safetensors.index.json lists), every header
// checked and every tensor the engine needs found with the shape config.json implies, all before
// any tensor is read; then the tensors read one at a time and converted to the engine's layouts
// (layout.ts). Any problem is one CheckpointError naming the file and tensor, and nothing is loaded.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { ModelRef } from '../engine/config.js';
import { readEncoderSpec, type EncoderSpec } from './hf-config.js';
import { engineTensors, familyPrefix, LEGACY_NORM_NAMES, neededTensors } from './layout.js';
import { CheckpointError, fileSha256, readSafetensorsHeader, readTensor, type SafetensorsFile } from './safetensors.js';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** A folder whose headers and shapes are checked: where each needed tensor is. */
export interface InspectedCheckpoint {
  spec: EncoderSpec;
  /** Unprefixed engine-side name -> the file holding it and its name there. */
  locations: Map<string, { file: SafetensorsFile; name: string }>;
  files: string[];
}

function shardFiles(dir: string): string[] {
  const index = path.join(dir, INDEX_FILE);
  let map: unknown;
  try {
    map = (JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map?: unknown }).weight_map;
  } catch (error) {
    throw new CheckpointError(`${index}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof map !== 'object' || map === null || !Object.values(map).every((file) => typeof file === 'string')) {
    throw new CheckpointError(`${index}: weight_map must map tensor names to file names`);
  }
  const files = [...new Set(Object.values(map as Record<string, string>))];
  const outside = files.find((file) => path.basename(file) !== file);
  if (outside !== undefined) throw new CheckpointError(`${index}: shard ${outside} is not a file of the model folder`);
  return files.map((file) => path.join(dir, file));
}

/** The weight files of a model folder. */
export function weightFiles(dir: string): string[] {
  if (fs.existsSync(path.join(dir, SINGLE_FILE))) return [path.join(dir, SINGLE_FILE)];
  if (fs.existsSync(path.join(dir, INDEX_FILE))) return shardFiles(dir);
  throw new CheckpointError(`${dir}: no ${SINGLE_FILE} or ${INDEX_FILE} (only safetensors checkpoints are read)`);
}

function tensorIndex(files: SafetensorsFile[]): Map<string, SafetensorsFile> {
  const index = new Map<string, SafetensorsFile>();
  for (const file of files) {
    for (const name of file.entries.keys()) {
      const other = index.get(name);
      if (other !== undefined) throw new CheckpointError(`${file.path}: tensor ${name} is also in ${other.path}`);
      index.set(name, file);
    }
  }
  return index;
}

/** Checks config.json, every header and every needed tensor's shape; reads no tensor data. */
export function inspectCheckpoint(dir: string): InspectedCheckpoint {
  const spec = readEncoderSpec(dir);
  const files = weightFiles(dir);
  const index = tensorIndex(files.map(readSafetensorsHeader));
  const prefix = familyPrefix(spec.family);
  const prefixed = index.has(`${prefix}embeddings.word_embeddings.weight`);
  const where = files.length === 1 ? files[0] : path.join(dir, INDEX_FILE);
  const locations = new Map<string, { file: SafetensorsFile; name: string }>();
  for (const needed of neededTensors(spec)) {
    const full = `${prefixed ? prefix : ''}${needed.name}`;
    const legacy = full.replace(/\.(weight|bias)$/, (_, end: string) => `.${LEGACY_NORM_NAMES[end]}`);
    const name = index.has(full) || !full.includes('LayerNorm') ? full : legacy;
    const file = index.get(name);
    if (file === undefined) throw new CheckpointError(`${where}: tensor ${full} is missing`);
    const shape = file.entries.get(name)!.shape;
    if (shape.join() !== needed.shape.join()) {
      throw new CheckpointError(`${file.path}: tensor ${name}: shape [${shape.join(', ')}] does not match config.json (expected [${needed.shape.join(', ')}])`);
    }
    locations.set(needed.name, { file, name });
  }
  return { spec, locations, files };
}

/** What a point records of the model: its family, name and the sha256 of its weights. */
export function modelRef(dir: string, inspected: InspectedCheckpoint, inputs?: string): ModelRef {
  const weights = inspected.files.map((file) => ({ file: path.basename(file), sha256: fileSha256(file) }));
  const sha256 = weights.length === 1 ? weights[0].sha256
    : crypto.createHash('sha256').update(weights.map((w) => `${w.file} ${w.sha256}\n`).join('')).digest('hex');
  return { dir, ...(inputs === undefined ? {} : { inputs }), type: inspected.spec.family, name: inspected.spec.name, sha256, weights };
}

/** A checkpoint in the engine's layouts (fp32; the backend converts it once to the point's precision). */
export interface LoadedCheckpoint {
  spec: EncoderSpec;
  tensors: Record<string, Float32Array>;
}

/** Inspects `dir`, then reads its tensors one at a time into the engine's layouts. */
export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const inspected = inspectCheckpoint(dir);
  const read = (name: string): Float32Array => {
    const location = inspected.locations.get(name)!;
    return readTensor(location.file, location.name);
  };
  return { spec: inspected.spec, tensors: engineTensors(inspected.spec, read) };
}
