// A full sort of every segment of (fp32 key, int value) pairs, descending and stable (equal keys keep
// their order, so lower ids first), through CUB's segmented radix sort: the unfused variant's top-k
// and the sorted sampling path. Temporary storage is allocated once, so running it allocates nothing
// and can be captured in a CUDA graph.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "cuda/buffer.h"

namespace ftb::cuda {

class SegmentedSort {
 public:
  SegmentedSort() = default;
  // `segments` segments of `length` pairs each; `what` names the buffers in an OutOfMemory message.
  SegmentedSort(int segments, int length, const std::string& what);

  void run(const float* keys_in, float* keys_out, const int* values_in, int* values_out, cudaStream_t stream) const;

 private:
  int segments_ = 0, length_ = 0;
  size_t temp_bytes_ = 0;
  DeviceBuffer temp_, offsets_;
};

}  // namespace ftb::cuda
