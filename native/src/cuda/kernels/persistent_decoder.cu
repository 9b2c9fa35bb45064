// The persistent decoder step kernel (persistent_decoder.h says what it runs and why). Shared memory of
// a block: its weight tile ([k/16][32 lanes] 16-byte A fragments), the stage's input rows ([rows padded
// to 8·kNt][k + 8], storage type: the +8 puts the 8 rows a B-fragment load touches on distinct banks),
// which the attention stages reuse as their warps' slices, and the warps' partial sums [kWarps][kNt][32].
#include <cooperative_groups.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <type_traits>

#include "cuda/check.h"
#include "cuda/kernels/decoder_attention_internal.cuh"
#include "cuda/kernels/decoder_attention_warp.cuh"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/mma_sm80.cuh"
#include "cuda/kernels/persistent_decoder.h"

namespace ftb::cuda {
namespace {

namespace cg = cooperative_groups;
using mma::cp_async_16;

constexpr int kWarps = 8;
constexpr unsigned int kThreads = kWarps * 32;
constexpr int kTile = 16;         // output columns of a block's tile; the k depth of one MMA
constexpr int kPad = 8;           // elements past each input row in shared memory
constexpr int kMaxLaneVecs = 4;   // LayerNorm rows of at most 32·4 16-byte vectors (h ≤ 1024 at fp16)

// Floats of the cross-attention stage's shared memory (cross_attention_stage): q [D], p [keys], the
// warps' max and Σp [2 kWarps], their p·V [kWarps][D].
__host__ __device__ inline size_t block_attention_floats(int head_size, int keys) {
  return static_cast<size_t>(head_size) * (kWarps + 1) + padded_keys(keys) + 2 * kWarps;
}

// Byte offsets of the shared-memory regions (host and device agree on them).
struct Layout {
  size_t big, input, reduce, total;  // the small weight buffer at 0
};
// Elements of the LayerNorm prologue's staged inputs, past the normalised rows: x and the residual
// [rows, h], then bias, gamma and beta [h].
__host__ __device__ inline size_t staging_elements(int rows, int hidden) {
  return (2 * static_cast<size_t>(rows) + 3) * hidden;
}
__host__ __device__ inline Layout smem_layout(int hidden, int inter, int head_size, int max_keys, int elem_bytes,
                                              int n_tiles) {
  const int max_k = hidden > inter ? hidden : inter;
  const size_t small = static_cast<size_t>(hidden) * 32, weights = small + static_cast<size_t>(max_k) * 32;
  const size_t gemm_rows = static_cast<size_t>(8 * n_tiles) * (max_k + kPad);
  const size_t norm_rows = static_cast<size_t>(8 * n_tiles) * (hidden + kPad) + staging_elements(8 * n_tiles, hidden);
  const size_t rows_bytes = (gemm_rows > norm_rows ? gemm_rows : norm_rows) * elem_bytes;
  const size_t warp_slices = static_cast<size_t>(kWarps) * warp_floats(head_size, max_keys, true);
  const size_t block_slices = block_attention_floats(head_size, max_keys);
  const size_t slices = (warp_slices > block_slices ? warp_slices : block_slices) * sizeof(float);
  const size_t input = rows_bytes > slices ? rows_bytes : slices;
  const size_t reduce = static_cast<size_t>(kWarps) * n_tiles * 32 * sizeof(float4);
  return {small, weights, weights + input, weights + input + reduce};
}

// Starts copying this block's first tile of the packed weight w [k, n] into shared memory, as one
// cp.async group (empty where the block has no tile, or w is null: the group count stays the same in
// every block and stage).
__device__ __noinline__ void prefetch_tile(const uint4* w, int k, int n, uint4* tile) {
  if (w != nullptr && static_cast<int>(blockIdx.x) < n / kTile) {
    const uint4* src = w + static_cast<size_t>(blockIdx.x) * k * 2;
    for (int i = threadIdx.x; i < k * 2; i += kThreads) cp_async_16(tile + i, src + i, true);
  }
  mma::cp_async_commit();
}

// Starts copying rows [rows, k] of src into the block's input rows (the caller commits).
template <typename T>
__device__ __noinline__ void load_rows(const T* src, int rows, int k, T* in) {
  constexpr int X = kVec<T>;
  const int vecs = k / X;
  for (int i = threadIdx.x; i < rows * vecs; i += kThreads) {
    const int row = i / vecs, v = i % vecs;
    cp_async_16(in + row * (k + kPad) + v * X, src + static_cast<size_t>(row) * k + v * X, true);
  }
}

// One row of the residual stream, a warp: v = x + residual + bias (fp32, in that order; with kAdd, else
// v = x), stored rounded to `sum_out` when given; with gamma, LN(v)·gamma + beta rounded into `out`,
// else v into `out`. The layernorm kernel's lane assignment and order (layernorm.cu), so the sums and
// the result are its bits. N = ⌈h / (32 X)⌉, a lane's vectors (with_lane_vectors): the code is unrolled for
// exactly those, as a lone warp runs it after a grid barrier and its time is its instruction count
// (NOTES.md, decoder version 10).
template <typename T, int N, bool kAdd>
__device__ void residual_row(const T* x, const T* residual, const T* bias, const T* gamma, const T* beta, float eps,
                             int h, T* sum_out, T* out) {
  constexpr int X = kVec<T>;
  const int lane = threadIdx.x & 31, vecs = h / X;
  float values[N][X];
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < N; ++i) {
    const int v = lane + i * 32;
    if (v >= vecs) continue;
    load_vec(x + v * X, values[i]);
    if constexpr (kAdd) {
      float add[X];
      load_vec(residual + v * X, add);
#pragma unroll
      for (int j = 0; j < X; ++j) values[i][j] += add[j];
      load_vec(bias + v * X, add);
#pragma unroll
      for (int j = 0; j < X; ++j) values[i][j] += add[j];
    }
    if (sum_out != nullptr) store_vec(sum_out + v * X, values[i]);
    if (gamma == nullptr) store_vec(out + v * X, values[i]);
#pragma unroll
    for (int j = 0; j < X; ++j) sum += values[i][j];
  }
  if (gamma == nullptr) return;
  const float mean = warp_sum(sum) / h;
  float squares = 0.0f;
#pragma unroll
  for (int i = 0; i < N; ++i) {
    if (lane + i * 32 >= vecs) continue;
#pragma unroll
    for (int j = 0; j < X; ++j) {
      const float d = values[i][j] - mean;
      squares += d * d;
    }
  }
  const float rstd = rsqrtf(warp_sum(squares) / h + eps);
#pragma unroll
  for (int i = 0; i < N; ++i) {
    const int v = lane + i * 32;
    if (v >= vecs) continue;
    float g[X], b[X];
    load_vec(gamma + v * X, g);
    load_vec(beta + v * X, b);
#pragma unroll
    for (int j = 0; j < X; ++j) values[i][j] = (values[i][j] - mean) * rstd * g[j] + b[j];
    store_vec(out + v * X, values[i]);
  }
}

// A GEMM prologue's LayerNorm, in two calls: stage_norm_inputs starts copying x, the residual, the
// bias, gamma and beta into shared memory behind the block's input rows (one round trip for all of
// them; the caller commits and waits), then norm_rows sets the input rows to LN(x + residual + bias),
// a warp a row; block 0 also stores the sum.
template <typename T>
struct NormInputs {
  T* staged;  // x [rows, h], residual [rows, h], bias, gamma, beta [h]
  __device__ NormInputs(T* in, int rows, int h) : staged(in + static_cast<size_t>(rows) * (h + kPad)) {}
};

template <typename T>
__device__ __noinline__ void stage_norm_inputs(const T* x, const T* residual, const T* bias, const T* gamma, const T* beta,
                                  int rows, int h, T* in) {
  constexpr int X = kVec<T>;
  T* staged = NormInputs<T>(in, rows, h).staged;
  T* staged_residual = staged + static_cast<size_t>(rows) * h;
  T* vectors = staged_residual + static_cast<size_t>(rows) * h;
  const int row_vecs = rows * h / X, vecs = h / X;
  for (int i = threadIdx.x; i < row_vecs; i += kThreads) {
    cp_async_16(staged + i * X, x + i * X, true);
    if (residual != nullptr) cp_async_16(staged_residual + i * X, residual + i * X, true);
  }
  for (int i = threadIdx.x; i < vecs; i += kThreads) {
    if (bias != nullptr) cp_async_16(vectors + i * X, bias + i * X, true);
    cp_async_16(vectors + h + i * X, gamma + i * X, true);
    cp_async_16(vectors + 2 * h + i * X, beta + i * X, true);
  }
}

// Calls body(std::integral_constant<int, N>{}) with N = ⌈h / (32 X)⌉, a row's 16-byte vectors a lane
// (h ≤ 32 · kMaxLaneVecs · X: persistent_decoder_supported).
template <typename T, typename Body>
__device__ void with_lane_vectors(int h, Body&& body) {
  switch ((h / kVec<T> + 31) / 32) {
    case 1: return body(std::integral_constant<int, 1>{});
    case 2: return body(std::integral_constant<int, 2>{});
    case 3: return body(std::integral_constant<int, 3>{});
    default: return body(std::integral_constant<int, kMaxLaneVecs>{});
  }
}

// `add`: the staged residual and bias are added first (every LayerNorm but the first layer's first).
// One call site in the kernel, the row length's code chosen inside (calls from the kernel's body keep
// its live registers across them: one a stage, as before).
template <typename T>
__device__ __noinline__ void norm_rows(bool add, float eps, int rows, int h, T* sum_out, T* in) {
  T* staged = NormInputs<T>(in, rows, h).staged;
  T* staged_residual = staged + static_cast<size_t>(rows) * h;
  T* vectors = staged_residual + static_cast<size_t>(rows) * h;
  with_lane_vectors<T>(h, [&](auto n) {
    constexpr int N = decltype(n)::value;
    for (int row = threadIdx.x / 32; row < rows; row += kWarps) {
      const size_t at = static_cast<size_t>(row) * h;
      T* sum = blockIdx.x == 0 && sum_out != nullptr ? sum_out + at : nullptr;
      T* out = in + row * (h + kPad);
      if (add) {
        residual_row<T, N, true>(staged + at, staged_residual + at, vectors, vectors + h, vectors + 2 * h, eps, h, sum, out);
      } else {
        residual_row<T, N, false>(staged + at, nullptr, nullptr, vectors + h, vectors + 2 * h, eps, h, sum, out);
      }
    }
  });
  __syncthreads();  // the rows, for every warp's MMAs
}

// The kernel's last residual add, a warp a row over the grid: with the final LayerNorm (gamma given)
// into `out`, else the sum into `out` (which may be x itself: each lane reads its elements before it
// writes them).
template <typename T>
__device__ __noinline__ void final_rows(const T* x, const T* residual, const T* bias, const T* gamma, const T* beta,
                                        float eps, int rows, int h, T* out) {
  with_lane_vectors<T>(h, [&](auto n) {
    for (int row = blockIdx.x * kWarps + threadIdx.x / 32; row < rows; row += gridDim.x * kWarps) {
      const size_t at = static_cast<size_t>(row) * h;
      residual_row<T, decltype(n)::value, true>(x + at, residual + at, bias, gamma, beta, eps, h, nullptr, out + at);
    }
  });
}

// out [rows, n] = in · w over the block's tiles (in: the block's input rows, k deep; the first tile's
// weights in `tile`, both waited for by the caller), relu(· + bias) when relu_bias is given. Warp w
// sums k tiles w, w + kWarps, ...; the warps' fragments are then summed in warp order.
template <typename T, int kNt>
__device__ __noinline__ void gemm_rows(const uint4* w, int k, int n, const T* in, int rows, const T* relu_bias, T* out,
                          uint4* tile, float4* reduce) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31;
  const int stride = k + kPad;
  for (int ct = blockIdx.x; ct < n / kTile; ct += gridDim.x) {
    if (ct != static_cast<int>(blockIdx.x)) {
      __syncthreads();  // every warp is done with the previous tile
      const uint4* src = w + static_cast<size_t>(ct) * k * 2;
      for (int i = threadIdx.x; i < k * 2; i += kThreads) cp_async_16(tile + i, src + i, true);
      mma::cp_async_commit();
      mma::cp_async_wait<0>();
      __syncthreads();
    }
    float acc[kNt][4] = {};
    const T* b_row = in + (lane >> 2) * stride + (lane & 3) * 2;
    for (int kt = warp; kt < k / kTile; kt += kWarps) {
      const uint4 fragment = tile[kt * 32 + lane];
      const uint32_t a[4] = {fragment.x, fragment.y, fragment.z, fragment.w};
#pragma unroll
      for (int j = 0; j < kNt; ++j) {
        const T* b = b_row + j * 8 * stride + kt * kTile;
        mma::mma_16816<T>(acc[j], a, *reinterpret_cast<const uint32_t*>(b), *reinterpret_cast<const uint32_t*>(b + 8));
      }
    }
#pragma unroll
    for (int j = 0; j < kNt; ++j) reduce[(warp * kNt + j) * 32 + lane] = make_float4(acc[j][0], acc[j][1], acc[j][2], acc[j][3]);
    __syncthreads();
    // C fragment element q of lane l, n-tile j: output column (l / 4) + 8·(q / 2), row 8j + 2·(l % 4) + q % 2.
    for (int e = threadIdx.x; e < kNt * 128; e += kThreads) {
      const int j = e / 128, l = e / 4 % 32, q = e % 4;
      const int row = j * 8 + (l & 3) * 2 + (q & 1);
      if (row >= rows) continue;
      float sum = 0.0f;
      for (int v = 0; v < kWarps; ++v) sum += reinterpret_cast<const float*>(&reduce[(v * kNt + j) * 32 + l])[q];
      const int col = ct * kTile + (l >> 2) + (q >> 1) * 8;
      if (relu_bias != nullptr) sum = fmaxf(sum + to_float(relu_bias[col]), 0.0f);
      out[static_cast<size_t>(row) * n + col] = from_float<T>(sum);
    }
  }
}

