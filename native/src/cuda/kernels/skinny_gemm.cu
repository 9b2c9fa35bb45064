// The skinny GEMM (skinny_gemm.h): tensor-core tiles over all the rows, k split across a thread-block
// cluster, the split sums met in distributed shared memory.
//
// At m ≤ 128 a product's time is its weight bytes over the bandwidth plus the latency of one kernel,
// and cuBLASLt's tiles leave most SMs idle while each walks all of k (NOTES.md, "Skinny GEMM").
// Version 1 here gave a block 16 columns and all of k and lost: one block's serial walk over k was
// the time. So here a block owns every row (⌈m/16⌉ m16 tiles) × 64 columns × a slice of k, and the
// S blocks that share a column tile form one cluster (S ≤ 8, enough to put ≈ one block on every SM):
// each runs a 4-stage cp.async pipeline of 32-deep k steps through mma.sync m16n8k16 (8 warps: 2 over
// the m tiles × 4 over 16-column groups), leaves its fp32 tile in its own shared memory, and after a
// cluster barrier each block sums a 1/S share of the tile over the S blocks' copies (always in rank
// order, so a result never depends on timing) and runs the epilogue (alpha, bias, GELU/ReLU,
// rounding). Before anything else each block asks L2 for its whole slice of B (the weights, which
// no earlier kernel writes), so the weight stream starts at once instead of a pipeline depth at a
// time; under programmatic dependent launch (launch.cuh) that request overlaps the previous kernel.
#include <cooperative_groups.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/launch.cuh"
#include "cuda/kernels/mma_sm80.cuh"
#include "cuda/kernels/skinny_gemm.h"

