// Attention of one decoder step (native/MODEL.md, "Decoder"), rows = batch·beam, h = heads·D.
//
// Fused (FasterTransformer's masked multi-head attention): one kernel per attention, one block per
// (row, head), or, for long sequences at small batch, up to AttentionSplits::max_splits blocks per
// (row, head) over consecutive key ranges, merged by the last to finish (FasterTransformer's
// multi-block mode); at large batch (rows·heads past 4 blocks per SM, fp16/bf16, head size 64 or
// 128) one warp per (row, head) instead (decoder_attention_wide.cu). Self-attention caches, per layer (FasterTransformer's layout, x = 16 bytes of T):
//   K [rows, heads, D/x, cache_len, x]   V [rows, heads, cache_len, D]
// Cross-attention reads the memory K/V of the row's sentence, [batch, mem_len, 2h] (k | v), shared
// by the beams instead of replicated.
//
// Unfused: the cache is [rows, heads, cache_len, D] for K and V alike, so that q·Kᵀ and p·V are
// strided-batched GEMMs; the kernels here write it, softmax the scores and reorder it by beam.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "cuda/dtype.h"

namespace ftb::cuda {

// Multi-block workspace of the fused kernels. A (row, head) of n keys runs min(max_splits, ⌈n / 128⌉)
// blocks (n is known only on the device: the step counter, the memory lengths); each leaves its
// softmax max, Σp and unnormalised Σp·v in `partials` and counts itself in `counters`. max_splits 1
// needs no workspace.
struct AttentionSplits {
  int max_splits = 1;
  float* partials = nullptr;         // [rows·heads, max_splits, 2 + D]
  unsigned int* counters = nullptr;  // [rows·heads], zero between launches (the merging block resets it)
};

// Blocks per (row, head) worth launching for up to max_keys keys on `sms` multiprocessors: splits
// only while rows·heads blocks leave SMs idle and each split keeps >= 128 keys; at most 16.
int attention_max_splits(int rows, int heads, int max_keys, int sms);
// Workspace bytes for max_splits (counters first, then partials); zero it once before the first launch.
size_t attention_splits_bytes(int rows, int heads, int head_size, int max_splits);
// The workspace carved for a kernel launched with max_splits (<= the one it was sized for).
AttentionSplits attention_splits(void* workspace, int rows, int heads, int max_splits);

// ctx[r] = softmax(q·K[0..t]ᵀ/√D)·V[0..t] at t = *step, where q, k, v = qkv[r] + qkv_bias (qkv
// [rows, 3h], the QKV GEMM's output without bias) and k, v are first written to the caches at t.
// With `cache_indir` (two [rows, cache_len] tables, the one of step t at t % 2: for s < t, the beam of
// the row's sentence whose cache holds position s), beams read their ancestors' entries, not copies.
void masked_self_attention(DType dtype, const void* qkv, const void* qkv_bias, void* k_cache, void* v_cache,
                           const int* cache_indir, const int* step, void* ctx, int rows, int beam, int heads,
                           int head_size, int cache_len, const AttentionSplits& splits, cudaStream_t stream);

// ctx[r] = softmax((q[r] + q_bias)·Kᵀ/√D)·V over the first memory_lengths[r / beam] entries (clamped
// to [1, mem_len]) of the sentence's memory_kv [batch, mem_len, 2h]. At large batch with beams, one block
// per (sentence, head) reads the sentence's memory once for all its beams (decoder_attention.cu).
void cross_attention(DType dtype, const void* q, const void* q_bias, const void* memory_kv, const int* memory_lengths,
                     void* ctx, int rows, int beam, int heads, int head_size, int mem_len,
                     const AttentionSplits& splits, cudaStream_t stream);

// What cross_attention's kernels need before their first launch (a shared-memory opt-in), done once
// per process; call it outside graph capture. cross_attention does it too, so skipping it is safe.
void prepare_cross_attention();

// Unfused: k and v ([rows, h]) into the caches at position t.
void write_kv_cache(DType dtype, const void* k, const void* v, void* k_cache, void* v_cache, int t, int rows,
                    int heads, int head_size, int cache_len, cudaStream_t stream);

// Unfused: softmax of scores [rows·heads, n] after multiplying by `scale`; only the first `valid`
// entries (or memory_lengths[r / beam] when given) are kept, the others become 0.
void masked_softmax(DType dtype, void* scores, int rows, int heads, int beam, int n, float scale, int valid,
                    const int* memory_lengths, cudaStream_t stream);

// Unfused beam reorder: dst[p, r, :, 0..t] = src[p, r - r % beam + parents[r], :, 0..t] for the
// `planes` caches (K and V of every layer) of [rows, heads, cache_len, D].
void reorder_cache(DType dtype, const void* src, void* dst, const int* parents, int planes, int rows, int beam,
                   int heads, int head_size, int cache_len, int t, cudaStream_t stream);

}  // namespace ftb::cuda