template <typename T, int D>
__device__ __noinline__ void self_attention_stage(const PersistentDecoderArgs& a, const PersistentLayer& layer, int t,
                                     float4* slices) {
  const int warp = threadIdx.x / 32, hidden = a.hidden;
  const WarpShared sh(slices, warp, D, a.cache_len, true);
  const int* table = a.cache_indir != nullptr ? a.cache_indir + static_cast<size_t>(t & 1) * a.rows * a.cache_len : nullptr;
  T* k_cache = static_cast<T*>(layer.k_cache);
  T* v_cache = static_cast<T*>(layer.v_cache);
  for (int p = blockIdx.x + gridDim.x * warp; p < a.rows * a.heads; p += gridDim.x * kWarps) {
    const int row = p / a.heads, head = p % a.heads;
    const CacheKeys<T> keys{k_cache, v_cache, table, row, row - row % a.beam, head, a.heads, D, a.cache_len, t};
    for (int s = threadIdx.x & 31; s <= t; s += 32) sh.sources[s] = keys.source(s);
    load_new_entry<T, D>(static_cast<const T*>(a.qkv) + static_cast<size_t>(row) * 3 * hidden + head * D,
                         static_cast<const T*>(layer.qkv_b) + head * D, hidden, k_cache, v_cache, keys, sh.q);
    __syncwarp();  // q (shared) and the new k/v (global) visible to the whole warp
    warp_attend<T, D>(keys, t + 1, sh, static_cast<T*>(a.ctx) + static_cast<size_t>(row) * hidden + head * D);
    __syncwarp();  // the slice is free for the warp's next pair
  }
}

