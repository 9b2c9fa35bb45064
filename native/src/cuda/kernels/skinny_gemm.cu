// The skinny GEMM (skinny_gemm.h): tensor-core tiles over all the rows, k split across a thread-block
// cluster, the split sums met in distributed shared memory.
//
// At m ≤ 128 a product's time is its weight bytes over the bandwidth plus the latency of one kernel,
// and cuBLASLt's tiles leave most SMs idle while each walks all of k (NOTES.md, "Skinny GEMM").
// Version 1 here gave a block 16 columns and all of k and lost: one block's serial walk over k was
// the time. So here a block owns every row (⌈m/16⌉ m16 tiles) × 64 columns × a slice of k, and the S
// blocks that share a column tile form one cluster (S a power of two ≤ 8: about two blocks an
// SM). A block issues the copies of its whole slice at once (cp.async, one group a 32-deep k step, the
// weights first: they never depend on the previous kernel, so under programmatic dependent launch
// they are requested before griddepcontrol.wait), then multiplies each step as it lands (mma.sync
// m16n8k16; 8 warps: 2 over the m tiles × 4 over column groups). A first version pipelined 4 steps
// and ran at ≈ 1.3 TB/s: too few bytes in flight for the latency. The split sums meet in the block
// that owns their rows (rank r sums the ⌈R/S⌉ rows from r · ⌈R/S⌉): every block stores each fragment
// straight into the owner's inbox (distributed shared memory stores, which nothing waits on; reading
// the other blocks' tiles instead cost a remote round trip per load), one cluster barrier, then each
// block sums its rows over the S slots in rank order (so a result never depends on timing) and runs
// the epilogue (alpha, bias, GELU/ReLU, rounding).
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
constexpr int kTileColumns = 64;         // columns a cluster owns: 4 warps × 16
constexpr int kStepK = 32;                  // k rows a copy group (and a multiply step) covers
constexpr int kMaxSplits = 8;               // the portable cluster size
constexpr size_t kMaxSharedBytes = 220 << 10;  // a block's slice of A and B and its inbox, in shared memory

// Bytes one k step of the slice takes: its A rows (m_tiles · 16 × 64 bytes), then its B rows.
__host__ __device__ constexpr int step_bytes(int m_tiles, int columns) { return m_tiles * 16 * kStepK * 2 + kStepK * columns * 2; }
// Floats a row of the inbox takes: ≡ 8 (mod 32), so the 8 rows of one fragment store fill 2 wavefronts.
__host__ __device__ constexpr int inbox_stride(int columns) { return columns + 8; }
// Rows of the tile block `rank` sums (the first rows_per rows to rank 0, ...) and its inbox's bytes:
// a rows_per-row part of the tile from each of the `splits` blocks.
__host__ __device__ constexpr int rows_per_rank(int m_tiles, int splits) { return (m_tiles * 16 + splits - 1) / splits; }
__host__ __device__ constexpr size_t inbox_bytes(int m_tiles, int columns, int splits) {
  return static_cast<size_t>(splits) * rows_per_rank(m_tiles, splits) * inbox_stride(columns) * sizeof(float);
}

// A step's A rows are 64 bytes (4 chunks of 16): the chunk index is XORed with (row / 2) % 4 so the
// 8 rows one ldmatrix reads land in 8 distinct bank groups. B rows are 8 or 16 chunks: XOR row % 8.
__device__ __forceinline__ int a_chunk(int row, int chunk) { return row * 4 + (chunk ^ ((row >> 1) & 3)); }
__device__ __forceinline__ int b_chunk(int row, int chunk) { return row * (kTileColumns / 8) + (chunk ^ (row & 7)); }

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
__device__ __forceinline__ float* cluster_shared(float* mine, int rank) {
  return cg::this_cluster().map_shared_rank(mine, rank);
}
#else
__device__ __forceinline__ int cluster_size() { return 1; }
__device__ __forceinline__ int cluster_rank() { return 0; }
__device__ __forceinline__ void cluster_sync() { __syncthreads(); }
__device__ __forceinline__ float* cluster_shared(float* mine, int) { return mine; }
#endif

