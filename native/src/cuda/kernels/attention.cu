// The fused encoder's attention on packed tokens: FlashAttention-2-style fused_mha (mma.sync, S×S
// scores kept in registers) for fp16/bf16 with head size 64 or 128, and the fallback's qkv split.
#include <cmath>
#include <type_traits>

#include "cuda/check.h"
#include "cuda/kernels/attention.h"
#include "cuda/kernels/device_math.cuh"

namespace ftb::cuda {
namespace {

constexpr unsigned int kThreads = 256;

template <typename T>
__global__ void split_qkv_kernel(const T* qkv, const T* bias, T* q, T* k, T* v_out, const int* seq_offsets,
                                 int batch, int seq, int heads, int head_size) {
  constexpr int N = kVec<T>;
  const int dvecs = head_size / N;
  const size_t per_tensor = static_cast<size_t>(batch) * heads * seq * dvecs;
  const size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (v >= 3 * per_tensor) return;
  const int which = v / per_tensor;
  const size_t rest = v % per_tensor;
  const int dv = rest % dvecs;
  const int s = rest / dvecs % seq;
  const int h = rest / (static_cast<size_t>(dvecs) * seq) % heads;
  const int b = rest / (static_cast<size_t>(dvecs) * seq * heads);
  const int hidden = heads * head_size;
  const int column = which * hidden + h * head_size + dv * N;
  float values[N];
  if (s < seq_offsets[b + 1] - seq_offsets[b]) {
    float b_values[N];
    load_vec(qkv + (static_cast<size_t>(seq_offsets[b]) + s) * 3 * hidden + column, values);
    load_vec(bias + column, b_values);
#pragma unroll
    for (int i = 0; i < N; ++i) values[i] += b_values[i];
  } else {
#pragma unroll
    for (int i = 0; i < N; ++i) values[i] = 0.0f;
  }
  T* out = which == 0 ? q : which == 1 ? k : v_out;
  store_vec(out + rest * N, values);
}

// ---- fused multi-head attention (flash-attention style, mma.sync m16n8k16, fp32 accumulation) ----

__device__ __forceinline__ uint32_t shared_address(const void* pointer) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(pointer));
}

// 16-byte global -> shared copy; zero-fills the destination when !valid (rows past the length).
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_address(dst)), "l"(src),
               "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* pointer) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(pointer)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* pointer) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(pointer)));
}

// c += a·b for a 16x16 A fragment and a 16x8 B fragment.
template <typename T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same_v<T, __half>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

// Two fp32 values as one register of two 16-bit values (the lower column in the low half).
template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  if constexpr (std::is_same_v<T, __half>) {
    const __half2 pair = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&pair);
  } else {
    const __nv_bfloat162 pair = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&pair);
  }
}

// FlashAttention-2's work split: a block of 4 warps owns 64·kMTiles query rows of one (sequence, head)
// and walks the keys in tiles of 64 shared through shared memory; each warp owns kMTiles m-tiles of 16
// rows, so every k/v fragment read with ldmatrix feeds kMTiles MMAs (shared-memory bandwidth, not the
// tensor cores, capped the one-m-tile version at ~100 TFLOP/s). Head size 128 keeps one m-tile: two
// would need 2 × 64 accumulators plus 2 × 32 q registers and spill.
constexpr int kMhaWarps = 4;
constexpr int kMhaThreads = 32 * kMhaWarps;
constexpr int kKeyTile = 64;

template <int D, int kMTiles>
struct MhaTile {
  static constexpr int kWarpRows = 16 * kMTiles;
  static constexpr int kQueryRows = kMhaWarps * kWarpRows;
  static constexpr int kStride = D + 8;  // +16 bytes per row: conflict-free ldmatrix
  // q, then two stages of (k, v)
  static constexpr size_t kSmemBytes = (kQueryRows + 4 * kKeyTile) * kStride * 2;
};

// A warp's running state: its q fragments, output accumulators and per-row softmax statistics.
// Element e of an accumulator n-tile is row lane/4 + 8·(e/2) of the m-tile, column 2·(lane%4) + e%2.
template <int D, int kMTiles>
struct WarpRows {
  uint32_t q[kMTiles][D / 16][4];
  float out[kMTiles][D / 8][4];
  float row_max[kMTiles][2];  // raw-score maxima (unscaled)
  float row_sum[kMTiles][2];  // this lane's share; reduced over the 4 lanes of a row at the end
};