// Cross-attention, a block per (row, head) (pairs past the grid in turn). A warp per pair, as the
// self-attention stage, walks 128 memory keys in four rounds of L2 loads for q·K and four more for p·V,
// while the block's other warps idle (decoder version 14); here warp w takes keys [w·c, (w + 1)·c),
// c = ⌈n / kWarps⌉: one round each. Scores and p = exp(score − max) are the warp routine's two halves
// (key_dots, exp_sums) over the warp's keys, the max taken over the warps between them; Σp and p·V are
// summed per warp (warp_values' order within its keys), then over the warps in order.
// Shared memory: block_attention_floats (above).
template <typename T, int D>
__device__ __noinline__ void cross_attention_stage(const PersistentDecoderArgs& a, const PersistentLayer& layer, float4* smem) {
  constexpr int X = kVec<T>, kChunks = D / X;
  const int warp = threadIdx.x / 32, lane = threadIdx.x & 31;
  float* const q = reinterpret_cast<float*>(smem);
  float* const p = q + D;
  float* const warp_max_of = p + padded_keys(a.mem_len);
  float* const warp_sum_of = warp_max_of + kWarps;
  float* const warp_values_of = warp_sum_of + kWarps;
  for (int pair = blockIdx.x; pair < a.rows * a.heads; pair += gridDim.x) {
    const int row = pair / a.heads, head = pair % a.heads, sentence = row / a.beam;
    const MemoryKeys<T> keys{static_cast<const T*>(layer.memory_kv), sentence, head, a.heads, D, a.mem_len};
    const int n = memory_length(a.memory_lengths, sentence, a.mem_len);
    const int per_warp = (n + kWarps - 1) / kWarps, begin = warp * per_warp, end = min(n, begin + per_warp);
    if (warp == 0) {
      load_query<T, D>(static_cast<const T*>(a.query) + static_cast<size_t>(row) * a.hidden + head * D,
                       static_cast<const T*>(layer.cross_q_b) + head * D, q);
    }
    __syncthreads();
    const float local_max = key_dots<T, D>(keys, begin, end, q, nullptr, p);
    if (lane == 0) warp_max_of[warp] = local_max;
    __syncthreads();
    float row_max = warp_max_of[0];
    for (int w = 1; w < kWarps; ++w) row_max = fmaxf(row_max, warp_max_of[w]);
    const float sum = exp_sums(begin, end, row_max, p);
    __syncwarp();  // the warp's p visible to all its lanes
    float acc[X] = {};
    warp_value_sums<T, D>(keys, begin, end, p, nullptr, acc);
    if (lane < kChunks) {
#pragma unroll
      for (int j = 0; j < X; ++j) warp_values_of[warp * D + lane * X + j] = acc[j];
    }
    if (lane == 0) warp_sum_of[warp] = sum;
    __syncthreads();
    if (threadIdx.x < kChunks) {
      float total = 0.0f, out[X] = {};
      for (int w = 0; w < kWarps; ++w) {
        total += warp_sum_of[w];
#pragma unroll
        for (int j = 0; j < X; ++j) out[j] += warp_values_of[w * D + threadIdx.x * X + j];
      }
      const float inv = 1.0f / total;
#pragma unroll
      for (int j = 0; j < X; ++j) out[j] *= inv;
      store_vec(static_cast<T*>(a.ctx) + static_cast<size_t>(row) * a.hidden + head * D + threadIdx.x * X, out);
    }
    __syncthreads();  // q, p and the sums are free for the block's next pair
  }
}