namespace ftb::cuda {
namespace {

namespace cg = cooperative_groups;

constexpr int kThreads = 256;
constexpr int kTileColumns = 64;    // columns a cluster owns: 4 warps × 16
constexpr int kStepK = 32;          // k rows a pipeline stage holds
constexpr int kStages = 4;
constexpr int kMaxSplits = 8;       // the portable cluster size
constexpr int kSumStride = kTileColumns + 4;  // floats a row of the summed tile takes (bank spread)
constexpr int kStepABytes = 16 * kStepK * 2;  // one m16 tile's rows of a stage
constexpr int kStepBBytes = kStepK * kTileColumns * 2;

__host__ __device__ constexpr size_t shared_bytes(int m_tiles) {
  const size_t pipeline = static_cast<size_t>(kStages) * (m_tiles * kStepABytes + kStepBBytes);
  const size_t sums = static_cast<size_t>(m_tiles) * 16 * kSumStride * sizeof(float);
  return pipeline > sums ? pipeline : sums;
}

// A stage's A rows are 64 bytes (4 chunks of 16): the chunk index is XORed with (row / 2) % 4 so the
// 8 rows one ldmatrix reads land in 8 distinct bank groups. B rows are 128 bytes (8 chunks): XOR row % 8.
__device__ __forceinline__ int a_chunk(int row, int chunk) { return row * 4 + (chunk ^ ((row >> 1) & 3)); }
__device__ __forceinline__ int b_chunk(int row, int chunk) { return row * 8 + (chunk ^ (row & 7)); }

__device__ __forceinline__ float activate(float x, Epilogue epilogue) {
  if (epilogue == Epilogue::BiasGelu) return gelu_tanh(x);
  if (epilogue == Epilogue::BiasRelu) return fmaxf(x, 0.0f);
  return x;
}

// Thread-block cluster primitives (sm_90). Older devices never launch the kernel (skinny_gemm_applies),
// so there they only have to compile.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
__device__ __forceinline__ int cluster_size() { return static_cast<int>(cg::this_cluster().num_blocks()); }
__device__ __forceinline__ int cluster_rank() { return static_cast<int>(cg::this_cluster().block_rank()); }
__device__ __forceinline__ void cluster_sync() { cg::this_cluster().sync(); }
__device__ __forceinline__ const float* cluster_shared(float* mine, int rank) {
  return cg::this_cluster().map_shared_rank(mine, rank);
}
#else
__device__ __forceinline__ int cluster_size() { return 1; }
__device__ __forceinline__ int cluster_rank() { return 0; }
__device__ __forceinline__ void cluster_sync() { __syncthreads(); }
__device__ __forceinline__ const float* cluster_shared(float* mine, int) { return mine; }
#endif

struct Problem {
  int m, n, k, lda, ldb, ldc;
  float alpha;
  Epilogue epilogue;
};

// Stage s of the pipeline: its A rows (m_tiles · 16 × 4 chunks), then its B rows (kStepK × 8 chunks).
template <int MTiles>
__device__ __forceinline__ uint4* stage_a(uint4* smem, int s) {
  return smem + s * (MTiles * kStepABytes + kStepBBytes) / 16;
}
template <int MTiles>
__device__ __forceinline__ uint4* stage_b(uint4* smem, int s) {
  return stage_a<MTiles>(smem, s) + MTiles * kStepABytes / 16;
}

// Copies k step `step` of A (all rows; rows ≥ m and k past the end zero-filled) into `stage`.
template <typename T, int MTiles>
__device__ void load_a(const T* a, const Problem& p, int step, uint4* stage) {
  constexpr int kChunks = MTiles * 16 * 4;
  for (int i = threadIdx.x; i < kChunks; i += kThreads) {
    const int row = i >> 2, chunk = i & 3;
    const int kk = step * kStepK + chunk * 8;
    const bool valid = row < p.m && kk < p.k;
    const T* src = valid ? a + static_cast<size_t>(row) * p.lda + kk : a;
    mma::cp_async_16(stage + a_chunk(row, chunk), src, valid);
  }
}

// Copies k step `step` of B's column tile `column0` into `stage` (one 16-byte chunk a thread).
template <typename T>
__device__ void load_b(const T* b, const Problem& p, int column0, int step, uint4* stage) {
  const int row = threadIdx.x >> 3, chunk = threadIdx.x & 7;
  const int kk = step * kStepK + row, column = column0 + chunk * 8;
  const bool valid = kk < p.k && column < p.n;
  const T* src = valid ? b + static_cast<size_t>(kk) * p.ldb + column : b;
  mma::cp_async_16(stage + b_chunk(row, chunk), src, valid);
}

// Asks L2 for rows [first, last) of B's column tile: the 128 bytes of a row, both ends of it (a row
// may straddle two lines when B is only 16-byte aligned).
template <typename T>
__device__ void prefetch_b(const T* b, const Problem& p, int column0, int first, int last) {
  const int columns = min(kTileColumns, p.n - column0);
  for (int kk = first + static_cast<int>(threadIdx.x); kk < last; kk += kThreads) {
    const T* row = b + static_cast<size_t>(kk) * p.ldb + column0;
    asm volatile("prefetch.global.L2 [%0];" ::"l"(row));
    asm volatile("prefetch.global.L2 [%0];" ::"l"(row + columns - 1));
  }
}

// One k step of the warp's tiles: (m tiles warp_m, warp_m + 2, ...) × (its 16 columns).
template <typename T, int MTiles>
__device__ __forceinline__ void multiply_step(const uint4* a, const uint4* b, int warp_m, int warp_n, int lane,
                                              float (&acc)[(MTiles + 1) / 2][2][4]) {
#pragma unroll
  for (int k16 = 0; k16 < kStepK / 16; ++k16) {
    uint32_t frag_b[4];
    const int matrix = lane >> 3;
    const int b_row = k16 * 16 + (matrix & 1) * 8 + (lane & 7);
    mma::ldmatrix_x4_trans(frag_b, b + b_chunk(b_row, warp_n * 2 + (matrix >> 1)));
#pragma unroll
    for (int t = 0; t < (MTiles + 1) / 2; ++t) {
      const int m_tile = 2 * t + warp_m;
      if (m_tile >= MTiles) break;
      uint32_t frag_a[4];
      mma::ldmatrix_x4(frag_a, a + a_chunk(m_tile * 16 + (lane & 15), k16 * 2 + (lane >> 4)));
      mma::mma_16816<T>(acc[t][0], frag_a, frag_b[0], frag_b[1]);
      mma::mma_16816<T>(acc[t][1], frag_a, frag_b[2], frag_b[3]);
    }
  }
}

template <typename T, int MTiles>
__global__ void __launch_bounds__(kThreads) skinny_gemm_kernel(const T* __restrict__ a, const T* __restrict__ b,
                                                               T* __restrict__ c, const T* __restrict__ bias,
                                                               Problem p) {
  extern __shared__ uint4 smem[];
  const int splits = cluster_size(), rank = cluster_rank();
  const int column0 = blockIdx.x * kTileColumns;
  const int steps = (p.k + kStepK - 1) / kStepK;
  const int first = rank * steps / splits, count = (rank + 1) * steps / splits - first;
  prefetch_b(b, p, column0, first * kStepK, min(p.k, (first + count) * kStepK));

  // The weights first: A is the previous kernel's output.
  for (int s = 0; s < kStages - 1 && s < count; ++s) load_b(b, p, column0, first + s, stage_b<MTiles>(smem, s));
  wait_for_previous_kernel();
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < count) load_a<T, MTiles>(a, p, first + s, stage_a<MTiles>(smem, s));
    mma::cp_async_commit();
  }

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int warp_m = warp & 1, warp_n = warp >> 1;
  float acc[(MTiles + 1) / 2][2][4] = {};
  for (int i = 0; i < count; ++i) {
    mma::cp_async_wait<kStages - 2>();
    __syncthreads();  // step i landed for every thread; the stage step i - 1 used is free
    const int next = i + kStages - 1;
    if (next < count) {
      load_b(b, p, column0, first + next, stage_b<MTiles>(smem, next % kStages));
      load_a<T, MTiles>(a, p, first + next, stage_a<MTiles>(smem, next % kStages));
    }
    mma::cp_async_commit();
    multiply_step<T, MTiles>(stage_a<MTiles>(smem, i % kStages), stage_b<MTiles>(smem, i % kStages), warp_m, warp_n, lane,
                             acc);
  }
  mma::cp_async_wait<0>();
  __syncthreads();  // the pipeline's shared memory becomes this block's fp32 tile

