// The token ids a checkpoint's point runs on: an `--inputs` file ({ids: number[][], lengths?:
// number[]}, checked against the model) or seeded random ids with the sweep's batch, seq and the
// synthetic model's lengths for that seed (so both models run the same shapes).
import fs from 'node:fs';
import { InputError } from '../input-error.js';
import type { EncoderSpec } from './hf-config.js';

/** Token ids [batch][seq] and each sequence's length (its valid tokens come first). */
export interface TokenInputs {
  ids: number[][];
  lengths: number[];
}

/** An `--inputs` file that cannot be used; the message names the file and the field. */
export class InputsFileError extends InputError {}

const isId = (value: unknown, vocab: number): value is number => Number.isInteger(value) && (value as number) >= 0 && (value as number) < vocab;

function checkedIds(file: string, value: unknown, spec: EncoderSpec): number[][] {
  if (!Array.isArray(value) || value.length === 0 || !value.every(Array.isArray)) {
    throw new InputsFileError(`${file}: ids must be a non-empty list of lists of token ids`);
  }
  const seq = (value[0] as unknown[]).length;
  value.forEach((row: unknown[], b) => {
    if (row.length !== seq || seq === 0) throw new InputsFileError(`${file}: ids[${b}] has ${row.length} ids, ids[0] has ${seq} (all rows alike, at least one)`);
    const bad = row.findIndex((id) => !isId(id, spec.vocab));
    if (bad >= 0) throw new InputsFileError(`${file}: ids[${b}][${bad}] must be a token id 0..${spec.vocab - 1}, got ${JSON.stringify(row[bad])}`);
  });
  return value as number[][];
}

function checkedLengths(file: string, value: unknown, batch: number, seq: number): number[] {
  if (value === undefined) return Array(batch).fill(seq);
  if (!Array.isArray(value) || value.length !== batch) throw new InputsFileError(`${file}: lengths must list one length per row of ids (${batch})`);
  const bad = value.findIndex((length) => !(Number.isInteger(length) && length >= 1 && length <= seq));
  if (bad >= 0) throw new InputsFileError(`${file}: lengths[${bad}] must be 1..${seq}, got ${JSON.stringify(value[bad])}`);
  return value as number[];
}

/**
 * RoBERTa numbers positions by skipping its padding id: a padding id among a sequence's valid tokens
 * would shift Hugging Face's positions but not the engine's, so it is refused.
 */
function checkPadding(file: string, inputs: TokenInputs, spec: EncoderSpec): void {
  inputs.ids.forEach((row, b) => {
    const s = row.slice(0, inputs.lengths[b]).indexOf(spec.padding_id ?? -1);
    if (s >= 0) throw new InputsFileError(`${file}: ids[${b}][${s}] is the padding id ${spec.padding_id}, inside the sequence's length`);
  });
}

/** An `--inputs` file, checked against the model's vocabulary and positions. */
export function readInputsFile(file: string, spec: EncoderSpec): TokenInputs {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InputsFileError(`${file}: cannot be read as JSON (${reason})`);
  }
  if (typeof data !== 'object' || data === null) throw new InputsFileError(`${file}: must be an object {ids, lengths?}`);
  const ids = checkedIds(file, (data as { ids?: unknown }).ids, spec);
  const seq = ids[0].length;
  if (seq + spec.position_offset > spec.max_positions) {
    throw new InputsFileError(`${file}: rows of ${seq} ids, the model has positions for ${spec.max_positions - spec.position_offset}`);
  }
  const inputs = { ids, lengths: checkedLengths(file, (data as { lengths?: unknown }).lengths, ids.length, seq) };
  checkPadding(file, inputs, spec);
  return inputs;
}

/** A small seeded generator (mulberry32): the same ids for the same seed on every machine. */
function generator(seed: number): () => number {
  let state = (seed >>> 0) ^ 0x9e3779b9;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Seeded random ids [batch][seq] in the vocabulary (never the padding id), with the given lengths. */
export function randomInputs(spec: EncoderSpec, seed: number, lengths: number[], seq: number): TokenInputs {
  const next = generator(seed);
  const draw = (): number => {
    const id = Math.floor(next() * spec.vocab);
    return id === spec.padding_id ? (id + 1) % spec.vocab : id;
  };
  return { ids: lengths.map(() => Array.from({ length: seq }, draw)), lengths };
}