// A GEMM of the stack: its packed weight and shape.
struct GemmOp {
  const void* w;
  int k, n;
};

template <typename T, int D, int kNt>
__global__ void __launch_bounds__(kThreads, 1) persistent_decoder_kernel(const __grid_constant__ PersistentDecoderArgs a) {
  extern __shared__ uint4 persistent_smem[];
  const Layout layout = smem_layout(a.hidden, a.inter, D, max(a.cache_len, a.mem_len), sizeof(T), kNt);
  // GEMM j of a layer (0 qkv, 1 self-out, 2 cross-q, 3 cross-out, 4 FFN1, 5 FFN2) runs on tiles[j % 2]
  // (the odd ones, FFN2's k = inter among them, on the big buffer) while GEMM j + 1's tile is copied
  // into the other: a whole stage, not the barrier alone, hides each weight read.
  uint4* const tiles[2] = {persistent_smem, reinterpret_cast<uint4*>(reinterpret_cast<char*>(persistent_smem) + layout.big)};
  T* in = reinterpret_cast<T*>(reinterpret_cast<char*>(persistent_smem) + layout.input);
  float4* slices = reinterpret_cast<float4*>(in);
  float4* reduce = reinterpret_cast<float4*>(reinterpret_cast<char*>(persistent_smem) + layout.reduce);
  cg::grid_group grid = cg::this_grid();
  const int t = *a.step, h = a.hidden, rows = a.rows;
  T* x = static_cast<T*>(a.x);
  T* x_next = static_cast<T*>(a.x_alt);
  T* projected = static_cast<T*>(a.projected);
  int clock_index = 0;
  const auto record_clock = [&] {
    if (a.stage_clocks != nullptr && blockIdx.x == 0 && threadIdx.x == 0) a.stage_clocks[clock_index++] = clock64();
  };
  int gemm_clock_index = 0;
  const auto record_gemm_clock = [&] {
    if (a.gemm_clocks != nullptr && blockIdx.x == 0 && threadIdx.x == 0) a.gemm_clocks[gemm_clock_index++] = clock64();
  };
  const auto sync = [&] {
    grid.sync();
    record_clock();
  };
  const auto advance = [&] {  // the sum just stored in x_next is the residual stream now
    T* const previous = x;
    x = x_next;
    x_next = previous;
  };
  // GEMM j into `out`: issue() starts the block's input copies (one cp.async group), `next`'s tile
  // follows (another), and once the input and j's tile have landed, the LayerNorm of the staged inputs
  // (`norm`: with the residual and bias when `residual`; their sum into x_next) and the GEMM.
  const auto gemm_stage = [&](int j, GemmOp op, GemmOp next, auto issue, bool norm, bool residual, const void* relu_bias,
                              void* out) {
    const bool active = static_cast<int>(blockIdx.x) < op.n / kTile;
    if (active) issue();
    mma::cp_async_commit();
    prefetch_tile(static_cast<const uint4*>(next.w), next.k, next.n, tiles[(j + 1) % 2]);
    if (!active) return;
    mma::cp_async_wait<1>();
    __syncthreads();
    record_gemm_clock();
    if (norm) norm_rows(residual, a.eps, rows, h, residual ? x_next : nullptr, in);
    record_gemm_clock();
    gemm_rows<T, kNt>(static_cast<const uint4*>(op.w), op.k, op.n, in, rows, static_cast<const T*>(relu_bias),
                      static_cast<T*>(out), tiles[j % 2], reduce);
    record_gemm_clock();
  };
  const auto stage_norm = [&](const T* residual, const void* bias, int which, const PersistentLayer& layer) {
    return [=] {
      stage_norm_inputs(x, residual, static_cast<const T*>(bias), static_cast<const T*>(layer.ln_gamma[which]),
                        static_cast<const T*>(layer.ln_beta[which]), rows, h, in);
    };
  };
  const auto stage_rows = [&](const void* src, int k) {
    return [=] { load_rows(static_cast<const T*>(src), rows, k, in); };
  };
  record_clock();
  prefetch_tile(static_cast<const uint4*>(a.layer[0].qkv_w), h, 3 * h, tiles[0]);
  for (int l = 0; l < a.layers; ++l) {
    const PersistentLayer& layer = a.layer[l];
    const GemmOp qkv{layer.qkv_w, h, 3 * h}, self_out{layer.self_out_w, h, h}, cross_q{layer.cross_q_w, h, h},
        cross_out{layer.cross_out_w, h, h}, ffn1{layer.ffn1_w, h, a.inter}, ffn2{layer.ffn2_w, a.inter, h};
    const GemmOp next_qkv = l + 1 < a.layers ? GemmOp{a.layer[l + 1].qkv_w, h, 3 * h} : GemmOp{nullptr, 0, 0};
    const bool first = l == 0;
    gemm_stage(0, qkv, self_out, stage_norm(first ? nullptr : projected, first ? nullptr : a.layer[l - 1].ffn2_b, 0, layer),
               true, !first, nullptr, a.qkv);
    if (!first) advance();
    sync();
    self_attention_stage<T, D>(a, layer, t, slices);
    sync();
    gemm_stage(1, self_out, cross_q, stage_rows(a.ctx, h), false, false, nullptr, projected);
    sync();
    gemm_stage(2, cross_q, cross_out, stage_norm(projected, layer.self_out_b, 1, layer), true, true, nullptr, a.query);
    advance();
    sync();
    cross_attention_stage<T, D>(a, layer, slices);
    sync();
    gemm_stage(3, cross_out, ffn1, stage_rows(a.ctx, h), false, false, nullptr, projected);
    sync();
    gemm_stage(4, ffn1, ffn2, stage_norm(projected, layer.cross_out_b, 2, layer), true, true, layer.ffn1_b, a.inter_buf);
    advance();
    sync();
    gemm_stage(5, ffn2, next_qkv, stage_rows(a.inter_buf, a.inter), false, false, nullptr, projected);
    sync();
  }
  // The last residual add (final_rows), from x, which may be a.x itself.
  const PersistentLayer& last = a.layer[a.layers - 1];
  const bool final_norm = a.final_out != nullptr;
  final_rows(x, projected, static_cast<const T*>(last.ffn2_b), final_norm ? static_cast<const T*>(a.final_gamma) : nullptr,
             static_cast<const T*>(a.final_beta), a.eps, rows, h, static_cast<T*>(final_norm ? a.final_out : a.x));
  if (a.stage_clocks != nullptr) sync();  // the profile's end: the last row written
}