// Waits until at most `pending` of this thread's copy groups are in flight (wait_group takes an
// immediate; more than 7 waits as for 7, which is only stricter).
__device__ __forceinline__ void cp_async_wait_at_most(int pending) {
  switch (pending) {
    case 0: mma::cp_async_wait<0>(); break;
    case 1: mma::cp_async_wait<1>(); break;
    case 2: mma::cp_async_wait<2>(); break;
    case 3: mma::cp_async_wait<3>(); break;
    case 4: mma::cp_async_wait<4>(); break;
    case 5: mma::cp_async_wait<5>(); break;
    case 6: mma::cp_async_wait<6>(); break;
    default: mma::cp_async_wait<7>(); break;
  }
}

struct Problem {
  int m, n, k, lda, ldb, ldc;
  int slice_chunks;  // 16-byte chunks of the largest block's slice: the inbox follows them
  float alpha;
  Epilogue epilogue;
};

// Copies k step `step` of A (all rows; rows ≥ m and k past the end zero-filled) to `dst`.
template <typename T, int MTiles>
__device__ void load_a(const T* a, const Problem& p, int step, uint4* dst) {
  constexpr int kChunks = MTiles * 16 * 4;
  for (int i = threadIdx.x; i < kChunks; i += kThreads) {
    const int row = i >> 2, chunk = i & 3;
    const int kk = step * kStepK + chunk * 8;
    const bool valid = row < p.m && kk < p.k;
    const T* src = valid ? a + static_cast<size_t>(row) * p.lda + kk : a;
    mma::cp_async_16(dst + a_chunk(row, chunk), src, valid);
  }
}

// Copies k step `step` of B's column tile `column0` to `dst`.
template <typename T>
__device__ void load_b(const T* b, const Problem& p, int column0, int step, uint4* dst) {
  constexpr int kChunks = kStepK * kTileColumns / 8;
  for (int i = threadIdx.x; i < kChunks; i += kThreads) {
    const int row = i / (kTileColumns / 8), chunk = i % (kTileColumns / 8);
    const int kk = step * kStepK + row, column = column0 + chunk * 8;
    const bool valid = kk < p.k && column < p.n;
    const T* src = valid ? b + static_cast<size_t>(kk) * p.ldb + column : b;
    mma::cp_async_16(dst + b_chunk(row, chunk), src, valid);
  }
}

// One k step of the warp's tiles: (m tiles warp_m, warp_m + 2, ...) × (its kTileColumns / 4 columns).
template <typename T, int MTiles>
__device__ __forceinline__ void multiply_step(const uint4* a, const uint4* b, int warp_m, int warp_n, int lane,
                                              float (&acc)[(MTiles + 1) / 2][kTileColumns / 32][4]) {
  constexpr int kGroups = kTileColumns / 64;  // 16-column groups a warp owns
#pragma unroll
  for (int k16 = 0; k16 < kStepK / 16; ++k16) {
    uint32_t frag_b[kGroups][4];
    const int matrix = lane >> 3;
    const int b_row = k16 * 16 + (matrix & 1) * 8 + (lane & 7);
#pragma unroll
    for (int g = 0; g < kGroups; ++g) {
      mma::ldmatrix_x4_trans(frag_b[g], b + b_chunk(b_row, (warp_n * kGroups + g) * 2 + (matrix >> 1)));
    }
#pragma unroll
    for (int t = 0; t < (MTiles + 1) / 2; ++t) {
      const int m_tile = 2 * t + warp_m;
      if (m_tile >= MTiles) break;
      uint32_t frag_a[4];
      mma::ldmatrix_x4(frag_a, a + a_chunk(m_tile * 16 + (lane & 15), k16 * 2 + (lane >> 4)));
#pragma unroll
      for (int g = 0; g < kGroups; ++g) {
        mma::mma_16816<T>(acc[t][2 * g], frag_a, frag_b[g][0], frag_b[g][1]);
        mma::mma_16816<T>(acc[t][2 * g + 1], frag_a, frag_b[g][2], frag_b[g][3]);
      }
    }
  }
}

