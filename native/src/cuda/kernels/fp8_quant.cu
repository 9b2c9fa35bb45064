// fp8 quantization kernels (fp8_quant.h). One block per row: a first pass over the row's 16-byte
// vectors finds its amax (block reduction), a second rounds them (the row is then in L1); each thread
// recomputes the scale from the amax. The division x / scale is __fdiv_rn, IEEE round-to-nearest
// whatever the compiler's fast-math flags, as the host emulation divides.
#include <cuda_fp8.h>

#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/fp8_quant.h"

namespace ftb::cuda {
namespace {

constexpr unsigned int kRowThreads = 128;
constexpr unsigned int kTile = 32;  // transpose tile

__device__ __forceinline__ float e4m3_scale(float amax) { return amax > 0.0f ? __fdiv_rn(amax, 448.0f) : 1.0f; }

__device__ __forceinline__ __nv_fp8_storage_t to_e4m3(float x, float scale) {
  return __nv_cvt_float_to_fp8(__fdiv_rn(x, scale), __NV_SATFINITE, __NV_E4M3);
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

template <typename T>
__global__ void __launch_bounds__(kRowThreads) quantize_rows_kernel(const T* x, int vecs_per_row, float* scales,
                                                                    __nv_fp8_storage_t* out) {
  constexpr int N = kVec<T>;
  using Pack = typename Fp8Pack<N>::type;
  __shared__ float scratch[32];
  const size_t row = blockIdx.x;
  const T* xr = x + row * vecs_per_row * N;
  float largest = 0.0f;  // fmaxf drops a NaN operand
  for (int v = threadIdx.x; v < vecs_per_row; v += blockDim.x) {
    float values[N];
    load_vec(xr + v * N, values);
#pragma unroll
    for (int i = 0; i < N; ++i) largest = fmaxf(largest, fabsf(values[i]));
  }
  const float scale = e4m3_scale(block_max(largest, scratch));
  if (threadIdx.x == 0) scales[row] = scale;
  Pack* out_row = reinterpret_cast<Pack*>(out + row * vecs_per_row * N);
  for (int v = threadIdx.x; v < vecs_per_row; v += blockDim.x) {
    float values[N];
    load_vec(xr + v * N, values);
    Pack packed;
    __nv_fp8_storage_t* bytes = reinterpret_cast<__nv_fp8_storage_t*>(&packed);
#pragma unroll
    for (int i = 0; i < N; ++i) bytes[i] = to_e4m3(values[i], scale);
    out_row[v] = packed;
  }
}

// A 32 × 32 tile through shared memory (padded a column: no bank conflicts), so both the reads of w
// and the writes of out are coalesced.
__global__ void transpose_f32_kernel(const float* w, int k, int n, int ldw, float* out) {
  __shared__ float tile[kTile][kTile + 1];
  const int i0 = blockIdx.y * kTile, j0 = blockIdx.x * kTile;
  for (int di = threadIdx.y; di < static_cast<int>(kTile); di += blockDim.y) {
    const int i = i0 + di, j = j0 + threadIdx.x;
    if (i < k && j < n) tile[di][threadIdx.x] = w[static_cast<size_t>(i) * ldw + j];
  }
  __syncthreads();
  for (int dj = threadIdx.y; dj < static_cast<int>(kTile); dj += blockDim.y) {
    const int j = j0 + dj, i = i0 + threadIdx.x;
    if (i < k && j < n) out[static_cast<size_t>(j) * k + i] = tile[threadIdx.x][dj];
  }
}

}  // namespace

void fp8_quantize_rows(DType dtype, const void* x, int rows, int cols, float* scales, void* out, cudaStream_t stream) {
  if (rows == 0) return;
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    if (cols % kVec<T> != 0) throw EngineError("fp8_quantize_rows: cols must be a multiple of the vector width");
    quantize_rows_kernel<T><<<rows, kRowThreads, 0, stream>>>(static_cast<const T*>(x), cols / kVec<T>, scales,
                                                              static_cast<__nv_fp8_storage_t*>(out));
  });
  check_launch("fp8_quantize_rows");
}

void transpose_f32(const float* w, int k, int n, int ldw, float* out, cudaStream_t stream) {
  const dim3 grid((n + kTile - 1) / kTile, (k + kTile - 1) / kTile), block(kTile, 8);
  transpose_f32_kernel<<<grid, block, 0, stream>>>(w, k, n, ldw, out);
  check_launch("transpose_f32");
}

}  // namespace ftb::cuda
