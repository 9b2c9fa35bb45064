// The embedding layer of a checkpoint's encoder (native/MODEL.md, "Checkpoints"): token ids to
// LayerNorm(word + position + token type) rows, one kernel for both variants.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "cuda/dtype.h"
#include "cuda/kernels/fp8_quant.h"

namespace ftb::cuda {

// Row r of `out` [rows, cols] embeds token t = token_rows[r] (t = r when token_rows is null) of the
// padded [batch, seq] `ids`: LN(word[ids[t]] + position[t % seq + position_offset] + token_type[0])
// · gamma + beta, fp32 sum and statistics (two-pass), eps `eps`. token_type may be null. With
// fp8.data, also the E4M3 copy of `out` and its row scales for the first layer's fp8 QKV GEMM: what
// fp8_quantize_rows would write from `out`, bit for bit (as the LayerNorm's, layernorm.h).
void embed_layernorm(DType dtype, const int* ids, const int* token_rows, const void* word, const void* position,
                     const void* token_type, const void* gamma, const void* beta, void* out, size_t rows, int seq,
                     int position_offset, int cols, float eps, cudaStream_t stream, Fp8Rows fp8 = {});

}  // namespace ftb::cuda
