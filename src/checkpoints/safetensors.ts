// The safetensors format, in which Hugging Face checkpoints store tensors: an 8-byte little-endian
// header length N, N bytes of JSON header ({name: {dtype, shape, data_offsets: [begin, end]}} plus an
// optional "__metadata__" of strings), then the tensors' bytes, offsets relative to the end of the
// header. The peers write each point's model with it (the writing half); `--model` reads users'
// checkpoints with it (the reading half). Both share these definitions.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { InputError } from '../input-error.js';
import { writeAll } from '../results/files.js';

/** Bytes per element of the dtypes ftbench writes or reads. */
export const DTYPE_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 } as const;
export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

/** One tensor's header entry. */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range of the tensor's data, relative to the end of the header. */
  data_offsets: [number, number];
}

/** Byte size of a tensor of `shape` and `dtype`. */
export const tensorBytes = (dtype: SafetensorsDtype, shape: readonly number[]): number =>
  shape.reduce((n, d) => n * d, DTYPE_BYTES[dtype]);

// ---- Reading: the header checked whole before any tensor is read, then tensors one at a time ----

/** A checkpoint file that cannot be used: one line naming the file (and the tensor), exit 2. */
export class CheckpointError extends InputError {}

/** A checked safetensors file: where its data starts and its tensors' entries. */
export interface SafetensorsFile {
  path: string;
  /** Byte offset of the data section (8 + header length). */
  dataStart: number;
  entries: Map<string, SafetensorsEntry>;
}

/** Bytes read per positional read while hashing. */
const HASH_CHUNK = 1 << 24;

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function headerJson(file: string, fd: number, size: number): { json: unknown; dataStart: number } {
  if (size < 8) throw new CheckpointError(`${file}: ${size} bytes, too short for a safetensors header`);
  const lengthBytes = Buffer.alloc(8);
  fs.readSync(fd, lengthBytes, 0, 8, 0);
  const length = lengthBytes.readBigUInt64LE(0);
  if (length > BigInt(size - 8)) {
    throw new CheckpointError(`${file}: header length ${length} runs past the end of the file (${size} bytes)`);
  }
  const header = Buffer.alloc(Number(length));
  fs.readSync(fd, header, 0, header.length, 8);
  try {
    return { json: JSON.parse(header.toString('utf8')), dataStart: 8 + header.length };
  } catch {
    throw new CheckpointError(`${file}: header is not valid JSON`);
  }
}

