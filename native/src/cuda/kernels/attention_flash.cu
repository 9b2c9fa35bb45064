// The fused encoder's attention for head size 64 (BERT), FlashAttention-2's work split on mma.sync
// (issue 21). The 16-rows-per-warp kernel in attention.cu (kept for head 128) feeds each k/v
// fragment it reads from shared memory to one 16-row m-tile; here every warp owns two m-tiles
// (32 query rows) and each fragment feeds both. Registers stay under 168 (3 blocks, 12 warps per
// SM, where the 128-row v3 attempt of NOTES.md fell to 8 warps at 255 registers) because the two
// warps of a row group split every 64-key tile: each takes 32 keys, keeps its own online-softmax
// state (running max, sum, output) and the pair merges once at the end through shared memory.
// Per score a thread spends one FFMA (scale and max folded), one MUFU ex2, one FMNMX, one FADD
// and half a pack: the key mask runs only in a warp's last, partial tile, and the output is
// rescaled only when a row's max grows by more than 2^8 (the stale max is exact math: the same
// max appears in the numerator and the sum, and p ≤ 2^8 is far inside fp16/bf16's range).
// Layout and variable-length packing are the old kernel's: one block per (64 query rows, head,
// sequence), no work past a sequence's length, q bias added while staging q, k bias dropped
// (softmax cancels it), v bias added to the output (the weights of a row sum to one).
#include <cmath>

#include "cuda/check.h"
#include "cuda/kernels/attention_flash.h"
#include "cuda/kernels/attention_tiles.cuh"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/mma_sm80.cuh"

namespace ftb::cuda {
namespace {

constexpr int kD = 64;
constexpr int kRows = 64;   // query rows per block: 2 row groups x 2 m-tiles x 16
constexpr int kKeys = 64;   // keys per k/v tile
constexpr int kHalf = 32;   // keys of a tile one warp takes
constexpr int kThreads = 128;
constexpr int kLd = kD + 8;  // 144-byte rows: the 8 rows an ldmatrix reads fall in distinct banks
constexpr float kRescaleSlack = 8.0f;  // log2 units: a stale max may leave p up to 2^8
constexpr float kNoMax = -1e30f;       // finite start: exp2(kNoMax - x) is 0, never NaN
constexpr int kExchange = 72;          // floats a lane hands its partner: 64 outputs, 4 maxima, 4 sums
// Blocks per SM the register budget is cut for: 3 caps registers at 168 (12 warps per SM, a 12-byte
// spill on sm_90); 2 leaves the uncapped 194 registers (8 warps). A bench build can pass
// -DFTB_FLASH_BLOCKS_PER_SM=2 to time the other side of that trade; the addon builds 3.
#ifndef FTB_FLASH_BLOCKS_PER_SM
#define FTB_FLASH_BLOCKS_PER_SM 3
#endif
constexpr size_t kSmemBytes = (kRows + 4 * kKeys) * kLd * 2;  // q, then 2 stages x (k, v)
static_assert(2 * kExchange * 32 * 4 <= 4 * kKeys * kLd * 2, "the merge reuses the k/v stages");

// One warp's online-softmax state over its key half: rows lane/4 and lane/4 + 8 of m-tiles 0, 1.
struct WarpState {
  float o[2][8][4];  // P·V accumulators, m16n8 layout, 8 n-tiles of head dims
  float m[2][2];     // running max of the scaled scores (log2 units)
  float l[2][2];     // this lane's share of the running sum
};

// Queues key tile `tile` (k and v, rows past len zero-filled) into stage tile % 2.
template <typename T>
__device__ __forceinline__ void load_kv_tile(T* s_kv, const T* k_base, const T* v_base, int ld, int tile, int len,
                                             int tid) {
  T* s_k = s_kv + (tile & 1) * 2 * kKeys * kLd;
  copy_kv_tile<T, kD, kKeys, kThreads, kLd>(s_k, s_k + kKeys * kLd, k_base, v_base, ld, tile * kKeys, len, tid);
}

// Raw scores q·kᵀ of the warp's 32 rows and 32 keys: each k fragment feeds both m-tiles.
template <typename T>
__device__ __forceinline__ void tile_scores(float (&s)[2][4][4], const uint32_t (&qf)[2][4][4], const T* s_k,
                                            int lane) {
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int nt = 0; nt < 4; ++nt) s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.0f;
#pragma unroll
  for (int kk = 0; kk < kD / 16; ++kk) {
#pragma unroll
    for (int nb = 0; nb < 2; ++nb) {
      uint32_t kf[4];
      ldmatrix_x4(kf, s_k + (nb * 16 + (lane & 7) + (lane >> 4) * 8) * kLd + kk * 16 + ((lane >> 3) & 1) * 8);
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        mma_16816<T>(s[mt][2 * nb], qf[mt][kk], kf[0], kf[1]);
        mma_16816<T>(s[mt][2 * nb + 1], qf[mt][kk], kf[2], kf[3]);
      }
    }
  }
}

