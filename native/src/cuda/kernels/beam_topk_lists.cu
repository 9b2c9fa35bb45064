// Fused beam top-k for beam <= kTopkListBeam (beam_search.h) in one pass over the logits. The
// reference ranks a row's continuations by score = fp32(cum + (l - log Σ exp)), which needs the row's
// log Σ exp before any score; the earlier path therefore read the logits twice (chunk statistics, then
// each chunk's best scores: ≈ 61 + 53 µs at b128 beam 4, NOTES.md version 6). Here one (row, chunk)
// kernel leaves the chunk's statistics and its K = beam_list_slots(beam) best logits by raw logit
// (ties to the lower id), and one block per sentence then scores those candidates exactly and ranks
// them. Why the candidates are enough (the ids are the reference's):
// - Within a row the score is monotone non-decreasing in the logit (l is exact in fp64; subtracting the
//   constant log Σ exp, adding the constant cum and rounding to fp32 are each monotone under round to
//   nearest): l_a > l_b gives s_a >= s_b, l_a = l_b gives s_a = s_b.
// - It is not strictly monotone: rounding can merge distinct logits into one score, and the reference
//   breaks that tie by the lower id, so a lower logit with a lower id can overtake a higher one. Ties
//   only merge, but the id tie-break reorders what they merge: the top `beam` by score need not be
//   among the top K by logit. Hence a certificate. Every logit a list leaves out has l <= l_K (its K-th)
//   and so s <= s_K. With s* the sentence's beam-th best candidate score, s_K < s* means no left-out
//   logit reaches the sentence's best `beam` (each ranks behind s* strictly), so the candidates' best
//   `beam` are the reference's. Otherwise at least K - beam + 1 >= beam + 1 of the list's candidates
//   share the score s* (repeated logits or rounding ties at the boundary): the sentence's block then
//   replaces that list by the chunk's exact K best by (score, id), a scan of the chunk. After it the
//   ranking is exact: a replaced list holds its chunk's K >= beam best, and the new lists only raise
//   s*, so the other lists' certificates still hold.
// The statistics: per chunk its max and Σ exp(l - max) in fp64, merged per row by one warp; each thread
// keeps a running max and rescales its sum when the max grows. Its terms are fp64 for fp32 logits and
// fp32 for 16-bit ones (ExactTerms, FastTerms; native/MODEL.md).
#include <type_traits>

#include "cuda/check.h"
#include "cuda/kernels/beam_search_internal.cuh"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/topk.cuh"