// One key tile for a warp: S = q·kᵀ, online softmax in the exp2 domain (scale·log2e folded into one
// FFMA per score), then out += P·v with P rounded into A fragments straight from the S accumulators
// (no shared-memory round trip). kMasked: keys at or past `valid_keys` (only the last tile) get -inf.
template <typename T, int D, int kMTiles, bool kMasked>
__device__ __forceinline__ void attend_key_tile(WarpRows<D, kMTiles>& w, const T* s_k, const T* s_v, int valid_keys,
                                                float scale_log2, int lane) {
  constexpr int LD = D + 8;
  float score[kMTiles][kKeyTile / 8][4];
#pragma unroll
  for (int m = 0; m < kMTiles; ++m) {
#pragma unroll
    for (int nt = 0; nt < kKeyTile / 8; ++nt) score[m][nt][0] = score[m][nt][1] = score[m][nt][2] = score[m][nt][3] = 0.0f;
  }
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
    for (int nb = 0; nb < kKeyTile / 16; ++nb) {
      uint32_t k_frag[4];
      ldmatrix_x4(k_frag, s_k + (nb * 16 + (lane & 7) + (lane >> 4) * 8) * LD + kk * 16 + ((lane >> 3) & 1) * 8);
#pragma unroll
      for (int m = 0; m < kMTiles; ++m) {
        mma_16816<T>(score[m][2 * nb], w.q[m][kk], k_frag[0], k_frag[1]);
        mma_16816<T>(score[m][2 * nb + 1], w.q[m][kk], k_frag[2], k_frag[3]);
      }
    }
  }

#pragma unroll
  for (int m = 0; m < kMTiles; ++m) {
    float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < kKeyTile / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        if constexpr (kMasked) {
          if (nt * 8 + 2 * (lane & 3) + (e & 1) >= valid_keys) score[m][nt][e] = -INFINITY;
        }
        tile_max[e >> 1] = fmaxf(tile_max[e >> 1], score[m][nt][e]);
      }
    }
    float correction[2], max_scaled[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
      const float new_max = fmaxf(w.row_max[m][r], tile_max[r]);  // finite: every tile has a valid key
      correction[r] = exp2f((w.row_max[m][r] - new_max) * scale_log2);  // 0 on the first tile
      w.row_max[m][r] = new_max;
      w.row_sum[m][r] *= correction[r];
      max_scaled[r] = new_max * scale_log2;
    }
#pragma unroll
    for (int nt = 0; nt < kKeyTile / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float p = exp2f(fmaf(score[m][nt][e], scale_log2, -max_scaled[e >> 1]));
        score[m][nt][e] = p;
        w.row_sum[m][e >> 1] += p;
      }
    }
#pragma unroll
    for (int i = 0; i < D / 8; ++i) {
      w.out[m][i][0] *= correction[0];
      w.out[m][i][1] *= correction[0];
      w.out[m][i][2] *= correction[1];
      w.out[m][i][3] *= correction[1];
    }
  }

#pragma unroll
  for (int kk = 0; kk < kKeyTile / 16; ++kk) {
    uint32_t p_frag[kMTiles][4];
#pragma unroll
    for (int m = 0; m < kMTiles; ++m) {
      p_frag[m][0] = pack2<T>(score[m][2 * kk][0], score[m][2 * kk][1]);
      p_frag[m][1] = pack2<T>(score[m][2 * kk][2], score[m][2 * kk][3]);
      p_frag[m][2] = pack2<T>(score[m][2 * kk + 1][0], score[m][2 * kk + 1][1]);
      p_frag[m][3] = pack2<T>(score[m][2 * kk + 1][2], score[m][2 * kk + 1][3]);
    }
#pragma unroll
    for (int db = 0; db < D / 16; ++db) {
      uint32_t v_frag[4];
      ldmatrix_x4_trans(v_frag, s_v + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + db * 16 + (lane >> 4) * 8);
#pragma unroll
      for (int m = 0; m < kMTiles; ++m) {
        mma_16816<T>(w.out[m][2 * db], p_frag[m], v_frag[0], v_frag[1]);
        mma_16816<T>(w.out[m][2 * db + 1], p_frag[m], v_frag[2], v_frag[3]);
      }
    }
  }
}

