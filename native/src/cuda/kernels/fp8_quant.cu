// fp8 quantization kernels (fp8_quant.h). The amax is reduced per block in registers and shared
// memory and joined across blocks with one atomicMax on the float's bits (valid for non-negative
// floats, whose order is their bits' order as signed integers). Every thread recomputes the scale
// from the amax (one division) rather than waiting on a separate scale kernel; the division x / scale
// is __fdiv_rn, IEEE round-to-nearest whatever the compiler's fast-math flags, as the host emulation
// divides.
#include <cuda_fp8.h>

#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/fp8_quant.h"

namespace ftb::cuda {
namespace {

constexpr unsigned int kThreads = 256;
constexpr unsigned int kMaxBlocks = 1024;  // grid-stride beyond: each block pays one atomic

__device__ __forceinline__ float e4m3_scale(float amax) { return amax > 0.0f ? __fdiv_rn(amax, 448.0f) : 1.0f; }

__device__ __forceinline__ __nv_fp8_storage_t to_e4m3(float x, float scale) {
  return __nv_cvt_float_to_fp8(__fdiv_rn(x, scale), __NV_SATFINITE, __NV_E4M3);
}

// The largest |value| of one 16-byte vector (fmaxf drops a NaN operand).
template <typename T>
__device__ __forceinline__ float vec_amax(const T* x) {
  float values[kVec<T>];
  load_vec(x, values);
  float largest = 0.0f;
#pragma unroll
  for (int i = 0; i < kVec<T>; ++i) largest = fmaxf(largest, fabsf(values[i]));
  return largest;
}

// Grid-stride over `vecs` 16-byte vectors.
template <typename T>
__global__ void amax_kernel(const T* x, size_t vecs, float* amax) {
  __shared__ float scratch[32];
  float local = 0.0f;
  for (size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; v < vecs;
       v += static_cast<size_t>(gridDim.x) * blockDim.x) {
    local = fmaxf(local, vec_amax(x + v * kVec<T>));
  }
  local = block_max(local, scratch);
  if (threadIdx.x == 0) atomicMax(reinterpret_cast<int*>(amax), __float_as_int(local));
}

// As amax_kernel, skipping the rows past each sequence's length (cols a multiple of the vector width,
// so a vector never straddles two rows).
template <typename T>
__global__ void amax_valid_rows_kernel(const T* x, int seq, int cols, size_t vecs, const int* lengths, float* amax) {
  __shared__ float scratch[32];
  float local = 0.0f;
  for (size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; v < vecs;
       v += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t row = v * kVec<T> / cols;
    if (static_cast<int>(row % seq) < lengths[row / seq]) local = fmaxf(local, vec_amax(x + v * kVec<T>));
  }
  local = block_max(local, scratch);
  if (threadIdx.x == 0) atomicMax(reinterpret_cast<int*>(amax), __float_as_int(local));
}

// kBytes E4M3 values stored with one access (8 from an fp16 vector, 4 from an fp32 one).
template <int kBytes>
struct Fp8Pack;
template <>
struct Fp8Pack<8> {
  using type = uint2;
};
template <>
struct Fp8Pack<4> {
  using type = uint32_t;
};

// Each thread rounds one vector of kVec<T> values and writes them as kVec<T> bytes in one store.
template <typename T>
__global__ void quantize_kernel(const T* x, size_t vecs, const float* amax, float* scale_out,
                                __nv_fp8_storage_t* out) {
  const float scale = e4m3_scale(*amax);
  const size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (v == 0) *scale_out = scale;
  if (v >= vecs) return;
  constexpr int N = kVec<T>;
  using Pack = typename Fp8Pack<N>::type;
  float values[N];
  load_vec(x + v * N, values);
  Pack packed;
  __nv_fp8_storage_t* bytes = reinterpret_cast<__nv_fp8_storage_t*>(&packed);
#pragma unroll
  for (int i = 0; i < N; ++i) bytes[i] = to_e4m3(values[i], scale);
  reinterpret_cast<Pack*>(out)[v] = packed;
}

// One thread per output element, consecutive threads along k: reads of w stride by ldw (once, at build).
__global__ void quantize_transposed_kernel(const float* w, int k, int n, int ldw, const float* amax, float* scale_out,
                                           __nv_fp8_storage_t* out) {
  const float scale = e4m3_scale(*amax);
  const size_t at = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (at == 0) *scale_out = scale;
  if (at >= static_cast<size_t>(k) * n) return;
  const size_t j = at / k, i = at % k;
  out[at] = to_e4m3(w[i * ldw + j], scale);
}

unsigned int reduction_blocks(size_t count) {
  const unsigned int blocks = blocks_for(count, kThreads);
  return blocks == 0 ? 1 : (blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

}  // namespace

void fp8_amax(DType dtype, const void* x, size_t count, float* amax, cudaStream_t stream) {
  if (count == 0) return;
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    const size_t vecs = count / kVec<T>;
    if (vecs * kVec<T> != count) throw EngineError("fp8_amax: count must be a multiple of the vector width");
    amax_kernel<T><<<reduction_blocks(vecs), kThreads, 0, stream>>>(static_cast<const T*>(x), vecs, amax);
  });
  check_launch("fp8_amax");
}

void fp8_amax_valid_rows(DType dtype, const void* x, int batch, int seq, int cols, const int* lengths, float* amax,
                         cudaStream_t stream) {
  const size_t count = static_cast<size_t>(batch) * seq * cols;
  if (count == 0) return;
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    if (cols % kVec<T> != 0) throw EngineError("fp8_amax_valid_rows: cols must be a multiple of the vector width");
    const size_t vecs = count / kVec<T>;
    amax_valid_rows_kernel<T><<<reduction_blocks(vecs), kThreads, 0, stream>>>(static_cast<const T*>(x), seq, cols,
                                                                                vecs, lengths, amax);
  });
  check_launch("fp8_amax_valid_rows");
}

void fp8_quantize(DType dtype, const void* x, size_t count, const float* amax, float* scale, void* out,
                  cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    const size_t vecs = count / kVec<T>;
    if (vecs * kVec<T> != count) throw EngineError("fp8_quantize: count must be a multiple of the vector width");
    quantize_kernel<T><<<blocks_for(vecs > 0 ? vecs : 1, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(x), vecs, amax, scale, static_cast<__nv_fp8_storage_t*>(out));
  });
  check_launch("fp8_quantize");
}

void fp8_quantize_transposed(const float* w, int k, int n, int ldw, const float* amax, float* scale, void* out,
                             cudaStream_t stream) {
  const size_t count = static_cast<size_t>(k) * n;
  quantize_transposed_kernel<<<blocks_for(count > 0 ? count : 1, kThreads), kThreads, 0, stream>>>(
      w, k, n, ldw, amax, scale, static_cast<__nv_fp8_storage_t*>(out));
  check_launch("fp8_quantize_transposed");
}

}  // namespace ftb::cuda