namespace ftb::cuda {
namespace {

constexpr unsigned int kListThreads = 256;
constexpr unsigned int kRankThreads = 256;  // at least 32 · kTopkListBeam: a warp per row for log Σ exp
constexpr int kMaxCandidates = 1024;        // a sentence's beam · chunks · K (beam_topk_chunks caps it)

// exp(d) for d <= 0, to a few ulp (the Σ exp of a chunk rounds more than that: ≈ 1e-16 a term), in
// about half the instructions of CUDA's exp (the beam_chunk_lists kernel is issue-bound on them: NOTES.md
// version 8): d = (16·e + j)·ln2/16 + r, |r| <= ln2/32, exp(d) = 2^e · 2^(j/16) · p(r) with p the degree-6
// Taylor polynomial (truncation r^7/7! <= 4.5e-16) and 2^(j/16) from `table` (16 doubles in shared
// memory, so that any half-warp reads it without a bank conflict). d is clamped at -700: exp(-700) ≈
// 1e-304 adds nothing to a sum that holds its own max's exp(0) = 1, and the clamp keeps 2^e normal.
// A NaN stays NaN.
struct Exp2Table {
  double values[16];
  __device__ void fill() {  // by the block's first 16 threads; a barrier must follow
    if (threadIdx.x < 16) values[threadIdx.x] = exp2(threadIdx.x / 16.0);
  }
};

__device__ __forceinline__ double exp_nonpositive(double d, const Exp2Table& table) {
  constexpr double kRound = 0x1.8p52;                                     // adding it rounds to an integer
  constexpr double kSteps = 23.083120654223414;                          // 16 / ln 2
  constexpr double kStepHigh = 0x1.62e42fefa39efp-1 / 16, kStepLow = 0x1.abc9e3b39803fp-56 / 16;  // ln2/16
  const double clamped = d < -700.0 ? -700.0 : d;
  const double shifted = fma(clamped, kSteps, kRound);
  const int k = __double2loint(shifted);
  const double steps = shifted - kRound;
  const double r = fma(-steps, kStepLow, fma(-steps, kStepHigh, clamped));
  double p = fma(r, 1.0 / 720, 1.0 / 120);
  p = fma(p, r, 1.0 / 24);
  p = fma(p, r, 1.0 / 6);
  p = fma(p, r, 0.5);
  p = fma(p, r, 1.0);
  p = fma(p, r, 1.0);
  const double v = table.values[k & 15] * p;
  const double scaled = __hiloint2double(__double2hiint(v) + (k >> 4) * (1 << 20), __double2loint(v));
  return d == d ? scaled : d;
}

// A thread's Σ exp(l - local_max), rescaled when its max grows (the first time 0 · exp(-inf)).
// fp32 logits: fp64 terms (exp_nonpositive), so that fp32 ids are the reference's (native/MODEL.md).
struct ExactTerms {
  const Exp2Table& table;
  double total = 0.0;
  __device__ explicit ExactTerms(const Exp2Table& exp2_table) : table(exp2_table) {}
  __device__ void rescale(float old_max, float new_max) { total *= exp(static_cast<double>(old_max) - new_max); }
  __device__ void add(float logit, float max) { total += exp_nonpositive(static_cast<double>(logit) - max, table); }
};

// fp16 / bf16 logits: fp32 terms from the SFU's 2^x (relative error ≈ 2^-22) summed in fp32 over a
// thread's ≤ ≈ 64 logits, fp64 beyond (the block sum): log Σ exp within ≈ 1e-6 of the fp64 value, far
// inside the logits' own rounding (2^-11 at fp16, 2^-8 at bf16). The fp64 terms cost ≈ 25 instructions a
// logit, most of what bound this kernel; these cost four.
struct FastTerms {
  static constexpr float kLog2e = 1.4426950408889634f;
  float total = 0.0f;
  __device__ explicit FastTerms(const Exp2Table&) {}
  __device__ static float exp2_approx(float v) {
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(v));
    return r;
  }
  __device__ void rescale(float old_max, float new_max) { total *= exp2_approx((old_max - new_max) * kLog2e); }
  __device__ void add(float logit, float max) { total += exp2_approx((logit - max) * kLog2e); }
};

// One 16-byte vector of a chunk (x, widened), or of its tail (kTail: lanes past the end hold -inf and
// offer 0): folded into the thread's running max and Σ exp and offered to the warp's list, unless no
// lane of the warp holds a logit that the list could take. kSeed (the warp's first vector, a full one):
// the list's floor first goes just below the K-th best of the lanes' best keys (WarpTopList::seed).
template <bool kTail, bool kSeed, int X, int K, typename Terms>
__device__ __forceinline__ void scan_vector(const float (&x)[X], int base, int end, float& local_max, Terms& terms,
                                            WarpTopList<K>& list) {
  float group_max = x[0];
#pragma unroll
  for (int j = 1; j < X; ++j) group_max = fmaxf(group_max, x[j]);
  if (group_max > local_max) {
    terms.rescale(local_max, group_max);
    local_max = group_max;
  }
#pragma unroll
  for (int j = 0; j < X; ++j) {
    if (!kTail || base + j < end) terms.add(x[j], local_max);
  }
  if constexpr (kSeed) {
    uint64_t best = 0;
#pragma unroll
    for (int j = 0; j < X; ++j) best = max(best, ranked_key(x[j], base + j));
    list.seed(best);
  }
  if (!list.worth_offering(group_max)) return;
  // This lane's logits that reach the floor's score, offered one a round: the warp runs as many rounds
  // as its busiest lane holds such logits (mostly one), where a round per logit cost the warp eight keys
  // and ballots a vector (ncu: 360 of the ≈ 430 instructions a stride).
  unsigned int pending = 0;
#pragma unroll
  for (int j = 0; j < X; ++j) {
    if ((!kTail || base + j < end) && x[j] >= list.floor_score) pending |= 1u << j;
  }
  while (__any_sync(0xffffffffu, pending != 0)) {
    uint64_t key = 0;
    if (pending != 0) {
      const int at = __ffs(pending) - 1;
      pending &= pending - 1;
      float logit = x[0];
#pragma unroll
      for (int j = 1; j < X; ++j) logit = at == j ? x[j] : logit;  // a static index: x stays in registers
      key = ranked_key(logit, base + at);
    }
    list.offer(key);
  }
}

// (row, chunk) block: the chunk's max, Σ exp(l - max) in fp64, and its K best (logit, v) by logit
// (an empty slot, in a chunk of fewer than K logits: id -1), into the candidate slots [rows, chunks, K].
// The logits are read once, a 16-byte vector a thread at a time (chunks start at multiples of kVec<T>),
// by whole warps (WarpTopList::offer is warp-wide): full strides first, then one checked tail stride.
// The warps share the highest K-th key any of them has reached (`block_floor`), each dropping keys
// below it: a key that K keys of another warp beat is in no chunk's K best.
// At most 48 registers (5 blocks an SM), the build the GPU tests verified. At b128 beam 4 it measured
// the same as the compiler's own 63 (NOTES.md, version 10); it leaves K = 16 a 12-byte spill.
template <typename T, int K>
__global__ void __launch_bounds__(kListThreads, 5)
    chunk_lists_kernel(const T* logits, int ld, int vocab, SearchState state, float* chunk_max, double* chunk_sum,
                       float* list_logits, int* list_ids) {
  __shared__ float scratch[32];
  __shared__ double dscratch[32];
  __shared__ uint64_t pool[kListThreads / 32 * K];
  __shared__ Exp2Table table;
  __shared__ unsigned long long block_floor;
  constexpr int X = kVec<T>, kStride = kListThreads * X;
  const int r = blockIdx.x, c = blockIdx.y, chunks = gridDim.y;
  if (state.finished[r]) return;  // it offers (end_id, cum) alone: rank_lists_kernel reads nothing of it
  table.fill();
  if (threadIdx.x == 0) block_floor = 0;
  __syncthreads();
  const T* row = logits + static_cast<size_t>(r) * ld;
  const Chunk chunk(vocab, chunks, c, X);
  const int lane = threadIdx.x & 31, offset = (threadIdx.x - lane) * X;  // the warp's first element
  float local_max = -INFINITY;
  std::conditional_t<std::is_same_v<T, float>, ExactTerms, FastTerms> terms{table};  // Σ exp(l - local_max)
  WarpTopList<K> list;
  int start = chunk.begin + offset;
  volatile unsigned long long& shared_floor = block_floor;  // raised by the other warps meanwhile
  // The next full stride's vector is loaded while this one is folded and offered: with one 16-byte
  // load in flight a thread, each stride would wait out a whole memory latency.
  uint4 next{};
  if (start + 32 * X <= chunk.end) next = *reinterpret_cast<const uint4*>(row + start + lane * X);
  for (bool first = true; start + 32 * X <= chunk.end; start += kStride, first = false) {
    float x[X];
    widen_vec<T>(next, x);
    if (start + kStride + 32 * X <= chunk.end) next = *reinterpret_cast<const uint4*>(row + start + kStride + lane * X);
    if (first) {
      scan_vector<false, true>(x, start + lane * X, chunk.end, local_max, terms, list);
    } else {
      scan_vector<false, false>(x, start + lane * X, chunk.end, local_max, terms, list);
    }
    if (lane == 0 && list.floor > shared_floor) atomicMax(&block_floor, list.floor);
    list.raise(shared_floor);
  }
  if (start < chunk.end) {
    float x[X];
    const int base = start + lane * X;
#pragma unroll
    for (int j = 0; j < X; ++j) x[j] = base + j < chunk.end ? to_float(row[base + j]) : -INFINITY;
    scan_vector<true, false>(x, base, chunk.end, local_max, terms, list);
  }
  const float max = block_max(local_max, scratch);
  const double total = terms.total;
  const double sum = block_sum(total == 0.0 ? 0.0 : total * exp(static_cast<double>(local_max) - max), dscratch);
  TopList<K> warp_list;  // the warp's K best, a key a lane, for block_best's merge
  warp_list.keys[0] = list.key;
  uint64_t best[K];
  block_best(warp_list, pool, best);
  if (threadIdx.x == 0) {
    const size_t at = static_cast<size_t>(r) * chunks + c;
    chunk_max[at] = max;
    chunk_sum[at] = sum;
#pragma unroll
    for (int k = 0; k < K; ++k) {
      list_logits[at * K + k] = key_score(best[k]);
      list_ids[at * K + k] = key_id(best[k]);  // -1 for an empty slot (key 0)
    }
  }
}

// top[0..beam) = the `beam` largest of keys[0..count) (distinct, but for empty slots, 0, which rank
// after every candidate), through per-thread lists (K >= beam) and block_best. Ends with a barrier.
template <int K>
__device__ void rank_best(const uint64_t* keys, int count, int beam, uint64_t* pool, uint64_t* top) {
  TopList<K> list;
  for (int i = threadIdx.x; i < count; i += blockDim.x) list.insert(keys[i]);
  uint64_t best[K];
  block_best(list, pool, best);
  if (threadIdx.x == 0) {
#pragma unroll
    for (int k = 0; k < K; ++k) {
      if (k < beam) top[k] = best[k];
    }
  }
  __syncthreads();
}

// Sentence block: each row's log Σ exp (a warp a row), the exact (score, j·vocab + v) keys of its
// rows' candidates, the certificate of every list (file comment), the exact scan of a list that fails
// it, and the sentence's best `beam`, in rank order, into the first slots of its candidates.
template <typename T, int K>
__global__ void __launch_bounds__(kRankThreads)
    rank_lists_kernel(const T* logits, int ld, int vocab, int beam, int end_id, SearchState state,
                      const float* chunk_max, const double* chunk_sum, int chunks, float* scores, int* ids) {
  __shared__ uint64_t keys[kMaxCandidates];
  __shared__ uint64_t pool[kRankThreads / 32 * K];
  __shared__ uint64_t top[kTopkListBeam];
  __shared__ double log_total[kTopkListBeam];
  __shared__ float cum[kTopkListBeam];
  __shared__ bool finished[kTopkListBeam];
  __shared__ bool rescan[kMaxCandidates / 2];  // per list (K >= 2)
  __shared__ int any_rescan;
  const int b = blockIdx.x, first = b * beam, lists = beam * chunks, count = lists * K;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  float* out_scores = scores + static_cast<size_t>(b) * count;
  int* out_ids = ids + static_cast<size_t>(b) * count;
  if (warp < beam) {
    const int r = first + warp;
    const bool done = state.finished[r];
    const size_t at = static_cast<size_t>(r) * chunks;
    const double total = done ? 0.0 : warp_log_total(chunk_max + at, chunk_sum + at, chunks);
    if (lane == 0) {
      log_total[warp] = total;
      cum[warp] = state.cum_log_probs[r];
      finished[warp] = done;
    }
  }
  if (threadIdx.x == 0) any_rescan = 0;
  __syncthreads();
  for (int i = threadIdx.x; i < count; i += blockDim.x) {
    const int list = i / K, j = list / chunks;
    uint64_t key = 0;  // an empty slot
    if (finished[j]) {
      if (i == j * chunks * K) key = ranked_key(cum[j], j * vocab + end_id);  // slot 0 of chunk 0
    } else if (out_ids[i] >= 0) {
      key = ranked_key(candidate_score(cum[j], out_scores[i], log_total[j]), j * vocab + out_ids[i]);
    }
    keys[i] = key;
  }
  __syncthreads();
  rank_best<K>(keys, count, beam, pool, top);
  const float threshold = key_score(top[beam - 1]);  // s*
  for (int list = threadIdx.x; list < lists; list += blockDim.x) {
    const Chunk chunk(vocab, chunks, list % chunks, kVec<T>);
    rescan[list] = !finished[list / chunks] && chunk.end - chunk.begin > K &&
                   key_score(keys[list * K + K - 1]) >= threshold;
    if (rescan[list]) any_rescan = 1;
  }
  __syncthreads();
  if (any_rescan != 0) {
    for (int list = 0; list < lists; ++list) {
      if (!rescan[list]) continue;  // the same for every thread
      const int j = list / chunks;
      const Chunk chunk(vocab, chunks, list % chunks, kVec<T>);
      const T* row = logits + static_cast<size_t>(first + j) * ld;
      TopList<K> exact;
      for (int v = chunk.begin + threadIdx.x; v < chunk.end; v += blockDim.x) {
        exact.insert(ranked_key(candidate_score(cum[j], to_float(row[v]), log_total[j]), j * vocab + v));
      }
      uint64_t best[K];
      block_best(exact, pool, best);
      if (threadIdx.x == 0) {
#pragma unroll
        for (int k = 0; k < K; ++k) keys[list * K + k] = best[k];
      }
      __syncthreads();  // the keys written, the pool free again
    }
    rank_best<K>(keys, count, beam, pool, top);
  }
  if (threadIdx.x < beam) {
    out_scores[threadIdx.x] = key_score(top[threadIdx.x]);
    out_ids[threadIdx.x] = key_id(top[threadIdx.x]);
  }
}

}  // namespace

