// The safetensors format, in which Hugging Face checkpoints store tensors: an 8-byte little-endian
// header length N, N bytes of JSON header ({name: {dtype, shape, data_offsets: [begin, end]}} plus an
// optional "__metadata__" of strings), then the tensors' bytes, offsets relative to the end of the
// header. The peers write each point's model with it (the writing half); `--model` reads users'
// checkpoints with it (the reading half). Both share these definitions.
import fs from 'node:fs';
import os from 'node:os';

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
 * temporary name and renamed. Throws when a source produces more or fewer bytes than its shape says.
 */
export function writeSafetensors(file: string, tensors: readonly TensorSource[], metadata?: Record<string, string>): void {
  if (os.endianness() !== 'LE') throw new Error('safetensors: writing needs a little-endian host');
  const partial = `${file}.partial`;
  const fd = fs.openSync(partial, 'w');
  try {
    fs.writeSync(fd, safetensorsHeader(tensors, metadata));
    for (const tensor of tensors) {
      const expected = tensorBytes(tensor.dtype, tensor.shape);
      let written = 0;
      tensor.produce((chunk) => {
        written += chunk.byteLength;
        if (written > expected) throw new Error(`safetensors: ${tensor.name} produced more than its ${expected} bytes`);
        fs.writeSync(fd, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      });
      if (written !== expected) throw new Error(`safetensors: ${tensor.name} produced ${written} bytes, its shape says ${expected}`);
    }
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(partial, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  fs.renameSync(partial, file);
}