using KernelPointer = void (*)(const PersistentDecoderArgs);

// The kernel for a type, head size and row count (8·kNt ≥ rows).
KernelPointer kernel_for(DType dtype, int head_size, int rows) {
  KernelPointer kernel = nullptr;
  dispatch_warp_attention(dtype, head_size, [&](auto zero, auto d) {
    using T = decltype(zero);
    constexpr int D = decltype(d)::value;
    kernel = rows <= 8    ? persistent_decoder_kernel<T, D, 1>
             : rows <= 16 ? persistent_decoder_kernel<T, D, 2>
                          : persistent_decoder_kernel<T, D, 4>;
  });
  return kernel;
}

int row_tiles(int rows) { return rows <= 8 ? 1 : rows <= 16 ? 2 : 4; }

Layout layout_for(DType dtype, int hidden, int inter, int head_size, int cache_len, int mem_len, int rows) {
  return smem_layout(hidden, inter, head_size, std::max(cache_len, mem_len), static_cast<int>(dtype_size(dtype)),
                     row_tiles(rows));
}

// What a launch needs of the current device, queried once per device (a step launches the kernel:
// the eager runs would otherwise pay three driver queries and an attribute write every step). Every
// instantiation is opted into all the dynamic shared memory the device allows it at the first query,
// so any layout that fits launches without another cudaFuncSetAttribute. `ok` false: a query failed (no
// device, a broken context), and the kernel is not offered.
struct DeviceLimits {
  bool ok = false, cooperative = false;
  int sms = 0, dynamic_smem = 0;  // dynamic_smem: what every instantiation may take past its static smem
};

