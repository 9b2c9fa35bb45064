// The version-1 fused decoder attention kernels (decoder_attention_v1.cu), frozen as the timing
// baseline of native/bench/decoder_attention_bench.cu: the same arguments as that commit's
// masked_self_attention and cross_attention, in namespace v1 so they link beside the current ones.
#pragma once
#include <cuda_runtime.h>

#include "cuda/dtype.h"

namespace ftb::cuda::v1 {

void masked_self_attention(DType dtype, const void* qkv, const void* qkv_bias, void* k_cache, void* v_cache,
                           const int* cache_indir, const int* step, void* ctx, int rows, int beam, int heads,
                           int head_size, int cache_len, cudaStream_t stream);
void cross_attention(DType dtype, const void* q, const void* q_bias, const void* memory_kv, const int* memory_lengths,
                     void* ctx, int rows, int beam, int heads, int head_size, int mem_len, cudaStream_t stream);

}  // namespace ftb::cuda::v1
