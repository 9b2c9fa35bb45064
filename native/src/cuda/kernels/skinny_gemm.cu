// The skinny GEMM (skinny_gemm.h): a weight-streaming kernel for products with a handful of rows.
//
// At m ≤ 32 a product is a matrix-vector product in disguise: its time is the weight bytes over the
// bandwidth plus one kernel's latency, and the tile kernels of cuBLASLt leave most SMs idle while they
// walk k. Here one block of 128 threads owns a tile of 2 × 16 bytes of columns (16 fp16/bf16 columns,
// 8 fp32) and all of k: thread pairs read one 32-byte row segment of B (a whole sector: pairs split
// it in two 16-byte halves), the 64 pairs stride k, and every thread keeps 8 rows × one half of
// partial sums in registers. The sums meet in a transposed warp reduction (each shuffle halves the
// values a lane holds, so 64 values cost 60 shuffles, not 64 × 4) and a 4-warp shared-memory sum; the
// epilogue (alpha, bias, GELU/ReLU, rounding) runs there. Rows beyond 8 loop, re-reading B from L1/L2.
#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/skinny_gemm.h"

namespace ftb::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;
constexpr int kRowsPerPass = 8;
constexpr int kSlots = kThreads / 2;  // k rows in flight per block: thread pairs

// One step of the transposed reduction over the lanes `offset` apart: of `Count` values, a lane keeps
// the half its `offset` bit selects, summed with its partner's copy of that half.
template <int Count, int Offset>
__device__ __forceinline__ void fold_half(float* values, int lane) {
  constexpr int kHalf = Count / 2;
  const bool upper = (lane & Offset) != 0;
#pragma unroll
  for (int i = 0; i < kHalf; ++i) {
    const float send = upper ? values[i] : values[i + kHalf];
    const float keep = upper ? values[i + kHalf] : values[i];
    values[i] = keep + __shfl_xor_sync(0xffffffffu, send, Offset);
  }
}

// Where value i (i < Count / 16) of a lane lands after the four folds (offsets 16, 8, 4, 2).
template <int Count>
__device__ __forceinline__ int folded_index(int i, int lane) {
  return i + ((lane & 16) ? Count / 2 : 0) + ((lane & 8) ? Count / 4 : 0) + ((lane & 4) ? Count / 8 : 0) +
         ((lane & 2) ? Count / 16 : 0);
}

__device__ __forceinline__ float activate(float x, Epilogue epilogue) {
  if (epilogue == Epilogue::BiasGelu) return gelu_tanh(x);
  if (epilogue == Epilogue::BiasRelu) return fmaxf(x, 0.0f);
  return x;
}

template <typename T>
__global__ void __launch_bounds__(kThreads) skinny_gemm_kernel(const T* __restrict__ a, int lda, const T* __restrict__ b,
                                                               int ldb, T* __restrict__ c, int ldc,
                                                               const T* __restrict__ bias, int m, int n, int k,
                                                               float alpha, Epilogue epilogue) {
  constexpr int N = kVec<T>;                  // columns in one 16-byte half
  constexpr int kValues = kRowsPerPass * N;  // partial sums a thread holds
  __shared__ float sums[kWarps][2][kValues];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int half = threadIdx.x & 1, slot = threadIdx.x >> 1;
  const int column = blockIdx.x * 2 * N + half * N;  // this thread's first column
  const bool has_columns = column < n;               // n is whole halves; the last tile may be half full

  for (int row0 = 0; row0 < m; row0 += kRowsPerPass) {
    float acc[kValues];
#pragma unroll
    for (int i = 0; i < kValues; ++i) acc[i] = 0.0f;
#pragma unroll 4
    for (int kk = slot; kk < k; kk += kSlots) {
      float w[N];
      if (has_columns) {
        load_vec(b + static_cast<size_t>(kk) * ldb + column, w);
      } else {
#pragma unroll
        for (int j = 0; j < N; ++j) w[j] = 0.0f;
      }
#pragma unroll
      for (int r = 0; r < kRowsPerPass; ++r) {
        const float x = row0 + r < m ? to_float(a[static_cast<size_t>(row0 + r) * lda + kk]) : 0.0f;
#pragma unroll
        for (int j = 0; j < N; ++j) acc[r * N + j] = fmaf(x, w[j], acc[r * N + j]);
      }
    }
    // Lanes of one parity hold the same columns: fold over offsets 16..2, never 1.
    fold_half<kValues, 16>(acc, lane);
    fold_half<kValues / 2, 8>(acc, lane);
    fold_half<kValues / 4, 4>(acc, lane);
    fold_half<kValues / 8, 2>(acc, lane);
#pragma unroll
    for (int i = 0; i < kValues / 16; ++i) sums[warp][half][folded_index<kValues>(i, lane)] = acc[i];
    __syncthreads();
    for (int out = threadIdx.x; out < 2 * kValues; out += kThreads) {
      const int out_half = out / kValues, index = out % kValues;
      const int row = row0 + index / N, col = blockIdx.x * 2 * N + out_half * N + index % N;
      if (row < m && col < n) {
        float value = 0.0f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) value += sums[w][out_half][index];
        value *= alpha;
        if (epilogue != Epilogue::None) value = activate(value + to_float(bias[col]), epilogue);
        c[static_cast<size_t>(row) * ldc + col] = from_float<T>(value);
      }
    }
    __syncthreads();  // sums is rewritten by the next pass
  }
}

}  // namespace

bool skinny_gemm_applies(const GemmSpec& spec) {
  if ((spec.dtype == DType::F32 && spec.tf32) || spec.fp8) return false;  // fp8: cuBLASLt only
  const int vec = static_cast<int>(16 / dtype_size(spec.dtype));
  return spec.batch == 1 && !spec.trans_a && !spec.trans_b && spec.m >= 1 && spec.m <= kSkinnyMaxRows &&
         spec.n % vec == 0 && spec.ldb % vec == 0 && spec.alignment >= 16;
}

void skinny_gemm(const GemmSpec& spec, const void* a, const void* b, void* c, const void* bias, float alpha,
                 cudaStream_t stream) {
  dispatch_dtype(spec.dtype, [&](auto tag) {
    using T = decltype(tag);
    constexpr int kTileColumns = 2 * kVec<T>;
    const unsigned int blocks = blocks_for(static_cast<size_t>(spec.n), kTileColumns);
    skinny_gemm_kernel<T><<<blocks, kThreads, 0, stream>>>(
        static_cast<const T*>(a), spec.lda, static_cast<const T*>(b), spec.ldb, static_cast<T*>(c), spec.ldc,
        static_cast<const T*>(bias), spec.m, spec.n, spec.k, alpha, spec.epilogue);
  });
  check_launch("skinny_gemm");
}

}  // namespace ftb::cuda