DeviceLimits query_limits(int device) {
  DeviceLimits limits;
  int cooperative = 0, optin = 0;
  if (cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&limits.sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) != cudaSuccess) {
    return limits;
  }
  limits.dynamic_smem = optin;
  for (const DType dtype : {DType::F16, DType::BF16}) {
    for (const int head_size : {64, 128}) {
      for (const int rows : {1, 16, kPersistentMaxRows}) {
        const KernelPointer kernel = kernel_for(dtype, head_size, rows);
        cudaFuncAttributes attributes{};
        if (cudaFuncGetAttributes(&attributes, kernel) != cudaSuccess) return limits;
        const int dynamic = optin - static_cast<int>(attributes.sharedSizeBytes);
        if (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, dynamic) != cudaSuccess) {
          return limits;
        }
        limits.dynamic_smem = std::min(limits.dynamic_smem, dynamic);
      }
    }
  }
  limits.ok = true;
  limits.cooperative = cooperative != 0;
  return limits;
}

const DeviceLimits& device_limits() {
  static std::mutex mutex;
  static std::map<int, DeviceLimits> by_device;
  static const DeviceLimits none;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return none;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto found = by_device.find(device);
  return found != by_device.end() ? found->second : by_device.emplace(device, query_limits(device)).first->second;
}

