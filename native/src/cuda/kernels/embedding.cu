#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/e4m3.cuh"
#include "cuda/kernels/embedding.h"

namespace ftb::cuda {
namespace {

constexpr unsigned int kThreads = 256;

// One block per output row. The sum of the three rows is recomputed in each pass (reads are cheap
// next to the encoder's GEMMs) so no row has to fit in registers or shared memory. With fp8_out, the
// amax of the row as stored (T) is gathered as it is written and each thread then rounds the values
// it wrote itself (its own stores: visible to it, no barrier) with e4m3.cuh's scale and rounding.
template <typename T>
__global__ void embed_layernorm_kernel(const int* ids, const int* token_rows, const T* word, const T* position,
                                       const T* token_type, const T* gamma, const T* beta, T* out,
                                       __nv_fp8_storage_t* fp8_out, float* fp8_scales, int seq, int position_offset,
                                       int cols, float eps) {
  __shared__ float scratch[32];
  const int token = token_rows != nullptr ? token_rows[blockIdx.x] : static_cast<int>(blockIdx.x);
  const T* w = word + static_cast<size_t>(ids[token]) * cols;
  const T* p = position + static_cast<size_t>(token % seq + position_offset) * cols;
  auto value = [&](int c) {
    return to_float(w[c]) + to_float(p[c]) + (token_type != nullptr ? to_float(token_type[c]) : 0.0f);
  };
  float sum = 0.0f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) sum += value(c);
  const float mean = block_sum(sum, scratch) / cols;
  float squares = 0.0f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    const float d = value(c) - mean;
    squares += d * d;
  }
  const float rstd = rsqrtf(block_sum(squares, scratch) / cols + eps);
  T* row = out + static_cast<size_t>(blockIdx.x) * cols;
  float largest = 0.0f;  // fmaxf drops a NaN operand, as abs_max_vec
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    const T y = from_float<T>((value(c) - mean) * rstd * to_float(gamma[c]) + to_float(beta[c]));
    row[c] = y;
    largest = fmaxf(largest, fabsf(to_float(y)));
  }
  if (fp8_out == nullptr) return;
  const float scale = e4m3_scale(block_max(largest, scratch));
  if (threadIdx.x == 0) fp8_scales[blockIdx.x] = scale;
  __nv_fp8_storage_t* fp8_row = fp8_out + static_cast<size_t>(blockIdx.x) * cols;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) fp8_row[c] = to_e4m3(to_float(row[c]), scale);
}

}  // namespace

void embed_layernorm(DType dtype, const int* ids, const int* token_rows, const void* word, const void* position,
                     const void* token_type, const void* gamma, const void* beta, void* out, size_t rows, int seq,
                     int position_offset, int cols, float eps, cudaStream_t stream, Fp8Rows fp8) {
  if (rows == 0) return;
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    embed_layernorm_kernel<T><<<static_cast<unsigned int>(rows), kThreads, 0, stream>>>(
        ids, token_rows, static_cast<const T*>(word), static_cast<const T*>(position),
        static_cast<const T*>(token_type), static_cast<const T*>(gamma), static_cast<const T*>(beta),
        static_cast<T*>(out), static_cast<__nv_fp8_storage_t*>(fp8.data), fp8.scales, seq, position_offset, cols, eps);
  });
  check_launch("embed_layernorm");
}

}  // namespace ftb::cuda
