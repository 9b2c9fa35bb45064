// The fused decoder attention for many (row, head) pairs (decoder_attention.h; decoder_attention.cu
// picks these kernels when rows·heads is large): one warp per (row, head), kWideWarps of them a block,
// at most 64 registers a thread so that 32 warps stay resident per SM. At b128 beam 4 (4096 pairs) the
// whole grid then fits in about one wave, with every warp keeping several 16-byte loads per lane in
// flight, where the block-per-(row, head) kernels ran ≈ 8 waves of barrier-separated latency chains.
// No block barriers: the max and the sum are warp shuffles, each warp's q, scores and key sources sit
// in its own slice of shared memory, ordered by __syncwarp. What is computed is the block kernels':
// fp32 scores q·k/√D (q scaled first), softmax with the max subtracted, p·v summed in fp32 and divided
// by Σp at the end; only the order of the fp32 sums over keys differs.
#include "cuda/check.h"
#include "cuda/kernels/decoder_attention_internal.cuh"
#include "cuda/kernels/decoder_attention_warp.cuh"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/launch.cuh"

namespace ftb::cuda {
namespace {

constexpr int kWideWarps = 4;  // (row, head) pairs a block
constexpr unsigned int kWideThreads = kWideWarps * 32;
// 8 blocks of 128 threads per SM caps registers at 64 a thread: 32 resident warps.
constexpr int kWideBlocksPerSm = 8;
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
  const int hidden = heads * D, n = memory_length(memory_lengths, pair.sentence, mem_len);
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
  dispatch_warp_attention(dtype, head_size, [&](auto zero, auto d) {
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
  dispatch_warp_attention(dtype, head_size, [&](auto zero, auto d) {
    using T = decltype(zero);
    launch_dependent("cross_attention_wide", wide_cross_attention_kernel<T, decltype(d)::value>,
                     wide_blocks(rows, heads), kWideThreads, wide_smem_bytes(head_size, mem_len, false), stream,
                     static_cast<const T*>(q), static_cast<const T*>(q_bias), static_cast<const T*>(memory_kv),
                     memory_lengths, static_cast<T*>(ctx), rows, beam, heads, mem_len);
  });
}

}  // namespace ftb::cuda