template <typename T>
__global__ void pack_kernel(const T* w, int k, int n, T* packed) {
  const size_t total = static_cast<size_t>(k) * n;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int e = static_cast<int>(i % 8), lane = static_cast<int>(i / 8 % 32);
    const size_t tile = i / 256;
    const int k_tiles = k / kTile;
    const int kt = static_cast<int>(tile % k_tiles), ct = static_cast<int>(tile / k_tiles);
    // A fragment register e / 2 of lane: row (output column) lane / 4, + 8 for registers 1 and 3;
    // column (k) 2·(lane % 4) + e % 2, + 8 for registers 2 and 3.
    const int reg = e / 2;
    const int column = ct * kTile + (lane >> 2) + (reg & 1) * 8;
    const int depth = kt * kTile + (lane & 3) * 2 + (e & 1) + (reg >> 1) * 8;
    packed[i] = w[static_cast<size_t>(depth) * n + column];
  }
}

}  // namespace

bool persistent_decoder_supported(DType dtype, int layers, int rows, int heads, int head_size, int hidden, int inter,
                                  int cache_len, int mem_len) {
  if (dtype != DType::F16 && dtype != DType::BF16) return false;
  if (head_size != 64 && head_size != 128) return false;
  if (layers < 1 || layers > kPersistentMaxLayers || rows < 1 || rows > kPersistentMaxRows) return false;
  const int vec = static_cast<int>(16 / dtype_size(dtype));
  if (heads * head_size != hidden || hidden % kTile != 0 || inter % kTile != 0) return false;
  if (hidden > 32 * kMaxLaneVecs * vec) return false;
  const DeviceLimits& limits = device_limits();
  if (!limits.ok || !limits.cooperative) return false;
  const Layout layout = layout_for(dtype, hidden, inter, head_size, cache_len, mem_len, rows);
  if (layout.total > static_cast<size_t>(limits.dynamic_smem)) return false;
  int blocks = 0;
  return cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel_for(dtype, head_size, rows), kThreads,
                                                       layout.total) == cudaSuccess &&
         blocks >= 1;
}

