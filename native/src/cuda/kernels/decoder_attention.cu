// The fused variant's attention of one decoder step (decoder_attention.h; the unfused variant's kernels
// are in decoder_attention_unfused.cu): the block-per-(row, head) kernels for small batch, and the
// choice between them and the warp-per-(row, head) kernels of decoder_attention_wide.cu, which take
// over when rows·heads is large (use_wide_attention below), or, for cross-attention with beams, the
// block-per-(sentence, head) kernel of decoder_cross_attention_sentence.cu (cross_attention_path). The kernels here are latency-bound at small
// batch (a few hundred keys per (row, head) at most), so they are built to keep many loads in flight:
// each thread's 16-byte K loads of a key are issued together (those of its first key, and its cache
// indirection, before the barrier that waits for q), the cache indirection of every key is
// resolved once (in the score pass) and kept in shared memory, and each thread's p·V loads for
// kValueKeys keys are issued together, the first batch before the softmax sum's barriers. Long
// sequences split their keys over up to kMaxSplits blocks (FasterTransformer's multi-block masked
// multi-head attention): each block leaves its max, Σp and Σp·v, and the last block to finish a
// (row, head) merges them. Both are launched as programmatic dependents (launch.cuh): a thread's
// first key is loaded while the GEMM before them finishes.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "cuda/check.h"
#include "cuda/kernels/decoder_attention.h"
#include "cuda/kernels/decoder_attention_internal.cuh"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/launch.cuh"