// Brings the running max up to the tile's where it grew past the slack, rescaling sum and output.
__device__ __forceinline__ void raise_max(WarpState& st, const float (&tile_max)[2][2]) {
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float new_max = fmaxf(st.m[mt][r], tile_max[mt][r]);
      const float correction = fast_exp2(st.m[mt][r] - new_max);
      st.m[mt][r] = new_max;
      st.l[mt][r] *= correction;
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        st.o[mt][i][2 * r] *= correction;
        st.o[mt][i][2 * r + 1] *= correction;
      }
    }
  }
}

// Scores -> unnormalised probabilities p = 2^(s·scale_log2 − m), in place. Element e of n-tile nt
// is row lane/4 + 8·(e/2), key key0 + 8·nt + 2·(lane%4) + e%2. Every row has a valid key here.
template <bool kMask>
__device__ __forceinline__ void softmax_tile(float (&s)[2][4][4], WarpState& st, int key0, int len, float scale_log2,
                                             int lane) {
  float tile_max[2][2];
  bool grows = false;
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
    tile_max[mt][0] = tile_max[mt][1] = -INFINITY;
#pragma unroll
    for (int nt = 0; nt < 4; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        if constexpr (kMask) {
          if (key0 + nt * 8 + 2 * (lane & 3) + (e & 1) >= len) s[mt][nt][e] = -INFINITY;
        }
        tile_max[mt][e >> 1] = fmaxf(tile_max[mt][e >> 1], s[mt][nt][e]);
      }
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      tile_max[mt][r] = fmaxf(tile_max[mt][r], __shfl_xor_sync(0xffffffffu, tile_max[mt][r], 1));
      tile_max[mt][r] = fmaxf(tile_max[mt][r], __shfl_xor_sync(0xffffffffu, tile_max[mt][r], 2));
      tile_max[mt][r] *= scale_log2;
      grows |= tile_max[mt][r] > st.m[mt][r] + kRescaleSlack;
    }
  }
  if (__any_sync(0xffffffffu, grows)) raise_max(st, tile_max);
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int nt = 0; nt < 4; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float p = fast_exp2(fmaf(s[mt][nt][e], scale_log2, -st.m[mt][e >> 1]));
        s[mt][nt][e] = p;
        st.l[mt][e >> 1] += p;
      }
    }
  }
}

// o += P·V over the warp's 32 keys; P stays in registers as the A operand, each v fragment feeds
// both m-tiles.
template <typename T>
__device__ __forceinline__ void accumulate_pv(float (&o)[2][8][4], const float (&p)[2][4][4], const T* s_v, int lane) {
#pragma unroll
  for (int kk = 0; kk < 2; ++kk) {
    uint32_t pf[2][4];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt) {
      pf[mt][0] = pack2<T>(p[mt][2 * kk][0], p[mt][2 * kk][1]);
      pf[mt][1] = pack2<T>(p[mt][2 * kk][2], p[mt][2 * kk][3]);
      pf[mt][2] = pack2<T>(p[mt][2 * kk + 1][0], p[mt][2 * kk + 1][1]);
      pf[mt][3] = pack2<T>(p[mt][2 * kk + 1][2], p[mt][2 * kk + 1][3]);
    }
#pragma unroll
    for (int db = 0; db < kD / 16; ++db) {
      uint32_t vf[4];
      ldmatrix_x4_trans(vf, s_v + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * kLd + db * 16 + (lane >> 4) * 8);
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        mma_16816<T>(o[mt][2 * db], pf[mt], vf[0], vf[1]);
        mma_16816<T>(o[mt][2 * db + 1], pf[mt], vf[2], vf[3]);
      }
    }
  }
}