size_t persistent_weight_bytes(DType dtype, int k, int n) { return static_cast<size_t>(k) * n * dtype_size(dtype); }

void pack_persistent_weight(DType dtype, const void* w, int k, int n, void* packed, cudaStream_t stream) {
  const auto pack = [&](auto zero) {
    using T = decltype(zero);
    pack_kernel<T><<<1024, 256, 0, stream>>>(static_cast<const T*>(w), k, n, static_cast<T*>(packed));
  };
  if (dtype == DType::F16) pack(__half{});
  if (dtype == DType::BF16) pack(__nv_bfloat16{});
  check_launch("pack_persistent_weight");
}

void persistent_decoder_step(DType dtype, const PersistentDecoderArgs& args, cudaStream_t stream) {
  const Layout layout = layout_for(dtype, args.hidden, args.inter, args.head_size, args.cache_len, args.mem_len, args.rows);
  const KernelPointer kernel = kernel_for(dtype, args.head_size, args.rows);
  const DeviceLimits& limits = device_limits();
  if (!limits.ok) throw EngineError("persistent decoder: the device could not be queried");
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeCooperative;
  attribute.val.cooperative = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(static_cast<unsigned int>(limits.sms));
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = layout.total;
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = 1;
  check(cudaLaunchKernelEx(&config, kernel, args), "kernel persistent_decoder");
}

}  // namespace ftb::cuda