namespace ftb::cuda {
namespace {

constexpr unsigned int kAttnThreads = 128;
// 16-byte K vectors a thread keeps in flight per key: a whole key at head size 64 (fp16/bf16) or 32 (fp32).
constexpr int kKeyVecs = 8;
// Keys whose 16-byte V vectors a thread keeps in flight in p·V.
constexpr int kValueKeys = 8;
// Keys a block takes before a split pays: up to one key per thread, the score pass is one round of
// loads; past it a block would loop, so the keys go to more blocks instead.
constexpr int kSplitKeys = static_cast<int>(kAttnThreads);
constexpr int kMaxSplits = 16;

// The keys [begin, end) of split z when n keys go to at most max_splits blocks of >= kSplitKeys keys.
struct Split {
  int count, begin, end;
  __device__ Split(int n, int max_splits, int z) {
    count = min(max_splits, (n + kSplitKeys - 1) / kSplitKeys);
    const int len = (n + count - 1) / count;
    begin = min(n, z * len);
    end = min(n, begin + len);
  }
};

// Shared memory of a block: q [D], acc [D], scores [keys], sources [keys], reduce [threads·x].
struct AttendShared {
  float* q;  // fp32, already scaled by 1/√D
  float* acc;
  float* scores;
  int* sources;
  float* reduce;
  __device__ AttendShared(float* smem, int head_size, int keys)
      : q(smem),
        acc(q + head_size),
        scores(acc + head_size),
        sources(reinterpret_cast<int*>(scores + keys)),
        reduce(reinterpret_cast<float*>(sources + keys)) {}
};

template <typename T>
size_t attend_smem_bytes(int head_size, int keys) {
  return (2 * head_size + 2 * keys + kAttnThreads * kVec<T>) * sizeof(float);
}

// Keys one block may take: all of them unsplit, else max(kSplitKeys, ceil(max_keys / max_splits)).
int block_keys(int max_keys, int max_splits) {
  return std::min(max_keys, std::max(kSplitKeys, (max_keys + max_splits - 1) / max_splits));
}

// Softmax over the keys [begin, end) of q·kᵀ: sh.acc = Σ p·v with p = exp(score - max) unnormalised;
// returns (max, Σ p) to every thread. Scores: one thread per key; p·v: thread (group, chunk) sums the
// 16-byte column chunk of keys group, group + groups, ...; groups reduced through shared memory.
struct Softmax {
  float max, sum;
};

// A thread's first key (begin + threadIdx.x): its source and first kKeyVecs K vectors, loaded before
// the block's barrier on q (they need nothing from it), unless this block writes that key (source -1).
struct FirstKey {
  int source = -1;
  uint4 raw[kKeyVecs];
};
template <typename T, typename Keys>
__device__ FirstKey load_first_key(const Keys& keys, int begin, int end, int head_size) {
  FirstKey first;
  const int s = begin + threadIdx.x;
  if (s >= end || !keys.stored(s)) return first;
  first.source = keys.source(s);
#pragma unroll
  for (int u = 0; u < kKeyVecs; ++u) {
    if (u < head_size / kVec<T>) first.raw[u] = *reinterpret_cast<const uint4*>(keys.key(first.source, s, u));
  }
  return first;
}

template <typename T, typename Keys>
__device__ Softmax attend(const Keys& keys, int begin, int end, int head_size, const AttendShared& sh,
                          const FirstKey& first, float* scratch) {
  constexpr int X = kVec<T>;
  const int chunks = head_size / X;
  float local_max = -INFINITY;
  for (int s = begin + threadIdx.x; s < end; s += blockDim.x) {
    const bool loaded = s == begin + static_cast<int>(threadIdx.x) && first.source >= 0;
    const int source = loaded ? first.source : keys.source(s);
    float dot = 0.0f;
    for (int c0 = 0; c0 < chunks; c0 += kKeyVecs) {
      uint4 raw[kKeyVecs];
#pragma unroll
      for (int u = 0; u < kKeyVecs; ++u) {
        if (c0 + u < chunks) {
          raw[u] = loaded && c0 == 0 ? first.raw[u] : *reinterpret_cast<const uint4*>(keys.key(source, s, c0 + u));
        }
      }
#pragma unroll
      for (int u = 0; u < kKeyVecs; ++u) {
        if (c0 + u < chunks) {
          float k[X];
          widen_vec<T>(raw[u], k);
#pragma unroll
          for (int j = 0; j < X; ++j) dot += sh.q[(c0 + u) * X + j] * k[j];
        }
      }
    }
    sh.scores[s - begin] = dot;
    sh.sources[s - begin] = source;
    local_max = fmaxf(local_max, dot);
  }
  const float row_max = block_max(local_max, scratch);  // its barriers also publish scores and sources
  float sum = 0.0f;
  for (int s = begin + threadIdx.x; s < end; s += blockDim.x) {
    sum += sh.scores[s - begin] = expf(sh.scores[s - begin] - row_max);
  }

  const int groups = blockDim.x / chunks, group = threadIdx.x / chunks, chunk = threadIdx.x % chunks;
  const int stride = groups * kValueKeys;
  uint4 raw[kValueKeys];
  const auto load_values = [&](int base) {
#pragma unroll
    for (int u = 0; u < kValueKeys; ++u) {
      const int s = base + u * groups;
      if (s < end) raw[u] = *reinterpret_cast<const uint4*>(keys.value(sh.sources[s - begin], s) + chunk * X);
    }
  };
  // The first batch only needs the sources: its loads overlap the sum's barriers.
  if (group < groups) load_values(begin + group);
  sum = block_sum(sum, scratch);  // its barriers also publish the p values
  float acc[X] = {};
  if (group < groups) {
    for (int base = begin + group; base < end; base += stride) {
      if (base != begin + group) load_values(base);
#pragma unroll
      for (int u = 0; u < kValueKeys; ++u) {
        const int s = base + u * groups;
        if (s < end) {
          float v[X];
          widen_vec<T>(raw[u], v);
          const float p = sh.scores[s - begin];
#pragma unroll
          for (int j = 0; j < X; ++j) acc[j] += p * v[j];
        }
      }
    }
#pragma unroll
    for (int j = 0; j < X; ++j) sh.reduce[group * head_size + chunk * X + j] = acc[j];
  }
  __syncthreads();
  for (int d = threadIdx.x; d < head_size; d += blockDim.x) {
    float total = 0.0f;
    for (int g = 0; g < groups; ++g) total += sh.reduce[g * head_size + d];
    sh.acc[d] = total;
  }
  __syncthreads();
  return {row_max, sum};
}

// out[D] = acc / Σp for an unsplit (row, head); a split one leaves its partial in the workspace and
// the last of its blocks to arrive merges them: out = Σ_z e^(m_z - m)·acc_z / Σ_z e^(m_z - m)·Σp_z.
template <typename T>
__device__ void finish(const Softmax& softmax, const AttendShared& sh, const Split& split, int head_size,
                       const AttentionSplits& splits, T* out) {
  if (split.count == 1) {
    const float inv = 1.0f / softmax.sum;
    for (int d = threadIdx.x; d < head_size; d += blockDim.x) out[d] = from_float<T>(sh.acc[d] * inv);
    return;
  }
  __shared__ bool last;
  const size_t pair = static_cast<size_t>(blockIdx.x) * gridDim.y + blockIdx.y;
  const int stride = head_size + 2;
  float* parts = splits.partials + pair * splits.max_splits * stride;
  float* mine = parts + static_cast<size_t>(blockIdx.z) * stride;
  for (int d = threadIdx.x; d < head_size; d += blockDim.x) mine[2 + d] = sh.acc[d];
  if (threadIdx.x == 0) {
    mine[0] = softmax.max;
    mine[1] = softmax.sum;
  }
  __threadfence();  // the partial is visible device-wide before the counter says so
  __syncthreads();
  if (threadIdx.x == 0) last = atomicAdd(splits.counters + pair, 1u) == static_cast<unsigned int>(split.count - 1);
  __syncthreads();
  if (!last) return;
  __threadfence();
  float row_max = -INFINITY;
  for (int z = 0; z < split.count; ++z) row_max = fmaxf(row_max, __ldcg(parts + z * stride));
  float total = 0.0f;
  for (int z = 0; z < split.count; ++z) total += __ldcg(parts + z * stride + 1) * expf(__ldcg(parts + z * stride) - row_max);
  const float inv = 1.0f / total;
  for (int d = threadIdx.x; d < head_size; d += blockDim.x) {
    float value = 0.0f;
    for (int z = 0; z < split.count; ++z) {
      value += __ldcg(parts + z * stride + 2 + d) * expf(__ldcg(parts + z * stride) - row_max);
    }
    out[d] = from_float<T>(value * inv);
  }
  if (threadIdx.x == 0) splits.counters[pair] = 0;  // ready for the next launch
}

template <typename T>
__global__ void __launch_bounds__(kAttnThreads)
    masked_self_attention_kernel(const T* qkv, const T* bias, T* k_cache, T* v_cache, const int* indir,
                                 const int* step, T* ctx, int beam, int heads, int head_size, int cache_len,
                                 int keys_per_block, AttentionSplits splits) {
  extern __shared__ float smem[];
  __shared__ float scratch[32];
  constexpr int X = kVec<T>;
  const int row = blockIdx.x, head = blockIdx.y, t = *step;
  const Split split(t + 1, splits.max_splits, blockIdx.z);
  if (static_cast<int>(blockIdx.z) >= split.count) return;  // the grid is sized for the longest sequence
  const int hidden = heads * head_size, chunks = head_size / X;
  const AttendShared sh(smem, head_size, keys_per_block);
  const int* table = indir != nullptr ? indir + static_cast<size_t>(t & 1) * gridDim.x * cache_len : nullptr;
  const CacheKeys<T> keys{k_cache, v_cache, table, row, row - row % beam, head, heads, head_size, cache_len, t};
  const float scale = rsqrtf(static_cast<float>(head_size));
  const T* in = qkv + static_cast<size_t>(row) * 3 * hidden + head * head_size;
  const T* b = bias + head * head_size;
  const FirstKey first = load_first_key<T>(keys, split.begin, split.end, head_size);
  wait_for_previous_kernel();  // the QKV GEMM's output; what was read above is from earlier steps
  // The block holding key t writes the new k/v into the cache (16-byte vectors) before reading it back.
  const bool writes = split.end == t + 1;
  const size_t slot = static_cast<size_t>(row) * heads + head;
  for (int c = threadIdx.x; c < chunks; c += blockDim.x) {
    float q[X], bq[X];
    load_vec(in + c * X, q);
    load_vec(b + c * X, bq);
#pragma unroll
    for (int j = 0; j < X; ++j) sh.q[c * X + j] = (q[j] + bq[j]) * scale;
    if (writes) {
      float k[X], bk[X], v[X], bv[X];
      load_vec(in + hidden + c * X, k);
      load_vec(b + hidden + c * X, bk);
      load_vec(in + 2 * hidden + c * X, v);
      load_vec(b + 2 * hidden + c * X, bv);
#pragma unroll
      for (int j = 0; j < X; ++j) {
        k[j] += bk[j];
        v[j] += bv[j];
      }
      store_vec(k_cache + ((slot * chunks + c) * cache_len + t) * X, k);
      store_vec(v_cache + (slot * cache_len + t) * head_size + c * X, v);
    }
  }
  __syncthreads();  // the new k/v (global) and q (shared) are visible to the whole block
  const Softmax softmax = attend<T>(keys, split.begin, split.end, head_size, sh, first, scratch);
  finish(softmax, sh, split, head_size, splits, ctx + static_cast<size_t>(row) * hidden + head * head_size);
}

template <typename T>
__global__ void __launch_bounds__(kAttnThreads)
    cross_attention_kernel(const T* q_in, const T* q_bias, const T* memory_kv, const int* memory_lengths, T* ctx,
                           int beam, int heads, int head_size, int mem_len, int keys_per_block,
                           AttentionSplits splits) {
  extern __shared__ float smem[];
  __shared__ float scratch[32];
  constexpr int X = kVec<T>;
  const int row = blockIdx.x, head = blockIdx.y, sentence = row / beam;
  const Split split(memory_length(memory_lengths, sentence, mem_len), splits.max_splits, blockIdx.z);
  if (static_cast<int>(blockIdx.z) >= split.count) return;
  const int hidden = heads * head_size;
  const AttendShared sh(smem, head_size, keys_per_block);
  const float scale = rsqrtf(static_cast<float>(head_size));
  const MemoryKeys<T> keys{memory_kv, sentence, head, heads, head_size, mem_len};
  const FirstKey first = load_first_key<T>(keys, split.begin, split.end, head_size);
  wait_for_previous_kernel();  // the cross-q GEMM's output; the memory K/V and lengths are the run's
  const T* in = q_in + static_cast<size_t>(row) * hidden + head * head_size;
  for (int c = threadIdx.x; c < head_size / X; c += blockDim.x) {
    float q[X], bq[X];
    load_vec(in + c * X, q);
    load_vec(q_bias + head * head_size + c * X, bq);
#pragma unroll
    for (int j = 0; j < X; ++j) sh.q[c * X + j] = (q[j] + bq[j]) * scale;
  }
  __syncthreads();
  const Softmax softmax = attend<T>(keys, split.begin, split.end, head_size, sh, first, scratch);
  finish(softmax, sh, split, head_size, splits, ctx + static_cast<size_t>(row) * hidden + head * head_size);
}

}  // namespace

// The block-per-(row, head) kernels hold 4 blocks per SM (self 125 registers, cross 96, sm_90): past
// that many (row, head) pairs per SM their grid runs in waves of blocks, each a chain of dependent
// loads and barriers, and the K/V reads stay far below the memory bandwidth (b128 beam 4: 4096 blocks,
// ≈ 8 waves, ≈ 1.5 TB/s). The wide kernels run a (row, head) per warp, 32 warps per SM, so such grids fit
// in about one wave; below it they would leave most of the GPU idle while each warp walks its keys
// alone, slower than a block of four warps. FTBENCH_WIDE_ATTENTION=0 keeps the block kernels, =1 takes
// the wide ones wherever they apply (A/B, and the bench's timing of both); the result is the same.
constexpr int kNarrowBlocksPerSm = 4;

bool use_wide_attention(DType dtype, int rows, int heads, int head_size, int max_keys) {
  if (!wide_attention_supported(dtype, head_size, max_keys)) return false;
  const char* setting = std::getenv("FTBENCH_WIDE_ATTENTION");
  if (setting != nullptr && std::strcmp(setting, "0") == 0) return false;
  if (setting != nullptr && std::strcmp(setting, "1") == 0) return true;
  int device = 0, sms = 0;
  check(cudaGetDevice(&device), "querying the device");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "querying the device");
  return static_cast<long long>(rows) * heads > static_cast<long long>(kNarrowBlocksPerSm) * sms;
}

