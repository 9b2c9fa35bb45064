#include <cub/device/device_segmented_radix_sort.cuh>

#include <vector>

#include "cuda/check.h"
#include "cuda/kernels/segmented_sort.h"

namespace ftb::cuda {

SegmentedSort::SegmentedSort(int segments, int length, const std::string& what) : segments_(segments), length_(length) {
  std::vector<int> offsets(segments + 1);
  for (int s = 0; s <= segments; ++s) offsets[s] = s * length;
  offsets_ = DeviceBuffer(offsets.size() * sizeof(int), what + " sort offsets");
  check(cudaMemcpy(offsets_.get(), offsets.data(), offsets.size() * sizeof(int), cudaMemcpyHostToDevice),
        "uploading " + what + " sort offsets");
  const int* begin = offsets_.as<int>();
  check(cub::DeviceSegmentedRadixSort::SortPairsDescending(nullptr, temp_bytes_, static_cast<const float*>(nullptr),
                                                           static_cast<float*>(nullptr),
                                                           static_cast<const int*>(nullptr), static_cast<int*>(nullptr),
                                                           segments * length, segments, begin, begin + 1),
        "sizing the " + what + " sort");
  temp_ = DeviceBuffer(temp_bytes_, what + " sort workspace");
}

void SegmentedSort::run(const float* keys_in, float* keys_out, const int* values_in, int* values_out,
                        cudaStream_t stream) const {
  size_t bytes = temp_bytes_;
  const int* begin = offsets_.as<int>();
  check(cub::DeviceSegmentedRadixSort::SortPairsDescending(temp_.get(), bytes, keys_in, keys_out, values_in,
                                                           values_out, segments_ * length_, segments_, begin,
                                                           begin + 1, 0, 32, stream),
        "segmented sort");
}

}  // namespace ftb::cuda
