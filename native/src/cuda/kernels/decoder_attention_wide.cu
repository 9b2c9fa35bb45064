// The fused decoder attention for many (row, head) pairs (decoder_attention.h; decoder_attention.cu
// picks these kernels when rows·heads is large): one warp per (row, head), kWideWarps of them a block,
// at most 64 registers a thread so that 32 warps stay resident per SM. At b128 beam 4 (4096 pairs) the
// whole grid then fits in about one wave, with every warp keeping several 16-byte loads per lane in
// flight, where the block-per-(row, head) kernels ran ≈ 8 waves of barrier-separated latency chains.
// No block barriers: the max and the sum are warp shuffles, each warp's q, scores and key sources sit
// in its own slice of shared memory, ordered by __syncwarp. What is computed is the block kernels':
// fp32 scores q·k/√D (q scaled first), softmax with the max subtracted, p·v summed in fp32 and divided
// by Σp at the end; only the order of the fp32 sums over keys differs.
#include <type_traits>

#include "cuda/check.h"
#include "cuda/kernels/decoder_attention_internal.cuh"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/launch.cuh"

namespace ftb::cuda {
namespace {

constexpr int kWideWarps = 4;  // (row, head) pairs a block
constexpr unsigned int kWideThreads = kWideWarps * 32;
// 8 blocks of 128 threads per SM caps registers at 64 a thread: 32 resident warps.
constexpr int kWideBlocksPerSm = 8;
// 16-byte K vectors of one key a lane issues together: a whole key at head size 64 (16-bit types).
constexpr int kKeyVecs = 8;
// Keys whose 16-byte V vectors a lane issues together in p·V: 8 in cross-attention, whose memory K/V
// mostly hit L2 (latency-bound: fewer rounds pay), 4 in self-attention, which reads the cache from DRAM
// (32 warps × 4 × 512 bytes in flight per SM cover its bandwidth) and must also hold each key's source:
// 8 spilled there under the 64-register cap.
template <typename Keys>
constexpr int kValueKeys = Keys::kIndirect ? 4 : 8;
// Shared memory a block may use without opting in: bounds the keys the wide kernels take.
constexpr size_t kMaxSmem = 48 * 1024;

// The (row, head) of this warp. Beams vary fastest, then heads: consecutive warps of a block take the
// beams of one sentence and head, which read the same memory K/V (cross) or mostly the same ancestors'
// cache entries (self), so they share those lines in L1.
struct WarpPair {
  int row, head, sentence;
  bool valid;
  __device__ WarpPair(int rows, int beam, int heads) {
    const int w = blockIdx.x * kWideWarps + threadIdx.x / 32;
    const int rest = w / beam;
    head = rest % heads;
    sentence = rest / heads;
    row = sentence * beam + w % beam;
    valid = row < rows;
  }
};

// A warp's slice of shared memory: q [D] (fp32, scaled by 1/√D), then per key its score (p after the
// softmax) and, for self-attention, its source slot. Keys are padded to 4 so every slice stays 16-byte
// aligned for q's float4 reads.
__host__ __device__ constexpr int padded_keys(int keys) { return (keys + 3) / 4 * 4; }
__host__ __device__ constexpr int warp_floats(int head_size, int keys, bool sources) {
  return head_size + (sources ? 2 : 1) * padded_keys(keys);
}

struct WarpShared {
  float* q;
  float* scores;
  int* sources;
  __device__ WarpShared(float4* smem, int head_size, int keys, bool with_sources) {
    q = reinterpret_cast<float*>(smem) + (threadIdx.x / 32) * warp_floats(head_size, keys, with_sources);
    scores = q + head_size;
    sources = reinterpret_cast<int*>(scores + padded_keys(keys));
  }
};

// q·k of one key at `source`, one lane per key: the key's D/X 16-byte vectors are issued kKeyVecs at
// a time (consecutive keys of a chunk are adjacent in FasterTransformer's K layout, so a warp's loads of
// one chunk are 512 contiguous bytes when the sources agree); q is read from shared memory (broadcast).
template <typename T, int D, typename Keys>
__device__ float key_dot(const Keys& keys, int source, int s, const float* q) {
  constexpr int X = kVec<T>, kChunks = D / X;
  float dot = 0.0f;
#pragma unroll
  for (int c0 = 0; c0 < kChunks; c0 += kKeyVecs) {
    uint4 raw[kKeyVecs];
#pragma unroll
    for (int u = 0; u < kKeyVecs; ++u) {
      if (c0 + u < kChunks) raw[u] = *reinterpret_cast<const uint4*>(keys.key(source, s, c0 + u));
    }
#pragma unroll
    for (int u = 0; u < kKeyVecs; ++u) {
      if (c0 + u < kChunks) {
        float k[X];
        widen_vec<T>(raw[u], k);
#pragma unroll
        for (int j = 0; j < X; j += 4) {
          const float4 q4 = *reinterpret_cast<const float4*>(q + (c0 + u) * X + j);
          dot += q4.x * k[j];  // one element at a time: the block kernels' order
          dot += q4.y * k[j + 1];
          dot += q4.z * k[j + 2];
          dot += q4.w * k[j + 3];
        }
      }
    }
  }
  return dot;
}

// out[D] = softmax(q·Kᵀ)·V over keys [0, n) for this warp's (row, head); q is in sh.q (and, for
// self-attention, every key's source in sh.sources), published by a __syncwarp. Scores: lane per key,
// p left in sh.scores. p·V: lane (group, chunk) sums the 16-byte column chunk of keys group,
// group + groups, ... (kValueKeys of them in flight), then the groups are summed by shuffles.
template <typename T, int D, typename Keys>
__device__ void warp_attend(const Keys& keys, int n, const WarpShared& sh, T* out) {
  constexpr int X = kVec<T>, kChunks = D / X, kGroups = 32 / kChunks;
  const int lane = threadIdx.x & 31;
  float local_max = -INFINITY;
  for (int s = lane; s < n; s += 32) {
    const float dot = key_dot<T, D>(keys, Keys::kIndirect ? sh.sources[s] : 0, s, sh.q);
    sh.scores[s] = dot;
    local_max = fmaxf(local_max, dot);
  }
  const float row_max = warp_max(local_max);
  float sum = 0.0f;
  for (int s = lane; s < n; s += 32) sum += sh.scores[s] = expf(sh.scores[s] - row_max);
  sum = warp_sum(sum);
  __syncwarp();  // every lane's p (and sources) visible to the whole warp

  const int group = lane / kChunks, chunk = lane % kChunks;
  float acc[X] = {};
  for (int base = group; base < n; base += kGroups * kValueKeys<Keys>) {
    uint4 raw[kValueKeys<Keys>];
#pragma unroll
    for (int u = 0; u < kValueKeys<Keys>; ++u) {
      const int s = base + u * kGroups;
      if (s < n) {
        const int source = Keys::kIndirect ? sh.sources[s] : 0;
        raw[u] = *reinterpret_cast<const uint4*>(keys.value(source, s) + chunk * X);
      }
    }
#pragma unroll
    for (int u = 0; u < kValueKeys<Keys>; ++u) {
      const int s = base + u * kGroups;
      if (s < n) {
        float v[X];
        widen_vec<T>(raw[u], v);
        const float p = sh.scores[s];
#pragma unroll
        for (int j = 0; j < X; ++j) acc[j] += p * v[j];
      }
    }
  }
#pragma unroll
  for (int offset = kChunks; offset < 32; offset <<= 1) {
#pragma unroll
    for (int j = 0; j < X; ++j) acc[j] += __shfl_xor_sync(0xffffffffu, acc[j], offset);
  }
  if (group == 0) {
    const float inv = 1.0f / sum;
#pragma unroll
    for (int j = 0; j < X; ++j) acc[j] *= inv;
    store_vec(out + chunk * X, acc);
  }
}

// sh.q = (in + bias)·scale, lane c taking the 16-byte chunk c.
template <typename T, int D>
__device__ void load_query(const T* in, const T* bias, float* q) {
  constexpr int X = kVec<T>;
  const int c = threadIdx.x & 31;
  if (c >= D / X) return;
  const float scale = rsqrtf(static_cast<float>(D));
  float x[X], b[X];
  load_vec(in + c * X, x);
  load_vec(bias + c * X, b);
#pragma unroll
  for (int j = 0; j < X; ++j) q[c * X + j] = (x[j] + b[j]) * scale;
}

// The step's q, k and v (qkv + bias): q, scaled by 1/√D, into shared memory, k and v rounded to T into
// the caches at t. Their 3·D/X 16-byte chunks are spread over the lanes (at head size 64, 16-bit: one
// each for 24 lanes), so each lane holds two 16-byte loads, not six.
template <typename T, int D>
__device__ void load_new_entry(const T* in, const T* bias, int hidden, T* k_cache, T* v_cache,
                               const CacheKeys<T>& keys, float* q) {
  constexpr int X = kVec<T>, kChunks = D / X;
  const float scale = rsqrtf(static_cast<float>(D));
  const int slot = keys.row * keys.heads + keys.head;
  for (int job = threadIdx.x & 31; job < 3 * kChunks; job += 32) {
    const int part = job / kChunks, c = job % kChunks;  // part 0: q, 1: k, 2: v
    float x[X], b[X];
    load_vec(in + part * hidden + c * X, x);
    load_vec(bias + part * hidden + c * X, b);
#pragma unroll
    for (int j = 0; j < X; ++j) x[j] += b[j];
    if (part == 0) {
#pragma unroll
      for (int j = 0; j < X; ++j) q[c * X + j] = x[j] * scale;
    } else if (part == 1) {
      store_vec(k_cache + (keys.key(slot, keys.t, c) - keys.k), x);  // where keys.key reads it back
    } else {
      store_vec(v_cache + (keys.value(slot, keys.t) - keys.v) + c * X, x);
    }
  }
}

// masked_self_attention, one warp per (row, head): resolves every key's source (indirection table)
// into shared memory, which needs nothing from the QKV GEMM, then waits for it; writes the new k/v at
// t (read back by the lane that scores key t, after the __syncwarp that orders the warp's global
// writes before its reads) and attends over t + 1 keys.
template <typename T, int D>
__global__ void __launch_bounds__(kWideThreads, kWideBlocksPerSm)
    wide_self_attention_kernel(const T* qkv, const T* bias, T* k_cache, T* v_cache, const int* indir,
                               const int* step, T* ctx, int rows, int beam, int heads, int cache_len) {
  extern __shared__ float4 wide_smem[];
  const WarpPair pair(rows, beam, heads);
  if (!pair.valid) return;  // no block barriers follow: a missing warp blocks nobody
  const int t = *step, hidden = heads * D;
  const WarpShared sh(wide_smem, D, cache_len, true);
  const int* table = indir != nullptr ? indir + static_cast<size_t>(t & 1) * rows * cache_len : nullptr;
  const CacheKeys<T> keys{k_cache, v_cache, table, pair.row, pair.row - pair.row % beam, pair.head, heads, D,
                          cache_len, t};
  // Unrolled so that a lane's table loads (4 keys at t 127) are issued together, not one round trip each.
#pragma unroll 4
  for (int s = threadIdx.x & 31; s <= t; s += 32) sh.sources[s] = keys.source(s);
  wait_for_previous_kernel();  // the QKV GEMM's output; the table and entries before t are from earlier steps
  const T* in = qkv + static_cast<size_t>(pair.row) * 3 * hidden + pair.head * D;
  const T* b = bias + pair.head * D;
  load_new_entry<T, D>(in, b, hidden, k_cache, v_cache, keys, sh.q);
  __syncwarp();  // q (shared) and the new k/v (global) visible to the whole warp
  warp_attend<T, D>(keys, t + 1, sh, ctx + static_cast<size_t>(pair.row) * hidden + pair.head * D);
}

// cross_attention, one warp per (row, head), over the sentence's memory_lengths[sentence] entries.
template <typename T, int D>
__global__ void __launch_bounds__(kWideThreads, kWideBlocksPerSm)
    wide_cross_attention_kernel(const T* q_in, const T* q_bias, const T* memory_kv, const int* memory_lengths,
                                T* ctx, int rows, int beam, int heads, int mem_len) {
  extern __shared__ float4 wide_smem[];
  const WarpPair pair(rows, beam, heads);
  if (!pair.valid) return;
  const int hidden = heads * D, n = memory_lengths[pair.sentence];
  const WarpShared sh(wide_smem, D, mem_len, false);
  const MemoryKeys<T> keys{memory_kv, pair.sentence, pair.head, heads, D, mem_len};
  wait_for_previous_kernel();  // the cross-q GEMM's output; the memory K/V and lengths are the run's
  load_query<T, D>(q_in + static_cast<size_t>(pair.row) * hidden + pair.head * D, q_bias + pair.head * D, sh.q);
  __syncwarp();
  warp_attend<T, D>(keys, n, sh, ctx + static_cast<size_t>(pair.row) * hidden + pair.head * D);
}

size_t wide_smem_bytes(int head_size, int keys, bool sources) {
  return static_cast<size_t>(kWideWarps) * warp_floats(head_size, keys, sources) * sizeof(float);
}

// Calls body(T{}, std::integral_constant<int, D>{}) for the types and head sizes the wide kernels are
// built for (wide_attention_supported).
template <typename Body>
void dispatch_wide(DType dtype, int head_size, Body&& body) {
  const auto sized = [&](auto zero) {
    if (head_size == 64) return body(zero, std::integral_constant<int, 64>{});
    if (head_size == 128) return body(zero, std::integral_constant<int, 128>{});
    throw EngineError("wide decoder attention: unsupported head size");
  };
  if (dtype == DType::F16) return sized(__half{});
  if (dtype == DType::BF16) return sized(__nv_bfloat16{});
  throw EngineError("wide decoder attention: unsupported type");
}

unsigned int wide_blocks(int rows, int heads) {
  return blocks_for(static_cast<size_t>(rows) * heads, kWideWarps);
}

}  // namespace

// fp16 and bf16 at head sizes 64 and 128 (D/X = 8 or 16 chunks of 16 bytes, dividing a warp), with the
// keys' scores and sources within the shared memory a block takes by default. fp32 stays on the block
// kernels: its self-attention spilled under the 64-register cap.
bool wide_attention_supported(DType dtype, int head_size, int max_keys) {
  return dtype != DType::F32 && (head_size == 64 || head_size == 128) &&
         wide_smem_bytes(head_size, max_keys, true) <= kMaxSmem;
}

void wide_masked_self_attention(DType dtype, const void* qkv, const void* qkv_bias, void* k_cache, void* v_cache,
                                const int* cache_indir, const int* step, void* ctx, int rows, int beam, int heads,
                                int head_size, int cache_len, cudaStream_t stream) {
  dispatch_wide(dtype, head_size, [&](auto zero, auto d) {
    using T = decltype(zero);
    launch_dependent("masked_multihead_attention_wide", wide_self_attention_kernel<T, decltype(d)::value>,
                     wide_blocks(rows, heads), kWideThreads, wide_smem_bytes(head_size, cache_len, true), stream,
                     static_cast<const T*>(qkv), static_cast<const T*>(qkv_bias), static_cast<T*>(k_cache),
                     static_cast<T*>(v_cache), cache_indir, step, static_cast<T*>(ctx), rows, beam, heads, cache_len);
  });
}

void wide_cross_attention(DType dtype, const void* q, const void* q_bias, const void* memory_kv,
                          const int* memory_lengths, void* ctx, int rows, int beam, int heads, int head_size,
                          int mem_len, cudaStream_t stream) {
  dispatch_wide(dtype, head_size, [&](auto zero, auto d) {
    using T = decltype(zero);
    launch_dependent("cross_attention_wide", wide_cross_attention_kernel<T, decltype(d)::value>,
                     wide_blocks(rows, heads), kWideThreads, wide_smem_bytes(head_size, mem_len, false), stream,
                     static_cast<const T*>(q), static_cast<const T*>(q_bias), static_cast<const T*>(memory_kv),
                     memory_lengths, static_cast<T*>(ctx), rows, beam, heads, mem_len);
  });
}

}  // namespace ftb::cuda