int attention_max_splits(int rows, int heads, int max_keys, int sms) {
  const int pairs = rows * heads;
  const int by_keys = (max_keys + kSplitKeys - 1) / kSplitKeys;
  const int by_gpu = (2 * sms + pairs - 1) / pairs;  // blocks enough for two per SM, no more
  return std::clamp(std::min(by_keys, by_gpu), 1, kMaxSplits);
}

size_t attention_splits_bytes(int rows, int heads, int head_size, int max_splits) {
  const size_t pairs = static_cast<size_t>(rows) * heads;
  return pairs * sizeof(unsigned int) + pairs * max_splits * (head_size + 2) * sizeof(float);
}

AttentionSplits attention_splits(void* workspace, int rows, int heads, int max_splits) {
  if (max_splits == 1) return {};
  auto* counters = static_cast<unsigned int*>(workspace);
  return {max_splits, reinterpret_cast<float*>(counters + static_cast<size_t>(rows) * heads), counters};
}

void masked_self_attention(DType dtype, const void* qkv, const void* qkv_bias, void* k_cache, void* v_cache,
                           const int* cache_indir, const int* step, void* ctx, int rows, int beam, int heads,
                           int head_size, int cache_len, const AttentionSplits& splits, cudaStream_t stream) {
  if (use_wide_attention(dtype, rows, heads, head_size, cache_len)) {
    wide_masked_self_attention(dtype, qkv, qkv_bias, k_cache, v_cache, cache_indir, step, ctx, rows, beam, heads,
                               head_size, cache_len, stream);
    return;
  }
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const int keys = block_keys(cache_len, splits.max_splits);
    launch_dependent("masked_multihead_attention", masked_self_attention_kernel<T>,
                     dim3(rows, heads, splits.max_splits), kAttnThreads, attend_smem_bytes<T>(head_size, keys), stream,
                     static_cast<const T*>(qkv), static_cast<const T*>(qkv_bias), static_cast<T*>(k_cache),
                     static_cast<T*>(v_cache), cache_indir, step, static_cast<T*>(ctx), beam, heads, head_size,
                     cache_len, keys, splits);
  });
}