// Sums each row's share over the 4 lanes that hold it.
__device__ __forceinline__ void reduce_sums(WarpState& st) {
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      st.l[mt][r] += __shfl_xor_sync(0xffffffffu, st.l[mt][r], 1);
      st.l[mt][r] += __shfl_xor_sync(0xffffffffu, st.l[mt][r], 2);
    }
  }
}

// The second key half's state, value j of lane at exchange[j·32 + lane]: its partner lane (same
// rows and columns in the first half's warp) reads it back without bank conflicts.
__device__ __forceinline__ void hand_over(float* exchange, const WarpState& st, int lane) {
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int i = 0; i < 8; ++i) {
#pragma unroll
      for (int e = 0; e < 4; ++e) exchange[((mt * 8 + i) * 4 + e) * 32 + lane] = st.o[mt][i][e];
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      exchange[(64 + mt * 2 + r) * 32 + lane] = st.m[mt][r];
      exchange[(68 + mt * 2 + r) * 32 + lane] = st.l[mt][r];
    }
  }
}

// Merges the partner's state into this warp's, normalises, adds the v bias and writes the warp's
// 32 rows (as T) into the block's output tile in shared memory.
template <typename T>
__device__ __forceinline__ void merge_rows(T* s_out, const float* exchange, const WarpState& st, const T* v_bias,
                                           int lane) {
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float other_max = exchange[(64 + mt * 2 + r) * 32 + lane];
      const float other_sum = exchange[(68 + mt * 2 + r) * 32 + lane];
      const float max = fmaxf(st.m[mt][r], other_max);
      const float mine = fast_exp2(st.m[mt][r] - max), theirs = fast_exp2(other_max - max);
      const float inverse = 1.0f / (st.l[mt][r] * mine + other_sum * theirs);
      const float w_mine = mine * inverse, w_theirs = theirs * inverse;
      T* row = s_out + (mt * 16 + (lane >> 2) + 8 * r) * kLd;
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        const int col = i * 8 + 2 * (lane & 3);
        float value[2];
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const float other = exchange[((mt * 8 + i) * 4 + 2 * r + e) * 32 + lane];
          value[e] = st.o[mt][i][2 * r + e] * w_mine + other * w_theirs + to_float(v_bias[col + e]);
        }
        *reinterpret_cast<uint32_t*>(row + col) = pack2<T>(value[0], value[1]);
      }
    }
  }
}

// The block's output tile from shared memory to ctx with 16-byte stores, rows past len skipped.
template <typename T>
__device__ __forceinline__ void store_rows(T* ctx_rows, const T* s_out, int hidden, int rows, int tid) {
  for_each_chunk<T, kD, kRows, kThreads>(tid, [&](int r, int col) {
    if (r < rows) {
      *reinterpret_cast<uint4*>(ctx_rows + static_cast<size_t>(r) * hidden + col) =
          *reinterpret_cast<const uint4*>(s_out + r * kLd + col);
    }
  });
}

