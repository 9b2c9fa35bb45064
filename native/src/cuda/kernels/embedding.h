// The embedding layer of a checkpoint's encoder (native/MODEL.md, "Checkpoints"): token ids to
// LayerNorm(word + position + token type) rows, one kernel for both variants.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "cuda/dtype.h"

namespace ftb::cuda {

// Row r of `out` [rows, cols] embeds token t = token_rows[r] (t = r when token_rows is null) of the
// padded [batch, seq] `ids`: LN(word[ids[t]] + position[t % seq + position_offset] + token_type[0])
// · gamma + beta, fp32 sum and statistics (two-pass), eps `eps`. token_type may be null.
void embed_layernorm(DType dtype, const int* ids, const int* token_rows, const void* word, const void* position,
                     const void* token_type, const void* gamma, const void* beta, void* out, size_t rows, int seq,
                     int position_offset, int cols, float eps, cudaStream_t stream);

}  // namespace ftb::cuda