// One block per (query tile, head, sequence); tiles past a sequence's length exit at once, and warps
// whose rows all lie past it skip the math (they still copy and synchronise). k/v tiles are
// double-buffered with cp.async (the next tile's copy is in flight while the current one is used).
// The bias of k is skipped: it adds q·b_k to every score of a query row, which softmax cancels
// exactly. The bias of v is added once to the output: the softmax weights of a row sum to one. Only
// q needs its bias, added while staging the q tile.
template <typename T, int D, int kMTiles>
__global__ void __launch_bounds__(kMhaThreads, D <= 64 && kMTiles == 1 ? 4 : 2)
    fused_mha_kernel(const T* qkv, const T* bias, T* ctx, const int* seq_offsets, int heads, float scale_log2) {
  using Tile = MhaTile<D, kMTiles>;
  constexpr int LD = Tile::kStride;
  constexpr int N = kVec<T>;
  constexpr int kChunks = D / N;
  extern __shared__ __align__(16) unsigned char smem[];
  T* s_q = reinterpret_cast<T*>(smem);
  T* s_kv = s_q + Tile::kQueryRows * LD;  // stage i: k at s_kv + 2i·tile, v right after it

  const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * Tile::kQueryRows;
  const int start = seq_offsets[b];
  const int len = seq_offsets[b + 1] - start;
  if (q0 >= len) return;
  const int hidden = heads * D;
  const int ld = 3 * hidden;
  const T* q_base = qkv + static_cast<size_t>(start) * ld + h * D;
  const T* k_base = q_base + hidden;
  const T* v_base = q_base + 2 * hidden;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int tiles = (len + kKeyTile - 1) / kKeyTile;
  const int warp_row0 = warp * Tile::kWarpRows;  // within the query tile
  const bool warp_active = q0 + warp_row0 < len;

  // Queues the copies of key tile `tile` (k and v) into stage tile % 2 as one cp.async group.
  const auto load_kv = [&](int tile) {
    T* s_k = s_kv + (tile & 1) * 2 * kKeyTile * LD;
    T* s_v = s_k + kKeyTile * LD;
    const int k0 = tile * kKeyTile;
#pragma unroll
    for (int c = tid; c < kKeyTile * kChunks; c += kMhaThreads) {
      const int r = c / kChunks, col = c % kChunks * N;
      const bool valid = k0 + r < len;
      const size_t row = static_cast<size_t>(valid ? k0 + r : 0) * ld + col;
      cp_async_16(s_k + r * LD + col, k_base + row, valid);
      cp_async_16(s_v + r * LD + col, v_base + row, valid);
    }
    cp_async_commit();
  };
  load_kv(0);

#pragma unroll
  for (int c = tid; c < Tile::kQueryRows * kChunks; c += kMhaThreads) {
    const int r = c / kChunks, col = c % kChunks * N;
    float values[N];
    if (q0 + r < len) {
      float b_values[N];
      load_vec(q_base + static_cast<size_t>(q0 + r) * ld + col, values);
      load_vec(bias + h * D + col, b_values);
#pragma unroll
      for (int i = 0; i < N; ++i) values[i] += b_values[i];
    } else {
#pragma unroll
      for (int i = 0; i < N; ++i) values[i] = 0.0f;
    }
    store_vec(s_q + r * LD + col, values);
  }
  __syncthreads();

  WarpRows<D, kMTiles> w;
#pragma unroll
  for (int m = 0; m < kMTiles; ++m) {
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      ldmatrix_x4(w.q[m][kk], s_q + (warp_row0 + m * 16 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8);
    }
#pragma unroll
    for (int i = 0; i < D / 8; ++i) w.out[m][i][0] = w.out[m][i][1] = w.out[m][i][2] = w.out[m][i][3] = 0.0f;
    w.row_max[m][0] = w.row_max[m][1] = -INFINITY;
    w.row_sum[m][0] = w.row_sum[m][1] = 0.0f;
  }

  for (int tile = 0; tile < tiles; ++tile) {
    if (tile + 1 < tiles) {
      load_kv(tile + 1);
      cp_async_wait<1>();  // this tile's group has landed; the next one may still be in flight
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const T* s_k = s_kv + (tile & 1) * 2 * kKeyTile * LD;
    const T* s_v = s_k + kKeyTile * LD;
    const int valid_keys = len - tile * kKeyTile;
    if (warp_active) {
      if (valid_keys >= kKeyTile) {
        attend_key_tile<T, D, kMTiles, false>(w, s_k, s_v, valid_keys, scale_log2, lane);
      } else {
        attend_key_tile<T, D, kMTiles, true>(w, s_k, s_v, valid_keys, scale_log2, lane);
      }
    }
    __syncthreads();  // the next iteration's copy overwrites this stage
  }
  if (!warp_active) return;

  const T* v_bias = bias + 2 * hidden + h * D;
#pragma unroll
  for (int m = 0; m < kMTiles; ++m) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float sum = w.row_sum[m][r];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      const float inverse = 1.0f / sum;
      const int q = q0 + warp_row0 + m * 16 + (lane >> 2) + 8 * r;
      if (q >= len) continue;
      T* row = ctx + static_cast<size_t>(start + q) * hidden + h * D;
#pragma unroll
      for (int i = 0; i < D / 8; ++i) {
        const int col = i * 8 + 2 * (lane & 3);
        const uint32_t pair = pack2<T>(w.out[m][i][2 * r] * inverse + to_float(v_bias[col]),
                                       w.out[m][i][2 * r + 1] * inverse + to_float(v_bias[col + 1]));
        *reinterpret_cast<uint32_t*>(row + col) = pair;
      }
    }
  }
}