// One block per (64 query rows, head, sequence). Warp w: row group w % 2 (32 rows), key half w / 2.
template <typename T>
__global__ void __launch_bounds__(kThreads, FTB_FLASH_BLOCKS_PER_SM)
    flash_mha_kernel(const T* qkv, const T* bias, T* ctx, const int* seq_offsets, int heads, float scale_log2) {
  extern __shared__ __align__(16) unsigned char smem[];
  T* s_q = reinterpret_cast<T*>(smem);  // later the output tile
  T* s_kv = s_q + kRows * kLd;          // stage i: k at s_kv + 2i·tile, v right after it
  const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * kRows;
  const int start = seq_offsets[b];
  const int len = seq_offsets[b + 1] - start;
  if (q0 >= len) return;
  const int hidden = heads * kD, ld = 3 * hidden;
  const T* q_base = qkv + static_cast<size_t>(start) * ld + h * kD;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int group = warp & 1, half = warp >> 1;
  const bool rows_active = q0 + group * 32 < len;  // a group wholly past the length skips the math
  const int tiles = (len + kKeys - 1) / kKeys;

  load_kv_tile<T>(s_kv, q_base + hidden, q_base + 2 * hidden, ld, 0, len, tid);
  stage_q_tile<T, kD, kRows, kThreads, kLd>(s_q, q_base, bias + h * kD, ld, q0, len, tid);
  __syncthreads();
  uint32_t qf[2][4][4];
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      ldmatrix_x4(qf[mt][kk], s_q + (group * 32 + mt * 16 + (lane & 15)) * kLd + kk * 16 + (lane >> 4) * 8);
    }
  }
  WarpState st;
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int i = 0; i < 8; ++i) st.o[mt][i][0] = st.o[mt][i][1] = st.o[mt][i][2] = st.o[mt][i][3] = 0.0f;
    st.m[mt][0] = st.m[mt][1] = kNoMax;
    st.l[mt][0] = st.l[mt][1] = 0.0f;
  }

  for (int tile = 0; tile < tiles; ++tile) {
    if (tile + 1 < tiles) {
      load_kv_tile<T>(s_kv, q_base + hidden, q_base + 2 * hidden, ld, tile + 1, len, tid);
      cp_async_wait<1>();  // this tile's group has landed; the next one may still be in flight
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const T* s_k = s_kv + (tile & 1) * 2 * kKeys * kLd + half * kHalf * kLd;
    const T* s_v = s_k + kKeys * kLd;
    const int key0 = tile * kKeys + half * kHalf;
    if (rows_active && key0 < len) {
      float s[2][4][4];
      tile_scores<T>(s, qf, s_k, lane);
      if (key0 + kHalf <= len) {
        softmax_tile<false>(s, st, key0, len, scale_log2, lane);
      } else {
        softmax_tile<true>(s, st, key0, len, scale_log2, lane);
      }
      accumulate_pv<T>(st.o, s, s_v, lane);
    }
    __syncthreads();  // the next iteration's copy overwrites this stage
  }

  // No copy is in flight now: the k/v stages hold the exchange, the q tile the output.
  float* exchange = reinterpret_cast<float*>(s_kv) + group * kExchange * 32;
  reduce_sums(st);
  if (rows_active && half == 1) hand_over(exchange, st, lane);
  __syncthreads();
  if (rows_active && half == 0) merge_rows<T>(s_q + group * 32 * kLd, exchange, st, bias + 2 * hidden + h * kD, lane);
  __syncthreads();
  store_rows<T>(ctx + static_cast<size_t>(start + q0) * hidden + h * kD, s_q, hidden, min(kRows, len - q0), tid);
}

template <typename T>
void launch(const void* qkv, const void* bias, void* ctx, const int* seq_offsets, int batch, int seq, int heads,
            cudaStream_t stream) {
  static const cudaError_t configured = cudaFuncSetAttribute(
      flash_mha_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kSmemBytes));
  check(configured, "configuring flash_mha shared memory");
  const dim3 grid((seq + kRows - 1) / kRows, heads, batch);
  const float scale_log2 = 1.4426950408889634f / std::sqrt(static_cast<float>(kD));
  flash_mha_kernel<T><<<grid, kThreads, kSmemBytes, stream>>>(static_cast<const T*>(qkv), static_cast<const T*>(bias),
                                                              static_cast<T*>(ctx), seq_offsets, heads, scale_log2);
}

}  // namespace

bool flash_attention_supported(DType dtype, int head_size) {
  return (dtype == DType::F16 || dtype == DType::BF16) && head_size == kD;
}

void flash_attention(DType dtype, const void* qkv, const void* qkv_bias, void* ctx, const int* seq_offsets,
                     int batch, int seq, int heads, cudaStream_t stream) {
  if (dtype == DType::F16) {
    launch<__half>(qkv, qkv_bias, ctx, seq_offsets, batch, seq, heads, stream);
  } else {
    launch<__nv_bfloat16>(qkv, qkv_bias, ctx, seq_offsets, batch, seq, heads, stream);
  }
  check_launch("flash_mha");
}

}  // namespace ftb::cuda