// Cross-attention's path: the block kernels below the wide regime (use_wide_attention); in it, the
// sentence kernel where a sentence has several beams (it reads the memory K/V once for all of them,
// from shared memory; the wide kernel reads it once per beam) and the tiles fit, else the wide kernel.
// FTBENCH_CROSS_ATTENTION=block|wide|sentence forces a path where the shape supports it (A/B), read
// once; it takes precedence over FTBENCH_WIDE_ATTENTION, which otherwise moves cross-attention with
// self-attention between the block kernels and the wide regime. The three compute the same fp32
// scores and softmax; only the order of the sums over keys differs between block and the other two.
CrossAttentionPath cross_attention_path(DType dtype, int rows, int beam, int heads, int head_size, int mem_len) {
  static const int forced = [] {
    const char* setting = std::getenv("FTBENCH_CROSS_ATTENTION");
    if (setting == nullptr || *setting == '\0') return -1;
    const char* names[] = {"block", "wide", "sentence"};
    for (int path = 0; path < 3; ++path) {
      if (std::strcmp(setting, names[path]) == 0) return path;
    }
    throw EngineError("FTBENCH_CROSS_ATTENTION must be block, wide or sentence");
  }();
  const bool wide = wide_attention_supported(dtype, head_size, mem_len);
  const bool sentence = sentence_attention_supported(dtype, head_size, mem_len, beam);
  if (forced == static_cast<int>(CrossAttentionPath::Block)) return CrossAttentionPath::Block;
  if (forced == static_cast<int>(CrossAttentionPath::Wide) && wide) return CrossAttentionPath::Wide;
  if (forced == static_cast<int>(CrossAttentionPath::Sentence) && sentence) return CrossAttentionPath::Sentence;
  if (!use_wide_attention(dtype, rows, heads, head_size, mem_len)) return CrossAttentionPath::Block;
  return beam > 1 && sentence ? CrossAttentionPath::Sentence : CrossAttentionPath::Wide;
}