template <typename T, int D, int kMTiles>
void launch_fused_mha(const void* qkv, const void* bias, void* ctx, const int* seq_offsets, int batch, int seq,
                      int heads, cudaStream_t stream) {
  using Tile = MhaTile<D, kMTiles>;
  static const cudaError_t configured = cudaFuncSetAttribute(
      fused_mha_kernel<T, D, kMTiles>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(Tile::kSmemBytes));
  check(configured, "configuring fused_mha shared memory");
  const dim3 grid((seq + Tile::kQueryRows - 1) / Tile::kQueryRows, heads, batch);
  const float scale_log2 = 1.4426950408889634f / std::sqrt(static_cast<float>(D));
  fused_mha_kernel<T, D, kMTiles><<<grid, kMhaThreads, Tile::kSmemBytes, stream>>>(
      static_cast<const T*>(qkv), static_cast<const T*>(bias), static_cast<T*>(ctx), seq_offsets, heads, scale_log2);
}

// Two m-tiles per warp halve the shared-memory reads per MMA but double each block's work: when the
// 128-row blocks would not fill two per SM (b8 s128: 96 blocks on 132 SMs), 64-row blocks finish sooner.
bool fills_two_blocks_per_sm(int blocks) {
  int device = 0, sms = 0;
  check(cudaGetDevice(&device), "fused_mha: current device");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "fused_mha: SM count");
  return blocks >= 2 * sms;
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
    constexpr int kWideRows = MhaTile<64, 2>::kQueryRows;
    if (head_size == 64 && fills_two_blocks_per_sm(batch * heads * ((seq + kWideRows - 1) / kWideRows))) {
      launch_fused_mha<T, 64, 2>(qkv, qkv_bias, ctx, seq_offsets, batch, seq, heads, stream);
    } else if (head_size == 64) {
      launch_fused_mha<T, 64, 1>(qkv, qkv_bias, ctx, seq_offsets, batch, seq, heads, stream);
    } else {
      launch_fused_mha<T, 128, 1>(qkv, qkv_bias, ctx, seq_offsets, batch, seq, heads, stream);
    }
  };
  if (dtype == DType::F16) {
    run(__half{});
  } else {
    run(__nv_bfloat16{});
  }
  check_launch("fused_mha");
}

void split_qkv_with_bias(DType dtype, const void* qkv, const void* qkv_bias, void* q, void* k, void* v,
                         const int* seq_offsets, int batch, int seq, int heads, int head_size, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = 3 * static_cast<size_t>(batch) * heads * seq * head_size / kVec<T>;
    split_qkv_kernel<T><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(qkv), static_cast<const T*>(qkv_bias), static_cast<T*>(q), static_cast<T*>(k),
        static_cast<T*>(v), seq_offsets, batch, seq, heads, head_size);
  });
  check_launch("add_qkv_bias_split_heads");
}

}  // namespace ftb::cuda
