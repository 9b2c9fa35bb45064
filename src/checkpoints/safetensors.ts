// The safetensors format, in which Hugging Face checkpoints store tensors: an 8-byte little-endian
// header length N, N bytes of JSON header ({name: {dtype, shape, data_offsets: [begin, end]}} plus an
// optional "__metadata__" of strings), then the tensors' bytes, offsets relative to the end of the
// header. The peers write each point's model with it (the writing half); `--model` reads users'
// checkpoints with it (the reading half). Both share these definitions.

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