// K: the smallest power of two >= 2·beam, so that a certificate fails only when more than `beam` of a
// list's candidates tie at the sentence's beam-th score.
int beam_list_slots(int beam) {
  int slots = 2;
  while (slots < 2 * beam) slots *= 2;
  return slots;
}

void beam_topk_lists(DType dtype, const void* logits, int ld, int rows, int vocab, int beam, int end_id,
                     const SearchState& state, int chunks, float* chunk_max, double* chunk_sum,
                     float* candidate_scores, int* candidate_ids, cudaStream_t stream) {
  if (beam * chunks * beam_list_slots(beam) > kMaxCandidates) throw EngineError("beam top-k: too many candidates");
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const auto run = [&](auto slots) {
      constexpr int K = decltype(slots)::value;
      const T* typed = static_cast<const T*>(logits);
      chunk_lists_kernel<T, K><<<dim3(rows, chunks), kListThreads, 0, stream>>>(
          typed, ld, vocab, state, chunk_max, chunk_sum, candidate_scores, candidate_ids);
      check_launch("beam_chunk_lists");
      rank_lists_kernel<T, K><<<rows / beam, kRankThreads, 0, stream>>>(
          typed, ld, vocab, beam, end_id, state, chunk_max, chunk_sum, chunks, candidate_scores, candidate_ids);
      check_launch("beam_rank_lists");
    };
    switch (beam_list_slots(beam)) {
      case 2: return run(std::integral_constant<int, 2>{});
      case 4: return run(std::integral_constant<int, 4>{});
      case 8: return run(std::integral_constant<int, 8>{});
      case 16: return run(std::integral_constant<int, 16>{});
    }
    throw EngineError("beam top-k lists: beam past kTopkListBeam");
  });
}

}  // namespace ftb::cuda
