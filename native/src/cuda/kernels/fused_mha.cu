// The fused encoder attention (fused_attention in attention.h): FlashAttention-style, mma.sync
// m16n8k16 with fp32 accumulation, on variable-length packed sequences (seq_offsets) read straight
// from the QKV GEMM's output qkv [tokens, 3H]. Version 3 (issue 21) keeps v2's shape (a block of 4
// warps × 16 query rows, 64-key tiles, head size 64 at 128 registers and 4 blocks per SM) and cuts
// what an ncu profile of v2 showed: instructions per MMA (v2 issued ~9 instructions per HMMA and kept
// the issue slots only 52 % busy with 1.2 eligible warps), two barriers per key tile, uncoalesced
// output stores and bias loads, and shared-store bank conflicts of the padded tiles.
#include <cmath>
#include <type_traits>

#include "cuda/check.h"
#include "cuda/kernels/attention.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/mma_sm80.cuh"

namespace ftb::cuda {
namespace {

using namespace mma;

// The sum of two registers of two 16-bit values, rounded once (as adding in fp32 and rounding would).
template <typename T>
__device__ __forceinline__ uint32_t add2(uint32_t a, uint32_t b) {
  using T2 = std::conditional_t<std::is_same_v<T, __half>, __half2, __nv_bfloat162>;
  const T2 sum = __hadd2(*reinterpret_cast<const T2*>(&a), *reinterpret_cast<const T2*>(&b));
  return *reinterpret_cast<const uint32_t*>(&sum);
}

// One MUFU.EX2: exp2f would add a range fix-up around it for denormal results, which softmax
// weights below 2^-126 do not need (they flush to zero).
__device__ __forceinline__ float exp2_ftz(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

constexpr int kQueryTile = 64;  // 4 warps x 16 query rows
constexpr int kKeyTile = 64;
constexpr int kMhaThreads = 128;
// The running row max moves only when a tile's max exceeds it by more than this (log2 units): the
// softmax weights then stay below 2^8 (exact enough in fp16/bf16, far from fp32 overflow) and the
// output is rescaled on a row's first tile (and rarely after) instead of on every tile.
constexpr float kMaxSlack = 8.0f;

// Head size 128 keeps two stages: three (96 KB a block) would allow one block per SM on an A100.
template <int D>
constexpr int mha_stages() { return D <= 64 ? 3 : 2; }

template <int D>
constexpr size_t mha_smem_bytes() { return mha_stages<D>() * 2 * kKeyTile * D * 2; }  // stages × (k, v)

// Tiles are rows of D 16-bit values without padding; 16-byte chunk c of row r is stored at chunk
// c ^ (r % 8), so the 8 rows an ldmatrix (or a quarter-warp's stores) touches hit 8 different
// bank groups. Returns the element offset of the chunk.
template <int D>
__device__ __forceinline__ int swizzle(int row, int chunk) { return row * D + ((chunk ^ (row & 7)) << 3); }

// One block per (64 queries, head, sequence). K/v tiles go through a ring of mha_stages<D>() shared
// stages filled by cp.async, one barrier per tile: after the barrier of tile t every warp is done
// with tile t-1, whose stage then receives tile t + stages - 1. Q is copied raw into the last stage
// (free until then) and its bias added in registers. The bias of k is skipped: it adds q·b_k to every
// score of a query row, which softmax cancels exactly. The bias of v is added once to the output:
// the softmax weights of a row sum to one. Row sums come from one extra MMA per 16 keys (P times a
// column of ones) instead of 32 additions per thread and tile. The output tile is staged through a
// shared stage no warp still reads, then stored as whole 128-byte rows.
template <typename T, int D>
__global__ void __launch_bounds__(kMhaThreads, D <= 64 ? 4 : 2)
    fused_mha_kernel(const T* qkv, const T* bias, T* ctx, const int* seq_offsets, int heads, float scale_log2) {
  constexpr int kStages = mha_stages<D>();
  constexpr int kTile = kKeyTile * D;                    // elements of one k (or v, or q) tile
  constexpr int kChunks = D / 8;                         // 16-byte chunks of a row
  constexpr int kRowsPerPass = kMhaThreads / kChunks;    // rows one pass of the block copies
  static_assert(kRowsPerPass % 8 == 0, "a thread's rows must keep one swizzle");
  extern __shared__ __align__(128) unsigned char smem_bytes[];
  T* smem = reinterpret_cast<T*>(smem_bytes);  // stage s: k at smem + 2s·kTile, v right after it

  const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * kQueryTile;
  const int start = seq_offsets[b];
  const int len = seq_offsets[b + 1] - start;
  if (q0 >= len) return;
  const int hidden = heads * D;
  const int ld = 3 * hidden;
  const T* q_base = qkv + static_cast<size_t>(start) * ld + h * D;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int tiles = (len + kKeyTile - 1) / kKeyTile;

  // Thread tid copies chunk tid % kChunks of rows tid / kChunks + j·kRowsPerPass: whole 128-byte
  // segments per 8 threads, and one swizzled offset for all its rows.
  const int copy_row = tid / kChunks;
  const int copy_dst = swizzle<D>(copy_row, tid % kChunks);
  const T* copy_src = q_base + static_cast<size_t>(copy_row) * ld + tid % kChunks * 8;
  // Queues rows [row0, row0 + 64) of the tensor whose row copy_row starts at src into dst; rows past
  // the length are zero-filled (their source, never read, is row 0).
  const size_t pass_stride = static_cast<size_t>(kRowsPerPass) * ld;
  const auto copy_tile = [&](T* dst, const T* src, int row0) {
    const T* from = src + static_cast<size_t>(row0) * ld;
    if (row0 + kKeyTile <= len) {  // every tile but a sequence's last: no row to check
#pragma unroll
      for (int j = 0; j < kKeyTile / kRowsPerPass; ++j) {
        cp_async_16(dst + copy_dst + j * kRowsPerPass * D, from + j * pass_stride, true);
      }
    } else {
#pragma unroll
      for (int j = 0; j < kKeyTile / kRowsPerPass; ++j) {
        const bool valid = row0 + copy_row + j * kRowsPerPass < len;
        cp_async_16(dst + copy_dst + j * kRowsPerPass * D, valid ? from + j * pass_stride : q_base, valid);
      }
    }
  };
  // Queues key tile `tile` (k and v) into `stage` as one cp.async group; past the last tile the
  // group is empty, so that group i is always tile i for cp_async_wait.
  const auto load_kv = [&](int tile, int stage) {
    if (tile < tiles) {
      T* s_k = smem + stage * 2 * kTile;
      copy_tile(s_k, copy_src + hidden, tile * kKeyTile);
      copy_tile(s_k + kTile, copy_src + 2 * hidden, tile * kKeyTile);
    }
    cp_async_commit();
  };

  T* s_q = smem + (kStages - 1) * 2 * kTile;
  copy_tile(s_q, copy_src, q0);
  load_kv(0, 0);  // q travels in tile 0's group
#pragma unroll
  for (int t = 1; t < kStages - 1; ++t) load_kv(t, t);

  // The q bias in the A fragment's layout (columns kk·16 + 2·(lane % 4) and 8 more), loaded while
  // the copies fly.
  const T* q_bias = bias + h * D + 2 * (lane & 3);
  uint32_t bias_pair[D / 16][2];
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    bias_pair[kk][0] = *reinterpret_cast<const uint32_t*>(q_bias + kk * 16);
    bias_pair[kk][1] = *reinterpret_cast<const uint32_t*>(q_bias + kk * 16 + 8);
  }
  cp_async_wait<kStages - 2>();
  __syncthreads();
  uint32_t q_frag[D / 16][4];
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    ldmatrix_x4(q_frag[kk], s_q + swizzle<D>(warp * 16 + (lane & 15), kk * 2 + (lane >> 4)));
    q_frag[kk][0] = add2<T>(q_frag[kk][0], bias_pair[kk][0]);  // rows lane/4 and lane/4 + 8, low columns
    q_frag[kk][1] = add2<T>(q_frag[kk][1], bias_pair[kk][0]);
    q_frag[kk][2] = add2<T>(q_frag[kk][2], bias_pair[kk][1]);  // the same rows, columns + 8
    q_frag[kk][3] = add2<T>(q_frag[kk][3], bias_pair[kk][1]);
  }