  float* sums = reinterpret_cast<float*>(smem);
#pragma unroll
  for (int t = 0; t < (MTiles + 1) / 2; ++t) {
    const int m_tile = 2 * t + warp_m;
    if (m_tile >= MTiles) break;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int column = warp_n * 16 + half * 8 + (lane & 3) * 2;
      const int row = m_tile * 16 + (lane >> 2);
      *reinterpret_cast<float2*>(sums + row * kSumStride + column) = make_float2(acc[t][half][0], acc[t][half][1]);
      *reinterpret_cast<float2*>(sums + (row + 8) * kSumStride + column) =
          make_float2(acc[t][half][2], acc[t][half][3]);
    }
  }
  cluster_sync();  // every split's tile is complete

  constexpr int kQuads = MTiles * 16 * kTileColumns / 4;  // 4-column groups of the tile
  for (int q = rank * kQuads / splits + threadIdx.x; q < (rank + 1) * kQuads / splits; q += kThreads) {
    const int row = q / (kTileColumns / 4), column = column0 + (q % (kTileColumns / 4)) * 4;
    if (row >= p.m || column >= p.n) continue;  // n is whole 8-column vectors: a quad is in or out
    const int offset = row * kSumStride + (q % (kTileColumns / 4)) * 4;
    float4 total = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    for (int source = 0; source < splits; ++source) {
      const float4 part = *reinterpret_cast<const float4*>(cluster_shared(sums, source) + offset);
      total.x += part.x;
      total.y += part.y;
      total.z += part.z;
      total.w += part.w;
    }
    float values[4] = {total.x, total.y, total.z, total.w};
    T out[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      float value = values[j] * p.alpha;
      if (p.epilogue != Epilogue::None) value = activate(value + to_float(bias[column + j]), p.epilogue);
      out[j] = from_float<T>(value);
    }
    *reinterpret_cast<uint2*>(c + static_cast<size_t>(row) * p.ldc + column) = *reinterpret_cast<const uint2*>(out);
  }
  cluster_sync();  // no block leaves while another still reads its tile
}

