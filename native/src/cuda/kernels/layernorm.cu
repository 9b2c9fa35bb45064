#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/e4m3.cuh"
#include "cuda/kernels/launch.cuh"
#include "cuda/kernels/layernorm.h"

namespace ftb::cuda {
namespace {

// Rows of at most 32·kMaxLaneVecs 16-byte vectors (hidden 512 and BERT's 768 in every type) take one
// warp each, kWarpRows to a block: the reductions are shuffles, no block barriers, which is what a
// LayerNorm of a few rows costs at small batch. Longer rows take one block each.
constexpr int kMaxLaneVecs = 4;
constexpr int kWarpRows = 2;

// kWarp: one warp per row, else one block per row; each thread keeps kVecsPerThread 16-byte vectors
// of the row in registers. Every load is issued before the first store (out and sum_out may alias x
// or the residual, so the compiler keeps a load after a store in order): x, residual, bias, gamma and
// beta of all a thread's vectors are in flight together, one memory round trip instead of one per
// vector (the encoder's 4096-row LayerNorm took 10.7 µs on the H200 that way). A block row may have
// 1024 threads, so its registers are capped at 64: long rows (≥ 2 vectors a thread) spill some of
// their prefetched vectors to local memory rather than fail to launch.
// With fp8_out, the row's E4M3 copy and scale too (e4m3.cuh): the stored T vectors are still in
// registers, so the amax is one more reduction and the rounding reads nothing — what a quantize pass
// over `out` would compute, without its read of the row (and its launch). A template flag rather than
// a branch on the pointer: kept live for the fp8 tail, the packed vectors cost the plain LayerNorm
// registers (bf16 at b32 s384: 415 → 502 µs a forward on the H200), so without fp8 it compiles as before.
template <typename T, int kVecsPerThread, bool kWarp, bool kFp8>
__global__ void __launch_bounds__(kWarp ? 32 * kWarpRows : 1024) layernorm_kernel(const T* x, const T* residual, const T* bias, const T* gamma, const T* beta, T* out,
                                 T* sum_out, __nv_fp8_storage_t* fp8_out, float* fp8_scales, size_t rows, int cols,
                                 float eps) {
  __shared__ float scratch[32];
  constexpr int N = kVec<T>;
  const size_t row = kWarp ? blockIdx.x * static_cast<size_t>(kWarpRows) + threadIdx.x / 32 : blockIdx.x;
  if (kWarp && row >= rows) return;  // whole warps: the shuffles stay full
  const int index = kWarp ? threadIdx.x & 31 : threadIdx.x, stride = kWarp ? 32 : blockDim.x;
  const auto total = [&](float value) { return kWarp ? warp_sum(value) : block_sum(value, scratch); };
  const int vecs = cols / N;
  const size_t base = row * cols;
  const auto load = [](const T* p) { return *reinterpret_cast<const uint4*>(p); };
  uint4 gamma_raw[kVecsPerThread], beta_raw[kVecsPerThread];  // the model's: before the wait
#pragma unroll
  for (int i = 0; i < kVecsPerThread; ++i) {
    const int v = index + i * stride;
    if (v >= vecs) continue;
    gamma_raw[i] = load(gamma + v * N);
    beta_raw[i] = load(beta + v * N);
  }
  wait_for_previous_kernel();  // launched as a programmatic dependent (launch.cuh): x comes from it
  uint4 x_raw[kVecsPerThread], residual_raw[kVecsPerThread], bias_raw[kVecsPerThread];
#pragma unroll
  for (int i = 0; i < kVecsPerThread; ++i) {
    const int v = index + i * stride;
    if (v >= vecs) continue;
    x_raw[i] = load(x + base + v * N);
    if (residual != nullptr) residual_raw[i] = load(residual + base + v * N);
    if (bias != nullptr) bias_raw[i] = load(bias + v * N);
  }
  float values[kVecsPerThread][N];
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < kVecsPerThread; ++i) {
    const int v = index + i * stride;
    if (v >= vecs) continue;
    widen_vec<T>(x_raw[i], values[i]);
    if (residual != nullptr) {
      float r[N];
      widen_vec<T>(residual_raw[i], r);
#pragma unroll
      for (int j = 0; j < N; ++j) values[i][j] += r[j];
    }
    if (bias != nullptr) {
      float b[N];
      widen_vec<T>(bias_raw[i], b);
#pragma unroll
      for (int j = 0; j < N; ++j) values[i][j] += b[j];
    }
    if (sum_out != nullptr) store_vec(sum_out + base + v * N, values[i]);
#pragma unroll
    for (int j = 0; j < N; ++j) sum += values[i][j];
  }
  const float mean = total(sum) / cols;
  float squares = 0.0f;
#pragma unroll
  for (int i = 0; i < kVecsPerThread; ++i) {
    if (index + i * stride >= vecs) continue;
#pragma unroll
    for (int j = 0; j < N; ++j) {
      const float d = values[i][j] - mean;
      squares += d * d;
    }
  }
  const float rstd = rsqrtf(total(squares) / cols + eps);
  uint4 out_raw[kVecsPerThread];
#pragma unroll
  for (int i = 0; i < kVecsPerThread; ++i) {
    const int v = index + i * stride;
    if (v >= vecs) continue;
    float g[N], b[N];
    widen_vec<T>(gamma_raw[i], g);
    widen_vec<T>(beta_raw[i], b);
#pragma unroll
    for (int j = 0; j < N; ++j) values[i][j] = (values[i][j] - mean) * rstd * g[j] + b[j];
    if constexpr (kFp8) {
      out_raw[i] = pack_vec<T>(values[i]);
      *reinterpret_cast<uint4*>(out + base + v * N) = out_raw[i];
    } else {
      store_vec(out + base + v * N, values[i]);
    }
  }
  if constexpr (!kFp8) return;
  // From the stored (rounded) T values, not the fp32 ones: the GEMM's input is the tensor `out` holds.
  float largest = 0.0f;
#pragma unroll
  for (int i = 0; i < kVecsPerThread; ++i) {
    if (index + i * stride < vecs) largest = abs_max_vec<T>(out_raw[i], largest);
  }
  const float scale = e4m3_scale(kWarp ? warp_max(largest) : block_max(largest, scratch));
  if (index == 0) fp8_scales[row] = scale;
#pragma unroll
  for (int i = 0; i < kVecsPerThread; ++i) {
    const int v = index + i * stride;
    if (v < vecs) store_e4m3<T>(out_raw[i], scale, fp8_out + base + v * N);
  }
}

template <typename T, int kVecsPerThread, bool kWarp>
void launch(const void* x, const void* residual, const void* bias, const void* gamma, const void* beta, void* out,
            void* sum_out, Fp8Rows fp8, size_t rows, int cols, float eps, cudaStream_t stream) {
  const int vecs = cols / kVec<T>;
  const int threads = kWarp ? 32 * kWarpRows : ((vecs + kVecsPerThread - 1) / kVecsPerThread + 31) / 32 * 32;
  const size_t blocks = kWarp ? (rows + kWarpRows - 1) / kWarpRows : rows;
  const auto kernel = fp8.data != nullptr ? layernorm_kernel<T, kVecsPerThread, kWarp, true>
                                          : layernorm_kernel<T, kVecsPerThread, kWarp, false>;
  launch_dependent(residual != nullptr ? "add_bias_residual_layernorm" : "layernorm", kernel, static_cast<unsigned int>(blocks), threads, 0, stream,
                   static_cast<const T*>(x), static_cast<const T*>(residual), static_cast<const T*>(bias),
                   static_cast<const T*>(gamma), static_cast<const T*>(beta), static_cast<T*>(out),
                   static_cast<T*>(sum_out), static_cast<__nv_fp8_storage_t*>(fp8.data), fp8.scales, rows, cols,
                   eps);
}

}  // namespace

