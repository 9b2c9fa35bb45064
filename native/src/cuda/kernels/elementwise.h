// Memory-bound kernels of the encoder and decoder stacks, one operation each (the unfused variants run
// them one by one; the fused ones use the packing, output and residual ones). Every row length (hidden, inter, head_size) is a
// multiple of 8, so all rows are 16-byte vectorised. `seq_offsets` ([batch + 1], exclusive prefix sum
// of the lengths) describes packed rows: token (b, s < len_b) is row seq_offsets[b] + s.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "cuda/dtype.h"

namespace ftb::cuda {

// x[r, c] += bias[c]
void add_bias(DType dtype, void* x, const void* bias, size_t rows, int cols, cudaStream_t stream);
// x = GELU(x + bias) (bias may be null: x = GELU(x)); tanh form, or the exact erf form when
// erf_form (checkpoints whose hidden_act is "gelu"); fp32 math.
void bias_gelu(DType dtype, void* x, const void* bias, size_t rows, int cols, cudaStream_t stream,
               bool erf_form = false);
// x = ReLU(x + bias) (bias may be null)
void bias_relu(DType dtype, void* x, const void* bias, size_t rows, int cols, cudaStream_t stream);
// x[r, c] += y[r, c] + bias[c]: a residual add with the preceding GEMM's bias
void add_bias_residual(DType dtype, void* x, const void* y, const void* bias, size_t rows, int cols,
                       cudaStream_t stream);
// out (fp32) = in, elementwise (any count)
void to_float(DType dtype, const void* in, float* out, size_t count, cudaStream_t stream);
// out = a + b, elementwise (out may alias a or b)
void add_tensors(DType dtype, void* out, const void* a, const void* b, size_t count, cudaStream_t stream);
// x *= alpha
void scale_values(DType dtype, void* x, size_t count, float alpha, cudaStream_t stream);
// [batch·seq, ld_in] (columns head·D + d) -> [batch, heads, seq, D]
void split_heads(DType dtype, const void* in, int ld_in, void* out, int batch, int seq, int heads, int head_size,
                 cudaStream_t stream);
// [batch, heads, seq, D] -> rows of [·, heads·D]: padded rows b·seq + s when seq_offsets is null,
// else packed rows (tokens past a sequence's length are dropped).
void merge_heads(DType dtype, const void* in, void* out, const int* seq_offsets, int batch, int seq, int heads,
                 int head_size, cudaStream_t stream);
// scores [batch·heads, seq, seq]: keys at or past len_b become -inf.
void mask_keys(DType dtype, void* scores, const int* lengths, int batch, int heads, int seq, cudaStream_t stream);
// Row softmax of scores [batch·heads·seq, seq] with fp32 statistics, after multiplying by `scale`;
// with `lengths`, keys at or past len_b get probability 0 (the fused scale+mask+softmax).
void softmax_rows(DType dtype, void* scores, int batch, int heads, int seq, float scale, const int* lengths,
                  cudaStream_t stream);
// packed[t, :] = padded[token_rows[t], :]
void gather_rows(DType dtype, const void* padded, void* packed, const int* token_rows, int tokens, int cols,
                 cudaStream_t stream);
// out[b, s, :] (fp32) = hidden row of token (b, s) for s < len_b, else 0. Rows of `hidden` are
// packed when seq_offsets is given, else padded (b·seq + s).
void write_output(DType dtype, const void* hidden, float* out, const int* lengths, const int* seq_offsets, int batch,
                  int seq, int cols, cudaStream_t stream);

}  // namespace ftb::cuda
