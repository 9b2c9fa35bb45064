// Cross-attention at large batch with one block per (sentence, head) (decoder_attention.h;
// decoder_attention.cu picks it by cross_attention_path). A sentence's beams all attend over the same
// memory K/V ([batch, mem_len, 2h]); the warp-per-(row, head) kernel (decoder_attention_wide.cu) has each
// beam's warp read it from global memory, key by key in dependent rounds, so at b128 beam 4 it moves the
// 33.5 MB of memory K/V at ≈ 1.3 TB/s (26.5 µs, NOTES.md version 6). Here the block copies the head's K and
// V slices of its sentence (memory_length keys × D each, 16 KB at mem 128, head size 64, fp16) into shared
// memory with cp.async, issued before the wait on the cross-q GEMM; its warps then attend the sentence's
// beam rows, a row at a time per warp. Two layouts (NOTES.md version 8): a K and a V tile, copied at once;
// or one tile, V copied into K's place after the score passes of every row (each row's p kept in its own
// slice), which at beam 4 halves a block's shared memory so that b128 × 8 heads (1 024 blocks) is resident
// at once, where with two tiles a second wave's copies start only as the first wave ends. The launcher
// takes one tile only where that trade pays: two tiles would need a second wave and one tile holds more
// blocks at once (it keeps every row's scores, so at beam 32 it holds fewer), or two tiles do not fit. The
// passes are the wide kernel's warp routine (decoder_attention_warp.cuh), so the result is the wide
// kernel's, bit for bit. fp16/bf16 at head sizes 64 and 128 only, as the wide kernel.
#include <algorithm>

#include "cuda/check.h"
#include "cuda/kernels/decoder_attention_internal.cuh"
#include "cuda/kernels/decoder_attention_warp.cuh"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/launch.cuh"
#include "cuda/kernels/mma_sm80.cuh"

namespace ftb::cuda {
namespace {

constexpr int kSentenceWarps = 4;  // warps a block; they share the copies and take the beam rows in turn
constexpr unsigned int kSentenceThreads = kSentenceWarps * 32;
// Shared memory a block may take (opted in once per kernel, sentence_kernel_smem below): two tiles of
// mem_len keys and a warp's q and scores each, or one tile and every beam row's q, scores and Σp.
constexpr size_t kMaxSentenceSmem = 96 * 1024;

// The head's K and V of one sentence in shared memory, [mem_len][D] each (or V later in K's place). In the
// score pass lane s reads key s's chunk c: unswizzled, the eight lanes of a 16-byte access phase would hit
// the same four banks (rows are 128 or 256 bytes apart). K's chunk c of key s is therefore stored at chunk
// c ^ (s & 7), which spreads those eight lanes over all 32 banks; V is read a key per 8 (or 16) lanes,
// whole rows, so it stays unswizzled. The keys accessor of warp_scores and warp_values
// (decoder_attention_warp.cuh).
template <typename T, int D>
struct TileKeys {
  static constexpr bool kIndirect = false;
  static constexpr int X = kVec<T>;
  const T* k;
  const T* v;

