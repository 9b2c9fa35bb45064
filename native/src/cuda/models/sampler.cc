#include "cuda/models/sampler.h"

#include "cuda/check.h"

namespace ftb::cuda {

Sampler::Sampler(const ModelConfig& config)
    : params_{config.vocab, config.top_k, config.end_id, config.top_p, config.temperature, config.seed},
      rows_(config.batch),
      sorted_(config.variant != Variant::Fused || config.top_k == 0) {
  if (!sorted_) return;
  const size_t count = static_cast<size_t>(rows_) * config.vocab;
  keys_ = DeviceBuffer(count * sizeof(float), "sampling keys");
  ids_ = DeviceBuffer(count * sizeof(int), "sampling ids");
  sorted_keys_ = DeviceBuffer(count * sizeof(float), "sorted sampling keys");
  sorted_ids_ = DeviceBuffer(count * sizeof(int), "sorted sampling ids");
  sort_ = SegmentedSort(rows_, config.vocab, "sampling");
}

void Sampler::run(DType dtype, const void* logits, int ld, const SearchState& state, const int* step,
                  cudaStream_t stream) const {
  if (!sorted_) {
    sample_top_k(dtype, logits, ld, rows_, params_, state, step, stream);
    return;
  }
  sampling_keys(dtype, logits, ld, rows_, params_.vocab, keys_.as<float>(), ids_.as<int>(), stream);
  sort_.run(keys_.as<float>(), sorted_keys_.as<float>(), ids_.as<int>(), sorted_ids_.as<int>(), stream);
  sample_sorted(sorted_keys_.as<float>(), sorted_ids_.as<int>(), rows_, params_, state, step, stream);
}

const char* Sampler::kernels() const {
  return sorted_ ? "segmented radix sort + sorted_sampling" : "topk_sampling (radix select + bitonic sort in shared memory)";
}

std::vector<int> sample_row(const ModelConfig& config, const std::vector<float>& logits, CudaContext& context) {
  context.activate();
  cudaStream_t s = context.stream();
  const size_t rows = config.batch, vocab = config.vocab;
  DeviceBuffer rows_logits(rows * vocab * sizeof(float), "probe logits");
  for (size_t b = 0; b < rows; ++b) {
    check(cudaMemcpyAsync(rows_logits.as<float>() + b * vocab, logits.data(), vocab * sizeof(float),
                          cudaMemcpyHostToDevice, s),
          "uploading probe logits");
  }
  // cum, finished, lengths, ids, parents, step_ids, parent_ids (one step) and the step counter.
  DeviceBuffer state_buffer(8 * rows * sizeof(int), "probe search state");
  int* base = state_buffer.as<int>();
  const SearchState state{reinterpret_cast<float*>(base), base + rows, base + 2 * rows, base + 3 * rows,
                          base + 4 * rows, base + 5 * rows, base + 6 * rows};
  int* step = base + 7 * rows;
  check(cudaMemsetAsync(step, 0, sizeof(int), s), "resetting the probe step");
  init_search(state, static_cast<int>(rows), 1, config.start_id, s);
  Sampler(config).run(DType::F32, rows_logits.get(), static_cast<int>(vocab), state, step, s);
  std::vector<int> ids(rows);
  check(cudaMemcpyAsync(ids.data(), state.ids, rows * sizeof(int), cudaMemcpyDeviceToHost, s), "copying probe ids");
  context.synchronize("sampling probe");
  return ids;
}

}  // namespace ftb::cuda
