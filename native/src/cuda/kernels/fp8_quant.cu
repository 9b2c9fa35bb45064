// fp8 quantization kernels (fp8_quant.h). A row of up to 32 × kMaxLaneVecs 16-byte vectors (an
// activation's token: hidden or inter values) takes one warp: its vectors stay in registers between
// the amax (warp shuffles) and the rounding, one read and one write of the row, no barrier. A longer
// row (a weight's output channel, quantized once at build; the tests' probe) takes one block, a first
// pass over its vectors finding the amax, a second rounding them (the row is then in L1). The scale
// and the rounding are e4m3.cuh's, which the LayerNorm's E4M3 output shares.
#include <cuda_fp8.h>

#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/e4m3.cuh"
#include "cuda/kernels/fp8_quant.h"

namespace ftb::cuda {
namespace {

constexpr unsigned int kRowThreads = 128;  // a block: 4 warp rows, or one long row
constexpr int kMaxLaneVecs = 12;           // a warp row: ≤ 384 vectors (3072 fp16 values)
constexpr unsigned int kTile = 32;  // transpose tile

// One warp per row, kLaneVecs vectors per lane at most (vecs_per_row ≤ 32 · kLaneVecs).
template <typename T, int kLaneVecs>
__global__ void __launch_bounds__(kRowThreads) quantize_warp_rows_kernel(const T* x, int rows, int vecs_per_row,
                                                                         float* scales, __nv_fp8_storage_t* out) {
  constexpr int N = kVec<T>;
  const int lane = threadIdx.x & 31;
  const size_t row = blockIdx.x * static_cast<size_t>(kRowThreads / 32) + (threadIdx.x >> 5);
  if (row >= static_cast<size_t>(rows)) return;
  const uint4* xr = reinterpret_cast<const uint4*>(x + row * vecs_per_row * N);
  uint4 raw[kLaneVecs];
#pragma unroll
  for (int i = 0; i < kLaneVecs; ++i) {
    if (lane + 32 * i < vecs_per_row) raw[i] = xr[lane + 32 * i];
  }
  float largest = 0.0f;
#pragma unroll
  for (int i = 0; i < kLaneVecs; ++i) {
    if (lane + 32 * i < vecs_per_row) largest = abs_max_vec<T>(raw[i], largest);
  }
  const float scale = e4m3_scale(warp_max(largest));
  if (lane == 0) scales[row] = scale;
  __nv_fp8_storage_t* out_row = out + row * vecs_per_row * N;
#pragma unroll
  for (int i = 0; i < kLaneVecs; ++i) {
    if (lane + 32 * i < vecs_per_row) store_e4m3<T>(raw[i], scale, out_row + (lane + 32 * i) * N);
  }
}

template <typename T>
__global__ void __launch_bounds__(kRowThreads) quantize_block_rows_kernel(const T* x, int vecs_per_row, float* scales,
                                                                    __nv_fp8_storage_t* out) {
  constexpr int N = kVec<T>;
  __shared__ float scratch[32];
  const size_t row = blockIdx.x;
  const uint4* xr = reinterpret_cast<const uint4*>(x + row * vecs_per_row * N);
  // Each vector copied into a local uint4 first: one 16-byte load (device_math.cuh, load_vec).
  float largest = 0.0f;
  for (int v = threadIdx.x; v < vecs_per_row; v += blockDim.x) {
    const uint4 raw = xr[v];
    largest = abs_max_vec<T>(raw, largest);
  }
  const float scale = e4m3_scale(block_max(largest, scratch));
  if (threadIdx.x == 0) scales[row] = scale;
  __nv_fp8_storage_t* out_row = out + row * vecs_per_row * N;
  for (int v = threadIdx.x; v < vecs_per_row; v += blockDim.x) {
    const uint4 raw = xr[v];
    store_e4m3<T>(raw, scale, out_row + v * N);
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
    const int vecs = cols / kVec<T>;
    const T* in = static_cast<const T*>(x);
    auto* bytes = static_cast<__nv_fp8_storage_t*>(out);
    const unsigned int warp_blocks = (rows + kRowThreads / 32 - 1) / (kRowThreads / 32);
    if (vecs <= 32 * 4) {
      quantize_warp_rows_kernel<T, 4><<<warp_blocks, kRowThreads, 0, stream>>>(in, rows, vecs, scales, bytes);
    } else if (vecs <= 32 * kMaxLaneVecs) {
      quantize_warp_rows_kernel<T, kMaxLaneVecs><<<warp_blocks, kRowThreads, 0, stream>>>(in, rows, vecs, scales, bytes);
    } else {
      quantize_block_rows_kernel<T><<<rows, kRowThreads, 0, stream>>>(in, vecs, scales, bytes);
    }
  });
  check_launch("fp8_quantize_rows");
}

void transpose_f32(const float* w, int k, int n, int ldw, float* out, cudaStream_t stream) {
  const dim3 grid((n + kTile - 1) / kTile, (k + kTile - 1) / kTile), block(kTile, 8);
  transpose_f32_kernel<<<grid, block, 0, stream>>>(w, k, n, ldw, out);
  check_launch("transpose_f32");
}

}  // namespace ftb::cuda