template <typename T, int MTiles>
__global__ void __launch_bounds__(kThreads) skinny_gemm_kernel(const T* __restrict__ a, const T* __restrict__ b,
                                                               T* __restrict__ c, const T* __restrict__ bias,
                                                               Problem p) {
  extern __shared__ uint4 smem[];
  constexpr int kStepChunks = step_bytes(MTiles, kTileColumns) / 16;
  constexpr int kAChunks = MTiles * 16 * kStepK * 2 / 16;
  const int splits = cluster_size(), rank = cluster_rank();
  const int column0 = blockIdx.x * kTileColumns;
  const int steps = (p.k + kStepK - 1) / kStepK;
  const int first = rank * steps / splits, count = (rank + 1) * steps / splits - first;

  // The whole slice in flight at once: the weights first, then (after the previous kernel) A.
  for (int s = 0; s < count; ++s) load_b<T>(b, p, column0, first + s, smem + s * kStepChunks + kAChunks);
  wait_for_previous_kernel();
  for (int s = 0; s < count; ++s) {
    load_a<T, MTiles>(a, p, first + s, smem + s * kStepChunks);
    mma::cp_async_commit();
  }

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int warp_m = warp & 1, warp_n = warp >> 1;
  float acc[(MTiles + 1) / 2][kTileColumns / 32][4] = {};
  for (int s = 0; s < count; ++s) {
    cp_async_wait_at_most(count - 1 - s);
    __syncthreads();  // step s landed for every thread
    multiply_step<T, MTiles>(smem + s * kStepChunks, smem + s * kStepChunks + kAChunks, warp_m, warp_n,
                                      lane, acc);
  }

  // Each fragment goes straight to the inbox of the block that sums its row (distributed shared memory
  // stores: nothing waits on a remote round trip), in this block's slot.
  float* inbox = reinterpret_cast<float*>(smem + p.slice_chunks);
  constexpr int kStride = inbox_stride(kTileColumns);
  const int rows_per = rows_per_rank(MTiles, splits);
  const auto deliver = [&](int row, int column, float x, float y) {
    float* owner = cluster_shared(inbox, row / rows_per);
    *reinterpret_cast<float2*>(owner + (rank * rows_per + row % rows_per) * kStride + column) = make_float2(x, y);
  };
#pragma unroll
  for (int t = 0; t < (MTiles + 1) / 2; ++t) {
    const int m_tile = 2 * t + warp_m;
    if (m_tile >= MTiles) break;
#pragma unroll
    for (int n8 = 0; n8 < kTileColumns / 32; ++n8) {
      const int column = warp_n * (kTileColumns / 4) + n8 * 8 + (lane & 3) * 2;
      const int row = m_tile * 16 + (lane >> 2);
      deliver(row, column, acc[t][n8][0], acc[t][n8][1]);
      deliver(row + 8, column, acc[t][n8][2], acc[t][n8][3]);
    }
  }
  cluster_sync();  // every split's part of this block's rows has arrived

  constexpr int kQuadsPerRow = kTileColumns / 4;
  const int row0 = rank * rows_per;
  for (int q = threadIdx.x; q < rows_per * kQuadsPerRow; q += kThreads) {
    const int row = row0 + q / kQuadsPerRow, column = column0 + (q % kQuadsPerRow) * 4;
    if (row >= p.m || column >= p.n) continue;  // n is whole 8-column vectors: a quad is in or out
    float4 total = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    for (int source = 0; source < splits; ++source) {  // in rank order
      const float4 part =
          *reinterpret_cast<const float4*>(inbox + (source * rows_per + q / kQuadsPerRow) * kStride + (q % kQuadsPerRow) * 4);
      total.x += part.x;
      total.y += part.y;
      total.z += part.z;
      total.w += part.w;
    }
    const float values[4] = {total.x, total.y, total.z, total.w};
    T out[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      float value = values[j] * p.alpha;
      if (p.epilogue != Epilogue::None) value = activate(value + to_float(bias[column + j]), p.epilogue);
      out[j] = from_float<T>(value);
    }
    *reinterpret_cast<uint2*>(c + static_cast<size_t>(row) * p.ldc + column) = *reinterpret_cast<const uint2*>(out);
  }
}