  // ldmatrix offsets inside a stage (the swizzle depends on lane % 8 only): k for QKᵀ at d-block kk
  // (plus 16 rows per 16-key block), v for PV at d-block db (plus 16 rows per 16-key step).
  int k_offset[D / 16], v_offset[D / 16];
#pragma unroll
  for (int i = 0; i < D / 16; ++i) {
    k_offset[i] = swizzle<D>((lane & 7) + (lane >> 4) * 8, i * 2 + ((lane >> 3) & 1));
    v_offset[i] = kTile + swizzle<D>((lane & 7) + ((lane >> 3) & 1) * 8, i * 2 + (lane >> 4));
  }

  float out[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i) out[i][0] = out[i][1] = out[i][2] = out[i][3] = 0.0f;
  float row_sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};  // P·1: [0], [1] row lane/4, [2], [3] row lane/4 + 8
  float row_max[2] = {-INFINITY, -INFINITY};    // log2 units (scores × scale_log2)
  const uint32_t ones = pack2<T>(1.0f, 1.0f);
  const bool warp_active = q0 + warp * 16 < len;  // a warp whose rows all lie past the length only copies

  int stage = 0;
  for (int tile = 0; tile < tiles; ++tile) {
    cp_async_wait<kStages - 2>();
    __syncthreads();  // tile landed for every thread; every warp is done with tile - 1's stage
    load_kv(tile + kStages - 1, stage == 0 ? kStages - 1 : stage - 1);
    if (warp_active) {
      const T* s_kv = smem + stage * 2 * kTile;
      float score[kKeyTile / 8][4];
#pragma unroll
      for (int i = 0; i < kKeyTile / 8; ++i) score[i][0] = score[i][1] = score[i][2] = score[i][3] = 0.0f;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
        for (int nb = 0; nb < kKeyTile / 16; ++nb) {
          uint32_t k_frag[4];
          ldmatrix_x4(k_frag, s_kv + k_offset[kk] + nb * 16 * D);
          mma_16816<T>(score[2 * nb], q_frag[kk], k_frag[0], k_frag[1]);
          mma_16816<T>(score[2 * nb + 1], q_frag[kk], k_frag[2], k_frag[3]);
        }
      }

      // Element e of n-tile nt is row lane/4 + 8·(e/2), key k0 + 8·nt + 2·(lane%4) + e%2. Zero-filled
      // keys past the length exist only in the last tile.
      const int k0 = tile * kKeyTile;
      if (k0 + kKeyTile > len) {
#pragma unroll
        for (int nt = 0; nt < kKeyTile / 8; ++nt) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            if (k0 + nt * 8 + 2 * (lane & 3) + (e & 1) >= len) score[nt][e] = -INFINITY;
          }
        }
      }
      float tile_max[2];
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        tile_max[r] = fmaxf(score[0][2 * r], score[0][2 * r + 1]);
#pragma unroll
        for (int nt = 1; nt < kKeyTile / 8; ++nt) {
          tile_max[r] = fmaxf(tile_max[r], fmaxf(score[nt][2 * r], score[nt][2 * r + 1]));
        }
        tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
        tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
        tile_max[r] *= scale_log2;  // −inf where a row's keys in this tile are all masked
      }
      const bool grows = tile_max[0] > row_max[0] + kMaxSlack || tile_max[1] > row_max[1] + kMaxSlack;
      if (__any_sync(0xffffffffu, grows)) {
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          const float new_max = fmaxf(row_max[r], tile_max[r]);
          // 0 on a row's first valid tile; 1 while the row has seen no valid key (−inf − −inf is NaN)
          const float correction = new_max == -INFINITY ? 1.0f : exp2_ftz(row_max[r] - new_max);
          row_max[r] = new_max;
          row_sum[2 * r] *= correction;
          row_sum[2 * r + 1] *= correction;
#pragma unroll
          for (int i = 0; i < D / 8; ++i) {
            out[i][2 * r] *= correction;
            out[i][2 * r + 1] *= correction;
          }
        }
      }
      // p = 2^(score·scale_log2 - max): one FFMA and one MUFU.EX2 per score. A row with no valid key
      // yet subtracts 0, so its masked scores give p = 0, not 2^(−inf + inf) = NaN.
      const float shift[2] = {row_max[0] == -INFINITY ? 0.0f : row_max[0], row_max[1] == -INFINITY ? 0.0f : row_max[1]};