  __device__ static int slot(int s, int chunk) { return chunk ^ (s & 7); }
  __device__ const T* key(int, int s, int chunk) const { return k + s * D + slot(s, chunk) * X; }
  __device__ const T* value(int, int s) const { return v + s * D; }
};

// 2 bytes an element: fp16 and bf16 only.
size_t tile_bytes(int head_size, int mem_len) { return static_cast<size_t>(mem_len) * head_size * 2; }

// Two tiles and a WarpShared slice a warp; or one tile, a slice per beam row and the rows' Σp (padded
// to 16 bytes).
size_t sentence_smem_bytes(int head_size, int mem_len, int beam, bool one_tile) {
  const size_t per_slice = warp_floats(head_size, mem_len, false);
  const size_t floats = one_tile ? beam * per_slice + (beam + 3) / 4 * 4 : kSentenceWarps * per_slice;
  return (one_tile ? 1 : 2) * tile_bytes(head_size, mem_len) + floats * sizeof(float);
}

// Issues the cp.async copies of the head's K (values false: swizzled) or V slice of the sentence's n
// keys into `tile` (the caller commits them).
template <typename T, int D>
__device__ void copy_slice(T* tile, const T* entries, int n, int hidden, bool values) {
  constexpr int X = kVec<T>, kChunks = D / X;
  for (int job = threadIdx.x; job < n * kChunks; job += blockDim.x) {
    const int s = job / kChunks, c = job % kChunks;
    const T* entry = entries + static_cast<size_t>(s) * 2 * hidden + c * X;
    T* to = tile + s * D + (values ? c : TileKeys<T, D>::slot(s, c)) * X;
    mma::cp_async_16(to, values ? entry + hidden : entry, true);
  }
}

// Block (head, sentence): copies K, and V unless kOneTile, before waiting for the cross-q GEMM (the
// memory K/V and lengths are the run's); rows sentence·beam + w, + kSentenceWarps, ... go to warp w.
// Two tiles: each warp attends its rows one after another in its own slice (q, scores). One tile:
// every row's q and scores get a slice, the warps score all rows, V is copied over K, then they sum
// the rows' p·V.
template <typename T, int D, bool kOneTile>
__global__ void __launch_bounds__(kSentenceThreads)
    sentence_cross_attention_kernel(const T* q_in, const T* q_bias, const T* memory_kv, const int* memory_lengths,
                                    T* ctx, int beam, int heads, int mem_len) {
  static_assert(D / kVec<T> % 8 == 0, "the K swizzle permutes groups of eight 16-byte chunks");
  extern __shared__ float4 sentence_smem[];
  const int head = blockIdx.x, sentence = blockIdx.y, hidden = heads * D, warp = threadIdx.x / 32;
  const int n = memory_length(memory_lengths, sentence, mem_len);
  T* k_tile = reinterpret_cast<T*>(sentence_smem);
  T* v_tile = kOneTile ? k_tile : k_tile + mem_len * D;
  float4* slices = reinterpret_cast<float4*>(v_tile + mem_len * D);
  const T* entries = memory_kv + static_cast<size_t>(sentence) * mem_len * 2 * hidden + head * D;
  const auto row_offset = [&](int i) { return static_cast<size_t>(sentence * beam + i) * hidden + head * D; };
  const TileKeys<T, D> keys{k_tile, v_tile};
  copy_slice<T, D>(k_tile, entries, n, hidden, false);
  if (!kOneTile) copy_slice<T, D>(v_tile, entries, n, hidden, true);
  mma::cp_async_commit();
  wait_for_previous_kernel();  // the cross-q GEMM's output
  if constexpr (!kOneTile) {
    const WarpShared sh(slices, D, mem_len, false);
    mma::cp_async_wait<0>();
    __syncthreads();  // every thread's copies visible to the block
    for (int i = warp; i < beam; i += kSentenceWarps) {
      load_query<T, D>(q_in + row_offset(i), q_bias + head * D, sh.q);
      __syncwarp();
      warp_attend<T, D>(keys, n, sh, ctx + row_offset(i));
      __syncwarp();  // the next row's q and scores overwrite what the lanes have just read
    }
  } else {
    float* sums = reinterpret_cast<float*>(slices) + beam * warp_floats(D, mem_len, false);
    for (int i = warp; i < beam; i += kSentenceWarps) {
      load_query<T, D>(q_in + row_offset(i), q_bias + head * D, WarpShared(slices, i, D, mem_len, false).q);
    }
    mma::cp_async_wait<0>();
    __syncthreads();  // K and every row's q visible to the block
    for (int i = warp; i < beam; i += kSentenceWarps) {
      const float sum = warp_scores<T, D>(keys, n, WarpShared(slices, i, D, mem_len, false));
      if ((threadIdx.x & 31) == 0) sums[i] = sum;
    }
    __syncthreads();  // every score pass done with K
    copy_slice<T, D>(v_tile, entries, n, hidden, true);
    mma::cp_async_commit();
    mma::cp_async_wait<0>();
    __syncthreads();  // V and the Σp visible to the block
    for (int i = warp; i < beam; i += kSentenceWarps) {
      warp_values<T, D>(keys, n, WarpShared(slices, i, D, mem_len, false), sums[i], ctx + row_offset(i));
    }
  }
}

// Opts every instantiation into kMaxSentenceSmem once per process. cudaFuncSetAttribute is not a
// stream operation (legal during graph capture), but it runs here before the first launch, and the
// decoder stack calls prepare_cross_attention outside capture anyway.
template <typename T, int D, bool kOneTile>
void sentence_kernel_smem() {
  static const bool done = [] {
    check(cudaFuncSetAttribute(sentence_cross_attention_kernel<T, D, kOneTile>,
                               cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kMaxSentenceSmem)),
          "opting the sentence cross-attention into shared memory");
    return true;
  }();
  (void)done;
}

template <typename T, int D>
void sentence_kernels_smem() {
  sentence_kernel_smem<T, D, false>();
  sentence_kernel_smem<T, D, true>();
}

// Blocks of `kernel` the GPU holds at once with `smem` bytes each.
template <typename Kernel>
long resident_blocks(Kernel kernel, size_t smem) {
  int device = 0, sms = 0, per_sm = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "multiprocessor count");
  check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kSentenceThreads, smem), "occupancy");
  return static_cast<long>(sms) * per_sm;
}

}  // namespace

