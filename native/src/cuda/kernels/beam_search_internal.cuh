// What the two fused beam top-k paths share (beam_search.h): beam_search.cu's radix select (beam >
// kTopkListBeam: chunk statistics, then each chunk's `beam` best by score) and beam_topk_lists.cu's
// one-pass lists (beam <= kTopkListBeam: statistics and the best logits of a chunk in one kernel, exact
// scores of those candidates per sentence after it): the vocabulary chunks of a row and the row's
// log Σ exp from its chunks' statistics.
#pragma once
#include <cuda_runtime.h>

#include "cuda/dtype.h"
#include "cuda/kernels/beam_search.h"
#include "cuda/kernels/device_math.cuh"

namespace ftb::cuda {

// Chunk c of a row: logits [c·len, min(vocab, (c + 1)·len)), len = ceil(vocab / chunks) rounded up to
// a multiple of `align` (the lists path reads 16-byte vectors); trailing chunks may be empty then.
struct Chunk {
  int begin, end;
  Chunk() = default;
  __device__ Chunk(int vocab, int chunks, int c, int align = 1) {
    const int len = (vocab + chunks - 1) / chunks;
    const int aligned = (len + align - 1) / align * align;
    begin = min(vocab, c * aligned);
    end = min(vocab, begin + aligned);
  }
};

// log Σ exp(logits) of a row from its chunks' max and Σ exp(l - max) (fp64), by one warp: every lane
// gets it. An empty chunk (max -inf, Σ 0) adds 0.
__device__ __forceinline__ double warp_log_total(const float* maxima, const double* sums, int chunks) {
  const int lane = threadIdx.x & 31;
  float row_max = -INFINITY;
  for (int k = lane; k < chunks; k += 32) row_max = fmaxf(row_max, maxima[k]);
  row_max = warp_max(row_max);
  double total = 0.0;
  for (int k = lane; k < chunks; k += 32) total += sums[k] * exp(static_cast<double>(maxima[k]) - row_max);
  return row_max + log(warp_sum(total));
}

// The reference's score of logit l of a live row: fp32(cum + (l - log Σ exp)), the sum in fp64.
__device__ __forceinline__ float candidate_score(float cum, float logit, double log_total) {
  return static_cast<float>(cum + (static_cast<double>(logit) - log_total));
}

// The lists path (beam_topk_lists.cu): per (row, chunk) candidate slots, and its two kernels (stage 1 of
// beam_topk for beam <= kTopkListBeam), leaving each sentence's `beam` best ranked at its candidates.
int beam_list_slots(int beam);
void beam_topk_lists(DType dtype, const void* logits, int ld, int rows, int vocab, int beam, int end_id,
                     const SearchState& state, int chunks, float* chunk_max, double* chunk_sum,
                     float* candidate_scores, int* candidate_ids, cudaStream_t stream);

}  // namespace ftb::cuda