#pragma unroll
      for (int nt = 0; nt < kKeyTile / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) score[nt][e] = exp2_ftz(fmaf(score[nt][e], scale_log2, -shift[e >> 1]));
      }

#pragma unroll
      for (int kk = 0; kk < kKeyTile / 16; ++kk) {
        const uint32_t p_frag[4] = {pack2<T>(score[2 * kk][0], score[2 * kk][1]),
                                    pack2<T>(score[2 * kk][2], score[2 * kk][3]),
                                    pack2<T>(score[2 * kk + 1][0], score[2 * kk + 1][1]),
                                    pack2<T>(score[2 * kk + 1][2], score[2 * kk + 1][3])};
#pragma unroll
        for (int db = 0; db < D / 16; ++db) {
          uint32_t v_frag[4];
          ldmatrix_x4_trans(v_frag, s_kv + v_offset[db] + kk * 16 * D);
          mma_16816<T>(out[2 * db], p_frag, v_frag[0], v_frag[1]);
          mma_16816<T>(out[2 * db + 1], p_frag, v_frag[2], v_frag[3]);
        }
        mma_16816<T>(row_sum, p_frag, ones, ones);  // the rounded weights, as the PV MMAs see them
      }
    }
    stage = stage + 1 == kStages ? 0 : stage + 1;
  }
  if (!warp_active) return;

  // Normalize, add the v bias (fragment layout, as pairs), and stage the warp's 16 rows in the k
  // half of the stage of tile tiles - 2 (or q's): no copy is pending there and every warp has
  // passed the barrier of tile tiles - 1, so none reads it any more.
  T* s_out = smem + (stage + kStages - 2) % kStages * 2 * kTile;
  const T* v_bias = bias + 2 * hidden + h * D + 2 * (lane & 3);
  // A row with no valid key at all (row_sum 0) gets no weighted values, only the v bias.
  const float inverse[2] = {row_sum[0] > 0.0f ? 1.0f / row_sum[0] : 0.0f, row_sum[2] > 0.0f ? 1.0f / row_sum[2] : 0.0f};
