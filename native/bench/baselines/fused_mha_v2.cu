// The fused encoder attention kernel as of commit f6f3f70 (version 2: a block of 4 warps x 16 query
// rows, 64-key tiles double-buffered with cp.async, padded shared tiles, two barriers per tile),
// frozen here as the timing baseline of native/bench/attention_bench.cu. Not part of the addon; only
// the namespace (v2), these comments, the PTX wrappers taken from kernels/mma_sm80.cuh and the inlined shape check differ from that commit's fused_mha
// in attention.cu.
#include <cmath>
#include <type_traits>

#include "fused_mha_v2.h"
#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/mma_sm80.cuh"

namespace ftb::cuda::v2 {

using namespace mma;
namespace {

// ---- fused multi-head attention (flash-attention style, mma.sync m16n8k16, fp32 accumulation) ----


constexpr int kQueryTile = 64;  // 4 warps x 16 query rows
constexpr int kKeyTile = 64;
constexpr int kMhaThreads = 128;

template <int D>
constexpr int smem_stride() { return D + 8; }  // +16 bytes per row: conflict-free ldmatrix

template <int D>
constexpr size_t mha_smem_bytes() { return (kQueryTile + 4 * kKeyTile) * smem_stride<D>() * 2; }  // q, 2 × (k, v)

// One block per (64 queries, head, sequence); k/v tiles are double-buffered (the next tile's copy is in
// flight while the current one is used). The bias of k is skipped: it adds q·b_k to every score
// of a query row, which softmax cancels exactly. The bias of v is added once to the output: the
// softmax weights of a row sum to one. Only q needs its bias, added while staging the q tile.
// Head size 64 fits 128 registers without spills: 4 blocks (16 warps) per SM.
template <typename T, int D>
__global__ void __launch_bounds__(kMhaThreads, D <= 64 ? 4 : 2)
    fused_mha_kernel(const T* qkv, const T* bias, T* ctx, const int* seq_offsets, int heads, float scale_log2) {
  constexpr int LD = smem_stride<D>();
  constexpr int N = kVec<T>;
  constexpr int kChunks = D / N;
  extern __shared__ __align__(16) unsigned char smem[];
  T* s_q = reinterpret_cast<T*>(smem);
  T* s_kv = s_q + kQueryTile * LD;  // stage i: k at s_kv + 2i·tile, v right after it

  const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * kQueryTile;
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

  // Queues the copies of key tile `tile` (k and v) into stage tile % 2 as one cp.async group.
  const auto load_kv = [&](int tile) {
    T* s_k = s_kv + (tile & 1) * 2 * kKeyTile * LD;
    T* s_v = s_k + kKeyTile * LD;
    const int k0 = tile * kKeyTile;
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

  for (int c = tid; c < kQueryTile * kChunks; c += kMhaThreads) {
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

  uint32_t q_frag[D / 16][4];
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    ldmatrix_x4(q_frag[kk], s_q + (warp * 16 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8);
  }

  float out[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i) out[i][0] = out[i][1] = out[i][2] = out[i][3] = 0.0f;
  float row_max[2] = {-INFINITY, -INFINITY};
  float row_sum[2] = {0.0f, 0.0f};  // this thread's share; reduced over the 4 lanes of a row at the end

  for (int tile = 0; tile < tiles; ++tile) {
    const int k0 = tile * kKeyTile;
    if (tile + 1 < tiles) {
      load_kv(tile + 1);
      cp_async_wait<1>();  // this tile's group has landed; the next one may still be in flight
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const T* s_k = s_kv + (tile & 1) * 2 * kKeyTile * LD;
    const T* s_v = s_k + kKeyTile * LD;

    float score[kKeyTile / 8][4];
#pragma unroll
    for (int i = 0; i < kKeyTile / 8; ++i) score[i][0] = score[i][1] = score[i][2] = score[i][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
      for (int nb = 0; nb < kKeyTile / 16; ++nb) {
        uint32_t k_frag[4];
        ldmatrix_x4(k_frag, s_k + (nb * 16 + (lane & 7) + (lane >> 4) * 8) * LD + kk * 16 + ((lane >> 3) & 1) * 8);
        mma_16816<T>(score[2 * nb], q_frag[kk], k_frag[0], k_frag[1]);
        mma_16816<T>(score[2 * nb + 1], q_frag[kk], k_frag[2], k_frag[3]);
      }
    }

    // Online softmax in the exp2 domain; element e of n-tile nt is row (lane/4 + 8·(e/2)),
    // key k0 + 8·nt + 2·(lane%4) + e%2.
    float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < kKeyTile / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = k0 + nt * 8 + 2 * (lane & 3) + (e & 1);
        const float value = key < len ? score[nt][e] * scale_log2 : -INFINITY;
        score[nt][e] = value;
        tile_max[e >> 1] = fmaxf(tile_max[e >> 1], value);
      }
    }
    float correction[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
      const float new_max = fmaxf(row_max[r], tile_max[r]);  // finite: every tile has a valid key
      correction[r] = exp2f(row_max[r] - new_max);
      row_max[r] = new_max;
      row_sum[r] *= correction[r];
    }
#pragma unroll
    for (int nt = 0; nt < kKeyTile / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float p = exp2f(score[nt][e] - row_max[e >> 1]);
        score[nt][e] = p;
        row_sum[e >> 1] += p;
      }
    }
#pragma unroll
    for (int i = 0; i < D / 8; ++i) {
      out[i][0] *= correction[0];
      out[i][1] *= correction[0];
      out[i][2] *= correction[1];
      out[i][3] *= correction[1];
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
        ldmatrix_x4_trans(v_frag, s_v + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + db * 16 + (lane >> 4) * 8);
        mma_16816<T>(out[2 * db], p_frag, v_frag[0], v_frag[1]);
        mma_16816<T>(out[2 * db + 1], p_frag, v_frag[2], v_frag[3]);
      }
    }
    __syncthreads();  // the next iteration's copy overwrites this stage
  }

  float inverse[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 1);
    row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 2);
    inverse[r] = 1.0f / row_sum[r];
  }
  const T* v_bias = bias + 2 * hidden + h * D;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int q = q0 + warp * 16 + (lane >> 2) + 8 * r;
    if (q >= len) continue;
    T* row = ctx + static_cast<size_t>(start + q) * hidden + h * D;
#pragma unroll
    for (int i = 0; i < D / 8; ++i) {
      const int col = i * 8 + 2 * (lane & 3);
      const uint32_t pair = pack2<T>(out[i][2 * r] * inverse[r] + to_float(v_bias[col]),
                                     out[i][2 * r + 1] * inverse[r] + to_float(v_bias[col + 1]));
      *reinterpret_cast<uint32_t*>(row + col) = pair;
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

void fused_attention(DType dtype, const void* qkv, const void* qkv_bias, void* ctx, const int* seq_offsets,
                     int batch, int seq, int heads, int head_size, cudaStream_t stream) {
  if (dtype == DType::F32 || (head_size != 64 && head_size != 128)) {
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

}  // namespace ftb::cuda::v2