// fp16 and bf16 at head sizes 64 and 128 (the warp routine's), where either layout fits in
// kMaxSentenceSmem: two tiles up to mem_len 357 at head size 64 (182 at 128), one tile at beam 4 up
// to 675 (353).
bool sentence_attention_supported(DType dtype, int head_size, int mem_len, int beam) {
  return dtype != DType::F32 && (head_size == 64 || head_size == 128) &&
         std::min(sentence_smem_bytes(head_size, mem_len, beam, true),
                  sentence_smem_bytes(head_size, mem_len, beam, false)) <= kMaxSentenceSmem;
}

void prepare_sentence_cross_attention() {
  sentence_kernels_smem<__half, 64>();
  sentence_kernels_smem<__half, 128>();
  sentence_kernels_smem<__nv_bfloat16, 64>();
  sentence_kernels_smem<__nv_bfloat16, 128>();
}

void sentence_cross_attention(DType dtype, const void* q, const void* q_bias, const void* memory_kv,
                              const int* memory_lengths, void* ctx, int batch, int beam, int heads, int head_size,
                              int mem_len, cudaStream_t stream) {
  prepare_sentence_cross_attention();
  dispatch_warp_attention(dtype, head_size, [&](auto zero, auto d) {
    using T = decltype(zero);
    constexpr int D = decltype(d)::value;
    const auto two = sentence_cross_attention_kernel<T, D, false>;
    const auto one = sentence_cross_attention_kernel<T, D, true>;
    const size_t two_smem = sentence_smem_bytes(head_size, mem_len, beam, false);
    const size_t one_smem = sentence_smem_bytes(head_size, mem_len, beam, true);
    // One tile where two do not fit, or where two need a second wave and one tile holds more blocks.
    const long blocks = static_cast<long>(heads) * batch;
    bool one_tile = two_smem > kMaxSentenceSmem;
    if (!one_tile && one_smem <= kMaxSentenceSmem) {
      const long resident_two = resident_blocks(two, two_smem);
      one_tile = blocks > resident_two && resident_blocks(one, one_smem) > resident_two;
    }
    launch_dependent("cross_attention_sentence", one_tile ? one : two, dim3(heads, batch), kSentenceThreads,
                     one_tile ? one_smem : two_smem, stream, static_cast<const T*>(q), static_cast<const T*>(q_bias),
                     static_cast<const T*>(memory_kv), memory_lengths, static_cast<T*>(ctx), beam, heads, mem_len);
  });
}

}  // namespace ftb::cuda