int device_attribute(cudaDeviceAttr attribute) {
  int device = 0, value = 0;
  check(cudaGetDevice(&device), "querying the device");
  check(cudaDeviceGetAttribute(&value, attribute, device), "querying the device");
  return value;
}

// How a product is cut: 64-column tiles, k split over `splits` blocks of a cluster.
struct Layout {
  int m_tiles = 0, tiles = 0, steps = 0, splits = 0;
  size_t slice_bytes = 0, smem = 0;  // the largest block's slice of A and B; with the inbox, its shared memory
};

Layout with_splits(Layout layout, int splits) {
  layout.splits = splits;
  layout.slice_bytes = static_cast<size_t>((layout.steps + splits - 1) / splits) * step_bytes(layout.m_tiles, kTileColumns);
  layout.smem = layout.slice_bytes + inbox_bytes(layout.m_tiles, kTileColumns, splits);
  return layout;
}

// The most splits (a power of two ≤ 8, so clusters pack into the GPCs) that keep the grid within about
// two blocks an SM; more where the slice would not fit in shared memory.
Layout layout_of(const GemmSpec& spec) {
  static const int sms = device_attribute(cudaDevAttrMultiProcessorCount);
  Layout layout;
  layout.m_tiles = (spec.m + 15) / 16;
  layout.tiles = (spec.n + kTileColumns - 1) / kTileColumns;
  layout.steps = (spec.k + kStepK - 1) / kStepK;
  int splits = 1;
  while (splits * 2 <= std::min(kMaxSplits, layout.steps) && layout.tiles * splits * 2 <= 2 * sms) splits *= 2;
  while (splits * 2 <= std::min(kMaxSplits, layout.steps) && with_splits(layout, splits).smem > kMaxSharedBytes) {
    splits *= 2;
  }
  return with_splits(layout, splits);
}