void cross_attention_on(CrossAttentionPath path, DType dtype, const void* q, const void* q_bias,
                        const void* memory_kv, const int* memory_lengths, void* ctx, int rows, int beam, int heads,
                        int head_size, int mem_len, const AttentionSplits& splits, cudaStream_t stream) {
  if (path == CrossAttentionPath::Sentence) {
    sentence_cross_attention(dtype, q, q_bias, memory_kv, memory_lengths, ctx, rows / beam, beam, heads, head_size,
                             mem_len, stream);
    return;
  }
  if (path == CrossAttentionPath::Wide) {
    wide_cross_attention(dtype, q, q_bias, memory_kv, memory_lengths, ctx, rows, beam, heads, head_size, mem_len,
                         stream);
    return;
  }
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const int keys = block_keys(mem_len, splits.max_splits);
    launch_dependent("cross_attention", cross_attention_kernel<T>, dim3(rows, heads, splits.max_splits),
                     kAttnThreads, attend_smem_bytes<T>(head_size, keys), stream, static_cast<const T*>(q),
                     static_cast<const T*>(q_bias), static_cast<const T*>(memory_kv), memory_lengths,
                     static_cast<T*>(ctx), beam, heads, head_size, mem_len, keys, splits);
  });
}

void cross_attention(DType dtype, const void* q, const void* q_bias, const void* memory_kv, const int* memory_lengths,
                     void* ctx, int rows, int beam, int heads, int head_size, int mem_len,
                     const AttentionSplits& splits, cudaStream_t stream) {
  cross_attention_on(cross_attention_path(dtype, rows, beam, heads, head_size, mem_len), dtype, q, q_bias, memory_kv,
                     memory_lengths, ctx, rows, beam, heads, head_size, mem_len, splits, stream);
}

void prepare_cross_attention() { prepare_sentence_cross_attention(); }

}  // namespace ftb::cuda
