// The version-2 fused encoder attention kernel (fused_mha_v2.cu), frozen as the timing baseline of
// native/bench/attention_bench.cu: the same arguments as fused_attention, in namespace v2 so it links
// beside the current one.
#pragma once
#include <cuda_runtime.h>

#include "cuda/dtype.h"

namespace ftb::cuda::v2 {

void fused_attention(DType dtype, const void* qkv, const void* qkv_bias, void* ctx, const int* seq_offsets,
                     int batch, int seq, int heads, int head_size, cudaStream_t stream);

}  // namespace ftb::cuda::v2
