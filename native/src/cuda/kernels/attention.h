// Attention of the fused encoder, on packed tokens (see elementwise.h for seq_offsets).
#pragma once
#include <cuda_runtime.h>

#include "cuda/dtype.h"

namespace ftb::cuda {

// The fused multi-head attention kernel runs fp16/bf16 with head_size 64 or 128.
bool fused_attention_supported(DType dtype, int head_size);

// ctx [tokens, H] = softmax(q·kᵀ/√D)·v per sequence and head, straight from the QKV GEMM's output
// qkv [tokens, 3H] (q | k | v, head-major) and its bias [3H]; the S×S scores never leave registers.
void fused_attention(DType dtype, const void* qkv, const void* qkv_bias, void* ctx, const int* seq_offsets,
                     int batch, int seq, int heads, int head_size, cudaStream_t stream);

// The fallback's first step, in one pass: adds the QKV bias and splits packed qkv [tokens, 3H] into
// q, k, v, each [batch, heads, seq, D], rows past a sequence's length zeroed.
void split_qkv_with_bias(DType dtype, const void* qkv, const void* qkv_bias, void* q, void* k, void* v,
                         const int* seq_offsets, int batch, int seq, int heads, int head_size, cudaStream_t stream);

}  // namespace ftb::cuda