int device_attribute(cudaDeviceAttr attribute) {
  int device = 0, value = 0;
  check(cudaGetDevice(&device), "querying the device");
  check(cudaDeviceGetAttribute(&value, attribute, device), "querying the device");
  return value;
}

template <typename T, int MTiles>
void launch(const GemmSpec& spec, const T* a, const T* b, T* c, const T* bias, float alpha, cudaStream_t stream) {
  static const int sms = device_attribute(cudaDevAttrMultiProcessorCount);
  const int tiles = (spec.n + kTileColumns - 1) / kTileColumns;
  const int steps = (spec.k + kStepK - 1) / kStepK;
  // Enough splits of k to put about one block on every SM, none without a k step.
  const int splits = std::max(1, std::min({kMaxSplits, steps, (sms + tiles - 1) / tiles}));
  const Problem problem{spec.m, spec.n, spec.k, spec.lda, spec.ldb, spec.ldc, alpha, spec.epilogue};
  cudaLaunchAttribute attributes[2]{};
  attributes[0].id = cudaLaunchAttributeClusterDimension;
  attributes[0].val.clusterDim.x = 1;
  attributes[0].val.clusterDim.y = static_cast<unsigned>(splits);
  attributes[0].val.clusterDim.z = 1;
  attributes[1].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attributes[1].val.programmaticStreamSerializationAllowed = dependent_launch_enabled() ? 1 : 0;
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(splits));
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = shared_bytes(MTiles);
  config.stream = stream;
  config.attrs = attributes;
  config.numAttrs = 2;
  check(cudaLaunchKernelEx(&config, skinny_gemm_kernel<T, MTiles>, a, b, c, bias, problem), "kernel skinny_gemm");
}

template <typename T, int MTiles = 1>
void launch_for_rows(const GemmSpec& spec, const T* a, const T* b, T* c, const T* bias, float alpha,
                     cudaStream_t stream) {
  if constexpr (MTiles < kSkinnyMaxRows / 16) {
    if (spec.m > MTiles * 16) return launch_for_rows<T, MTiles + 1>(spec, a, b, c, bias, alpha, stream);
  }
  launch<T, MTiles>(spec, a, b, c, bias, alpha, stream);
}

}  // namespace

bool skinny_gemm_applies(const GemmSpec& spec) {
  static const bool offered = [] {
    const char* setting = std::getenv("FTBENCH_SKINNY");  // "0": cuBLASLt everywhere, for A/B runs
    return (setting == nullptr || std::strcmp(setting, "0") != 0) &&
           device_attribute(cudaDevAttrComputeCapabilityMajor) >= 9;
  }();
  if (!offered || (spec.dtype != DType::F16 && spec.dtype != DType::BF16)) return false;
  if (spec.fp8 || spec.batch != 1 || spec.trans_a || spec.trans_b) return false;
  const auto whole_vectors = [](int elements) { return elements % 8 == 0; };  // 16 bytes of 16-bit values
  return spec.m >= 1 && spec.m <= kSkinnyMaxRows && whole_vectors(spec.n) && whole_vectors(spec.k) &&
         whole_vectors(spec.lda) && whole_vectors(spec.ldb) && whole_vectors(spec.ldc) && spec.alignment >= 16;
}

void skinny_gemm(const GemmSpec& spec, const void* a, const void* b, void* c, const void* bias, float alpha,
                 cudaStream_t stream) {
  if (spec.dtype == DType::F16) {
    launch_for_rows<__half>(spec, static_cast<const __half*>(a), static_cast<const __half*>(b), static_cast<__half*>(c),
                            static_cast<const __half*>(bias), alpha, stream);
  } else {
    launch_for_rows<__nv_bfloat16>(spec, static_cast<const __nv_bfloat16*>(a), static_cast<const __nv_bfloat16*>(b),
                                   static_cast<__nv_bfloat16*>(c), static_cast<const __nv_bfloat16*>(bias), alpha,
                                   stream);
  }
  check_launch("skinny_gemm");
}

}  // namespace ftb::cuda
