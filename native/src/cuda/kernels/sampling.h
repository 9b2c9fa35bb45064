// Sampling of the decoding path on the device (native/MODEL.md, "Sampling"), beam 1, one block per
// row. Both paths rank candidates by logit (ties: lower id), weigh them exp((l - l0) / temperature)
// in fp64, walk the prefix sums in order as the reference does, and draw
// u = random_unit(seed, SamplingDraw, t·batch + b), so ids match the reference exactly in fp32.
//   sample_top_k:  top_k > 0, fused: radix select of the top_k, sorted in shared memory.
//   sample_sorted: candidates from a full segmented sort of each row (segmented_sort.h): top-p
//                  without top-k (FasterTransformer sorts there too) and the unfused variant.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/dtype.h"
#include "cuda/kernels/beam_search.h"

namespace ftb::cuda {

struct SamplingParams {
  int vocab, top_k, end_id;
  float top_p, temperature;
  uint64_t seed;
};

// Step *step over logits [batch, ld].
void sample_top_k(DType dtype, const void* logits, int ld, int batch, const SamplingParams& params,
                  const SearchState& state, const int* step, cudaStream_t stream);

// keys [rows, vocab] (fp32) and ids [rows, vocab] = the logits and their ids, the input of the sort.
void sampling_keys(DType dtype, const void* logits, int ld, int rows, int vocab, float* keys, int* ids,
                   cudaStream_t stream);

// Step *step over each row's logits sorted descending (ties: lower id first), with their ids.
void sample_sorted(const float* sorted_logits, const int* sorted_ids, int batch, const SamplingParams& params,
                   const SearchState& state, const int* step, cudaStream_t stream);

}  // namespace ftb::cuda
