#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/step_input.h"

namespace ftb::cuda {
namespace {

constexpr unsigned int kThreads = 256;

template <typename T>
__global__ void embed_kernel(const T* embedding, const int* ids, const double* positions, double scale,
                             const int* step, T* x, int rows, int hidden) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<size_t>(rows) * hidden) return;
  const int r = i / hidden, c = i % hidden;
  // Explicit roundings: a fused multiply-add would differ from the reference's two operations.
  const double value = __dadd_rn(__dmul_rn(static_cast<double>(to_float(embedding[static_cast<size_t>(ids[r]) * hidden + c])), scale),
                                 positions[static_cast<size_t>(*step) * hidden + c]);
  x[i] = from_float<T>(static_cast<float>(value));
}

template <typename T>
__global__ void select_kernel(const T* inputs, const int* step, T* x, size_t vecs) {
  constexpr int N = kVec<T>;
  const size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (v >= vecs) return;
  *reinterpret_cast<uint4*>(x + v * N) = *reinterpret_cast<const uint4*>(inputs + (*step * vecs + v) * N);
}

__global__ void advance_kernel(int* step) { *step += 1; }

}  // namespace

void embed_tokens(DType dtype, const void* embedding, const int* ids, const double* positions, double scale,
                  const int* step, void* x, int rows, int hidden, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t count = static_cast<size_t>(rows) * hidden;
    embed_kernel<T><<<blocks_for(count, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(embedding), ids, positions, scale, step, static_cast<T*>(x), rows, hidden);
  });
  check_launch("embedding_position_encoding");
}

void select_step_input(DType dtype, const void* inputs, const int* step, void* x, size_t count, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = count / kVec<T>;
    select_kernel<T><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(static_cast<const T*>(inputs), step,
                                                                           static_cast<T*>(x), vecs);
  });
  check_launch("select_step_input");
}

void advance_step(int* step, cudaStream_t stream) {
  advance_kernel<<<1, 1, 0, stream>>>(step);
  check_launch("advance_step");
}

}  // namespace ftb::cuda