#pragma unroll
  for (int i = 0; i < D / 8; ++i) {
    const uint32_t raw = *reinterpret_cast<const uint32_t*>(v_bias + i * 8);
    const T* pair = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int row = warp * 16 + (lane >> 2) + 8 * r;
      *reinterpret_cast<uint32_t*>(s_out + swizzle<D>(row, i) + 2 * (lane & 3)) =
          pack2<T>(out[i][2 * r] * inverse[r] + to_float(pair[0]), out[i][2 * r + 1] * inverse[r] + to_float(pair[1]));
    }
  }
  __syncwarp();
#pragma unroll
  for (int i = 0; i < 16 * kChunks / 32; ++i) {
    const int row = warp * 16 + (i * 32 + lane) / kChunks, chunk = lane % kChunks;
    if (q0 + row < len) {
      *reinterpret_cast<uint4*>(ctx + static_cast<size_t>(start + q0 + row) * hidden + h * D + chunk * 8) =
          *reinterpret_cast<const uint4*>(s_out + swizzle<D>(row, chunk));
    }
  }
}

template <typename T, int D>
void launch_fused_mha(const void* qkv, const void* bias, void* ctx, const int* seq_offsets, int batch, int seq,
                      int heads, cudaStream_t stream) {
  constexpr size_t smem = mha_smem_bytes<D>();
  static const cudaError_t configured =
      cudaFuncSetAttribute(fused_mha_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  check(configured, "configuring fused_mha shared memory");
  const dim3 grid((seq + kQueryTile - 1) / kQueryTile, heads, batch);
  const float scale_log2 = 1.4426950408889634f / std::sqrt(static_cast<float>(D));
  fused_mha_kernel<T, D><<<grid, kMhaThreads, smem, stream>>>(static_cast<const T*>(qkv), static_cast<const T*>(bias),
                                                              static_cast<T*>(ctx), seq_offsets, heads, scale_log2);
}

}  // namespace

bool fused_attention_supported(DType dtype, int head_size) {
  return dtype != DType::F32 && (head_size == 64 || head_size == 128);
}

void fused_attention(DType dtype, const void* qkv, const void* qkv_bias, void* ctx, const int* seq_offsets,
                     int batch, int seq, int heads, int head_size, cudaStream_t stream) {
  if (!fused_attention_supported(dtype, head_size)) {
    throw EngineError("fused_mha needs fp16/bf16 and head_size 64 or 128");
  }
  const auto run = [&](auto zero) {
    using T = decltype(zero);
    if (head_size == 64) {
      launch_fused_mha<T, 64>(qkv, qkv_bias, ctx, seq_offsets, batch, seq, heads, stream);
    } else {
      launch_fused_mha<T, 128>(qkv, qkv_bias, ctx, seq_offsets, batch, seq, heads, stream);
    }
  };
  if (dtype == DType::F16) {
    run(__half{});
  } else {
    run(__nv_bfloat16{});
  }
  check_launch("fused_mha");
}

}  // namespace ftb::cuda