template <typename T, int MTiles>
void launch(const Layout& planned, const GemmSpec& spec, const T* a, const T* b, T* c, const T* bias, float alpha,
            cudaStream_t stream) {
  // Once per instantiation (not a stream operation: legal during graph capture).
  static const bool opted_in = [] {
    check(cudaFuncSetAttribute(skinny_gemm_kernel<T, MTiles>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               device_attribute(cudaDevAttrMaxSharedMemoryPerBlockOptin)),
          "opting the skinny GEMM into shared memory");
    return true;
  }();
  (void)opted_in;
  // Halve the splits while the clusters would not all be resident at once (a second wave of clusters
  // doubles the time): cudaOccupancyMaxActiveClusters knows the GPC packing.
  Layout layout = planned;
  for (;;) {
    cudaLaunchAttribute cluster{};
    cluster.id = cudaLaunchAttributeClusterDimension;
    cluster.val.clusterDim = {1u, static_cast<unsigned>(layout.splits), 1u};
    cudaLaunchConfig_t query{};
    query.gridDim = dim3(static_cast<unsigned>(layout.tiles), static_cast<unsigned>(layout.splits));
    query.blockDim = dim3(kThreads);
    query.dynamicSmemBytes = layout.smem;
    query.attrs = &cluster;
    query.numAttrs = 1;
    int resident = 0;
    check(cudaOccupancyMaxActiveClusters(&resident, skinny_gemm_kernel<T, MTiles>, &query), "sizing the skinny GEMM");
    if (resident >= layout.tiles || layout.splits == 1) break;
    const Layout fewer = with_splits(layout, layout.splits / 2);
    if (fewer.smem > kMaxSharedBytes) break;
    layout = fewer;
  }
  const Problem problem{spec.m,   spec.n, spec.k, spec.lda, spec.ldb, spec.ldc, static_cast<int>(layout.slice_bytes / 16),
                        alpha, spec.epilogue};
  cudaLaunchAttribute attributes[2]{};
  attributes[0].id = cudaLaunchAttributeClusterDimension;
  attributes[0].val.clusterDim.x = 1;
  attributes[0].val.clusterDim.y = static_cast<unsigned>(layout.splits);
  attributes[0].val.clusterDim.z = 1;
  attributes[1].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attributes[1].val.programmaticStreamSerializationAllowed = dependent_launch_enabled() ? 1 : 0;
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(static_cast<unsigned>(layout.tiles), static_cast<unsigned>(layout.splits));
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = layout.smem;
  config.stream = stream;
  config.attrs = attributes;
  config.numAttrs = 2;
  check(cudaLaunchKernelEx(&config, skinny_gemm_kernel<T, MTiles>, a, b, c, bias, problem),
        "kernel skinny_gemm");
}

template <typename T, int MTiles = 1>
void launch_for_rows(const Layout& layout, const GemmSpec& spec, const T* a, const T* b, T* c, const T* bias,
                     float alpha, cudaStream_t stream) {
  if constexpr (MTiles < kSkinnyMaxRows / 16) {
    if (layout.m_tiles > MTiles) return launch_for_rows<T, MTiles + 1>(layout, spec, a, b, c, bias, alpha, stream);
  }
  launch<T, MTiles>(layout, spec, a, b, c, bias, alpha, stream);
}

}  // namespace

bool skinny_gemm_applies(const GemmSpec& spec) {
  static const bool offered = [] {
    const char* setting = std::getenv("FTBENCH_SKINNY");  // opt-in: NOTES.md, version 12
    return setting != nullptr && std::strcmp(setting, "1") == 0 && device_attribute(cudaDevAttrComputeCapabilityMajor) >= 9;
  }();
  if (!offered || (spec.dtype != DType::F16 && spec.dtype != DType::BF16)) return false;
  if (spec.fp8 || spec.batch != 1 || spec.trans_a || spec.trans_b) return false;
  const auto whole_vectors = [](int elements) { return elements % 8 == 0; };  // 16 bytes of 16-bit values
  return spec.m >= 1 && spec.m <= kSkinnyMaxRows && whole_vectors(spec.n) && whole_vectors(spec.k) &&
         whole_vectors(spec.lda) && whole_vectors(spec.ldb) && whole_vectors(spec.ldc) && spec.alignment >= 16 &&
         layout_of(spec).smem <= kMaxSharedBytes;
}

void skinny_gemm(const GemmSpec& spec, const void* a, const void* b, void* c, const void* bias, float alpha,
                 cudaStream_t stream) {
  const Layout layout = layout_of(spec);
  if (spec.dtype == DType::F16) {
    launch_for_rows<__half>(layout, spec, static_cast<const __half*>(a), static_cast<const __half*>(b), static_cast<__half*>(c),
                            static_cast<const __half*>(bias), alpha, stream);
  } else {
    launch_for_rows<__nv_bfloat16>(layout, spec, static_cast<const __nv_bfloat16*>(a), static_cast<const __nv_bfloat16*>(b),
                                   static_cast<__nv_bfloat16*>(c), static_cast<const __nv_bfloat16*>(bias), alpha,
                                   stream);
  }
  check_launch("skinny_gemm");
}

}  // namespace ftb::cuda
