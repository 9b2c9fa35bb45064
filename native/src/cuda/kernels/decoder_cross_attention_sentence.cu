// Cross-attention at large batch with one block per (sentence, head) (decoder_attention.h;
// decoder_attention.cu picks it by cross_attention_path). A sentence's beams all attend over the same
// memory K/V ([batch, mem_len, 2h]); the warp-per-(row, head) kernel (decoder_attention_wide.cu) has each
// beam's warp read it from global memory, key by key in dependent rounds, so at b128 beam 4 it moves
// the 33.5 MB of memory K/V at ≈ 1.3 TB/s (26.5 µs, NOTES.md version 6). Here the block copies the
// head's K and V slice of its sentence (memory_length keys × D, 32 KB at mem 128, head size 64, fp16)
// into shared memory with cp.async, every copy issued at once (one DRAM round trip, before the wait
// on the cross-q GEMM), and its warps then attend the sentence's beam rows, one row per warp at a time,
// from shared memory with the same warp routine as the wide kernel (decoder_attention_warp.cuh): the
// result is the wide kernel's, bit for bit. fp16/bf16 at head sizes 64 and 128 only, as the wide kernel.
#include "cuda/check.h"
#include "cuda/kernels/decoder_attention_internal.cuh"
#include "cuda/kernels/decoder_attention_warp.cuh"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/launch.cuh"
#include "cuda/kernels/mma_sm80.cuh"

namespace ftb::cuda {
namespace {

constexpr int kSentenceWarps = 4;  // warps a block; they share the copy and take the beam rows in turn
constexpr unsigned int kSentenceThreads = kSentenceWarps * 32;
// Shared memory a block may take (opted in once per kernel, sentence_kernel_smem below): the K and V
// tiles of mem_len keys plus the warps' q and scores; 96 KB still leaves two blocks per SM (228 KB).
constexpr size_t kMaxSentenceSmem = 96 * 1024;

// The head's K and V of one sentence in shared memory, [mem_len][D] each. In the score pass lane s
// reads key s's chunk c: unswizzled, the eight lanes of a 16-byte access phase would hit the same four
// banks (rows are 128 or 256 bytes apart). K's chunk c of key s is therefore stored at chunk c ^ (s & 7),
// which spreads those eight lanes over all 32 banks; V is read a key per 8 (or 16) lanes, whole rows, so
// it stays unswizzled. The keys accessor of warp_attend (decoder_attention_warp.cuh).
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

size_t sentence_smem_bytes(int head_size, int mem_len) {
  return 2 * tile_bytes(head_size, mem_len) +
         static_cast<size_t>(kSentenceWarps) * warp_floats(head_size, mem_len, false) * sizeof(float);
}

// Block (head, sentence): copies the head's n = memory_length keys and values of the sentence into the
// tiles, waits for the cross-q GEMM (the memory K/V and lengths are the run's: the copies go first),
// then each warp attends rows sentence·beam + w, + kSentenceWarps, ...
template <typename T, int D>
__global__ void __launch_bounds__(kSentenceThreads)
    sentence_cross_attention_kernel(const T* q_in, const T* q_bias, const T* memory_kv, const int* memory_lengths,
                                    T* ctx, int beam, int heads, int mem_len) {
  static_assert(D / kVec<T> % 8 == 0, "the K swizzle permutes groups of eight 16-byte chunks");
  extern __shared__ float4 sentence_smem[];
  constexpr int X = kVec<T>, kChunks = D / X;
  const int head = blockIdx.x, sentence = blockIdx.y, hidden = heads * D;
  const int n = memory_length(memory_lengths, sentence, mem_len);
  T* k_tile = reinterpret_cast<T*>(sentence_smem);
  T* v_tile = k_tile + mem_len * D;
  const T* entries = memory_kv + static_cast<size_t>(sentence) * mem_len * 2 * hidden + head * D;
  for (int job = threadIdx.x; job < n * kChunks; job += blockDim.x) {
    const int s = job / kChunks, c = job % kChunks;
    const T* entry = entries + static_cast<size_t>(s) * 2 * hidden + c * X;
    mma::cp_async_16(k_tile + s * D + TileKeys<T, D>::slot(s, c) * X, entry, true);
    mma::cp_async_16(v_tile + s * D + c * X, entry + hidden, true);
  }
  mma::cp_async_commit();
  wait_for_previous_kernel();  // the cross-q GEMM's output
  const WarpShared sh(reinterpret_cast<float4*>(v_tile + mem_len * D), D, mem_len, false);
  mma::cp_async_wait<0>();
  __syncthreads();  // every thread's copies visible to the block
  const TileKeys<T, D> keys{k_tile, v_tile};
  for (int i = threadIdx.x / 32; i < beam; i += kSentenceWarps) {
    const size_t offset = static_cast<size_t>(sentence * beam + i) * hidden + head * D;
    load_query<T, D>(q_in + offset, q_bias + head * D, sh.q);
    __syncwarp();
    warp_attend<T, D>(keys, n, sh, ctx + offset);
    __syncwarp();  // the next row's q and scores overwrite what the lanes have just read
  }
}

// Opts every instantiation into kMaxSentenceSmem once per process. cudaFuncSetAttribute is not a
// stream operation (legal during graph capture), but it runs here before the first launch, and the
// decoder stack calls prepare_cross_attention outside capture anyway.
template <typename T, int D>
void sentence_kernel_smem() {
  static const bool done = [] {
    check(cudaFuncSetAttribute(sentence_cross_attention_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               static_cast<int>(kMaxSentenceSmem)),
          "opting the sentence cross-attention into shared memory");
    return true;
  }();
  (void)done;
}

}  // namespace

// fp16 and bf16 at head sizes 64 and 128 (the warp routine's), where the tiles fit in kMaxSentenceSmem:
// mem_len ≤ 357 at head size 64, ≤ 182 at 128.
bool sentence_attention_supported(DType dtype, int head_size, int mem_len) {
  return dtype != DType::F32 && (head_size == 64 || head_size == 128) &&
         sentence_smem_bytes(head_size, mem_len) <= kMaxSentenceSmem;
}

void prepare_sentence_cross_attention() {
  sentence_kernel_smem<__half, 64>();
  sentence_kernel_smem<__half, 128>();
  sentence_kernel_smem<__nv_bfloat16, 64>();
  sentence_kernel_smem<__nv_bfloat16, 128>();
}

void sentence_cross_attention(DType dtype, const void* q, const void* q_bias, const void* memory_kv,
                              const int* memory_lengths, void* ctx, int batch, int beam, int heads, int head_size,
                              int mem_len, cudaStream_t stream) {
  prepare_sentence_cross_attention();
  dispatch_warp_attention(dtype, head_size, [&](auto zero, auto d) {
    using T = decltype(zero);
    launch_dependent("cross_attention_sentence", sentence_cross_attention_kernel<T, decltype(d)::value>,
                     dim3(heads, batch), kSentenceThreads, sentence_smem_bytes(head_size, mem_len), stream,
                     static_cast<const T*>(q), static_cast<const T*>(q_bias), static_cast<const T*>(memory_kv),
                     memory_lengths, static_cast<T*>(ctx), beam, heads, mem_len);
  });
}

}  // namespace ftb::cuda