void layernorm(DType dtype, const void* x, const void* residual, const void* bias, const void* gamma,
               const void* beta, void* out, size_t rows, int cols, cudaStream_t stream, void* sum_out, float eps,
               Fp8Rows fp8) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    // Fewest vectors per thread that keep the block within 1024 threads (cols <= 32768 by validation).
    const int vecs = cols / kVec<T>;
    if (vecs <= 32 * kMaxLaneVecs) {
      launch<T, kMaxLaneVecs, true>(x, residual, bias, gamma, beta, out, sum_out, fp8, rows, cols, eps, stream);
    } else if (vecs <= 1024) {
      launch<T, 1, false>(x, residual, bias, gamma, beta, out, sum_out, fp8, rows, cols, eps, stream);
    } else if (vecs <= 2048) {
      launch<T, 2, false>(x, residual, bias, gamma, beta, out, sum_out, fp8, rows, cols, eps, stream);
    } else if (vecs <= 4096) {
      launch<T, 4, false>(x, residual, bias, gamma, beta, out, sum_out, fp8, rows, cols, eps, stream);
    } else {
      launch<T, 8, false>(x, residual, bias, gamma, beta, out, sum_out, fp8, rows, cols, eps, stream);
    }
  });
}

}  // namespace ftb::cuda
