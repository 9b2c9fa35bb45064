// The sampling step of the decoding path (kernels/sampling.h) with the buffers it needs: the fused
// variant's top-k kernel, or (unfused, or top-p without top-k) a full segmented sort of each row
// followed by the sorted sampling kernel. Also behind CudaBackend::sample_row, the tests' hook.
#pragma once
#include <cuda_runtime.h>

#include <memory>
#include <vector>

#include "common/config.h"
#include "cuda/buffer.h"
#include "cuda/context.h"
#include "cuda/kernels/beam_search.h"
#include "cuda/kernels/sampling.h"
#include "cuda/kernels/segmented_sort.h"

namespace ftb::cuda {

class Sampler {
 public:
  // For config.batch rows (beam 1) of config.vocab logits.
  explicit Sampler(const ModelConfig& config);

  // Step *step over logits [batch, ld] of storage type `dtype`.
  void run(DType dtype, const void* logits, int ld, const SearchState& state, const int* step,
           cudaStream_t stream) const;
  // What runs, for the model's notes.
  const char* kernels() const;

 private:
  const SamplingParams params_;
  const int rows_;
  const bool sorted_;
  DeviceBuffer keys_, ids_, sorted_keys_, sorted_ids_;
  SegmentedSort sort_;
};

// Backend::sample_row on the device: config.batch draws from one row of fp32 logits.
std::vector<int> sample_row(const ModelConfig& config, const std::vector<float>& logits, CudaContext& context);

}  // namespace ftb::cuda
