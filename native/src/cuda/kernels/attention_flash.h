// The encoder's FlashAttention-2-split attention kernel (attention_flash.cu): head size 64, fp16/bf16.
// fused_attention (attention.h) dispatches to it where it applies; same arguments and layouts.
#pragma once
#include <cuda_runtime.h>

#include "cuda/dtype.h"

namespace ftb::cuda {

bool flash_attention_supported(DType dtype, int head_size);

// ctx [tokens, H] = softmax(q·kᵀ/√64)·v per sequence and head, from packed qkv [tokens, 3H] and its bias.
void flash_attention(DType dtype, const void* qkv, const void* qkv_bias, void* ctx, const int* seq_offsets,
                     int batch, int seq, int heads, cudaStream_t stream);

}  // namespace ftb::cuda
