// Device-side comparison of two tensors: the GEMM tuner checks each candidate algorithm's output
// against the heuristic algorithm's without copying either to the host.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "cuda/dtype.h"

namespace ftb::cuda {

// ‖actual − expected‖₂ / ‖expected‖₂ over `count` values of `dtype` (sums in fp64); waits for `stream`.
double relative_l2(DType dtype, const void* actual, const void* expected, size_t count, cudaStream_t stream);

}  // namespace ftb::cuda