function checkedEntry(file: string, name: string, value: unknown, dataBytes: number): SafetensorsEntry {
  const where = `${file}: tensor ${name}`;
  const entry = value as Partial<Record<keyof SafetensorsEntry, unknown>> | null;
  if (typeof entry !== 'object' || entry === null) throw new CheckpointError(`${where}: header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    throw new CheckpointError(`${where}: dtype ${JSON.stringify(dtype)} is not supported (${Object.keys(DTYPE_BYTES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) throw new CheckpointError(`${where}: shape must be a list of sizes`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw new CheckpointError(`${where}: data_offsets must be [begin, end] with begin <= end`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataBytes) {
    throw new CheckpointError(`${where}: data_offsets [${begin}, ${end}] run past the end of the data (${dataBytes} bytes; truncated file?)`);
  }
  const bytes = tensorBytes(dtype as SafetensorsDtype, shape);
  if (bytes !== end - begin) {
    throw new CheckpointError(`${where}: shape [${shape.join(', ')}] of ${dtype} needs ${bytes} bytes, data_offsets span ${end - begin}`);
  }
  return { dtype: dtype as SafetensorsDtype, shape: [...shape], data_offsets: [begin, end] };
}

function checkOverlaps(file: string, entries: Map<string, SafetensorsEntry>): void {
  const sorted = [...entries].sort(([, a], [, b]) => a.data_offsets[0] - b.data_offsets[0]);
  for (let i = 1; i < sorted.length; i++) {
    const [previous, before] = sorted[i - 1];
    const [name, entry] = sorted[i];
    if (entry.data_offsets[0] < before.data_offsets[1]) {
      throw new CheckpointError(`${file}: tensor ${name}: data_offsets overlap those of tensor ${previous}`);
    }
  }
}

/** Opens and checks a safetensors file's header (sizes, JSON, dtypes, shapes against offsets, bounds, overlaps); reads no tensor. */
export function readSafetensorsHeader(file: string): SafetensorsFile {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    throw new CheckpointError(`${file}: cannot be opened (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const { json, dataStart } = headerJson(file, fd, size);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CheckpointError(`${file}: header is not a JSON object`);
    const entries = new Map<string, SafetensorsEntry>();
    for (const [name, value] of Object.entries(json)) {
      if (name !== '__metadata__') entries.set(name, checkedEntry(file, name, value, size - dataStart));
    }
    checkOverlaps(file, entries);
    return { path: file, dataStart, entries };
  } finally {
    fs.closeSync(fd);
  }
}

const f16Table = (() => {
  const table = new Float32Array(1 << 16);
  for (let bits = 0; bits < 1 << 16; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    table[bits] = exponent === 0 ? sign * mantissa * 2 ** -24
      : exponent === 31 ? (mantissa ? NaN : sign * Infinity)
      : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return table;
})();

/** The tensor's values widened to fp32 (exact for F16 and BF16; I32/I64/F64 rounded to the nearest fp32). */
function toFloat32(dtype: SafetensorsDtype, bytes: Uint8Array): Float32Array {
  const buffer = bytes.buffer;
  switch (dtype) {
    case 'F32': return new Float32Array(buffer);
    case 'F64': return Float32Array.from(new Float64Array(buffer));
    case 'I32': return Float32Array.from(new Int32Array(buffer));
    case 'I64': return Float32Array.from(new BigInt64Array(buffer), (value) => Number(value));
    case 'F16': return Float32Array.from(new Uint16Array(buffer), (bits) => f16Table[bits]);
    case 'BF16': {
      const words = new Uint32Array(bytes.length / 2);
      new Uint16Array(buffer).forEach((bits, i) => { words[i] = bits << 16; });
      return new Float32Array(words.buffer);
    }
  }
}

/** One tensor of a checked file, read with one positional read and widened to fp32. */
export function readTensor(file: SafetensorsFile, name: string): Float32Array {
  const entry = file.entries.get(name);
  if (entry === undefined) throw new CheckpointError(`${file.path}: tensor ${name} is missing`);
  const [begin, end] = entry.data_offsets;
  const bytes = new Uint8Array(end - begin);
  const fd = fs.openSync(file.path, 'r');
  try {
    const read = fs.readSync(fd, bytes, 0, bytes.length, file.dataStart + begin);
    if (read !== bytes.length) throw new CheckpointError(`${file.path}: tensor ${name}: file ended after ${read} of ${bytes.length} bytes`);
  } finally {
    fs.closeSync(fd);
  }
  return toFloat32(entry.dtype, bytes);
}

/** sha256 of a file, read in chunks (never whole in memory). */
export function fileSha256(file: string): string {
  const hash = crypto.createHash('sha256');
  const chunk = Buffer.alloc(HASH_CHUNK);
  const fd = fs.openSync(file, 'r');
  try {
    for (let position = 0; ; ) {
      const read = fs.readSync(fd, chunk, 0, chunk.length, position);
      if (read === 0) break;
      hash.update(chunk.subarray(0, read));
      position += read;
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

// ---- Writing ----

/** A tensor to write: its header entry's dtype and shape, and its bytes, produced in order. */
export interface TensorSource {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /**
   * Hands the tensor's bytes to `write`, in order, in chunks of any size that add up to
   * tensorBytes(dtype, shape): a large tensor is produced piece by piece, never held twice.
   */
  produce(write: (chunk: ArrayBufferView) => void): void;
}

/** The dtype of a typed array's elements. */
function dtypeOf(values: Float32Array | Float64Array | Int32Array): SafetensorsDtype {
  return values instanceof Float32Array ? 'F32' : values instanceof Float64Array ? 'F64' : 'I32';
}

/** A tensor whose values are all in memory already. */
export function arrayTensor(name: string, shape: number[], values: Float32Array | Float64Array | Int32Array): TensorSource {
  return { name, dtype: dtypeOf(values), shape, produce: (write) => write(values) };
}

/**
 * The file's first bytes: the header length (u64 little-endian), then the JSON header, padded with
 * spaces to a multiple of 8 bytes so that every tensor's data starts 8-byte aligned (as the
 * reference implementation writes it). Tensors are laid out in the order given.
 */
export function safetensorsHeader(tensors: readonly Omit<TensorSource, 'produce'>[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const { name, dtype, shape } of tensors) {
    if (name in header) throw new Error(`safetensors: tensor ${name} written twice`);
    const end = offset + tensorBytes(dtype, shape);
    header[name] = { dtype, shape, data_offsets: [offset, end] } satisfies SafetensorsEntry;
    offset = end;
  }
  const json = JSON.stringify(header);
  const length = Math.ceil(Buffer.byteLength(json) / 8) * 8;
  const bytes = Buffer.alloc(8 + length, ' ');
  bytes.writeBigUInt64LE(BigInt(length), 0);
  bytes.write(json, 8, 'utf8');
  return bytes;
}

/**
 * Writes `tensors` to `file` as safetensors, each tensor's bytes as its source produces them (no
 * copy of the whole file in memory). The file appears whole or not at all: it is written under a
 * temporary name (every write checked: src/results/files.ts), fsynced and renamed. Throws when a source produces more or fewer bytes than its shape says.
 */
export function writeSafetensors(file: string, tensors: readonly TensorSource[], metadata?: Record<string, string>): void {
  if (os.endianness() !== 'LE') throw new Error('safetensors: writing needs a little-endian host');
  const partial = `${file}.partial`;
  const fd = fs.openSync(partial, 'w');
  try {
    writeAll(fd, safetensorsHeader(tensors, metadata), partial);
    for (const tensor of tensors) {
      const expected = tensorBytes(tensor.dtype, tensor.shape);
      let written = 0;
      tensor.produce((chunk) => {
        written += chunk.byteLength;
        if (written > expected) throw new Error(`safetensors: ${tensor.name} produced more than its ${expected} bytes`);
        writeAll(fd, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), partial);
      });
      if (written !== expected) throw new Error(`safetensors: ${tensor.name} produced ${written} bytes, its shape says ${expected}`);
    }
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(partial, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  fs.renameSync(partial, file);
}
