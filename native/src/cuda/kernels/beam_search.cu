#include <algorithm>
#include <climits>
#include <cmath>

#include "cuda/check.h"
#include "cuda/kernels/beam_search.h"
#include "cuda/kernels/beam_search_internal.cuh"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/topk.cuh"

namespace ftb::cuda {
namespace {

constexpr unsigned int kRowThreads = 512;
constexpr unsigned int kChunkThreads = 256;
// Fewest logits per vocabulary chunk: the radix select pays 8 passes per block, so its chunks stay short
// and spread a row over many blocks; the one-pass lists cost little per logit, and fewer chunks mean
// fewer candidates (beam per chunk) for beam_commit to rank.
constexpr int kChunkLength = 1024;
constexpr int kListChunkLength = 4096;
// The long list chunks only where they still give about one block per SM (132 on the H200): at b1
// beam 1 they made 8 blocks of 4096 logits, and chunk_stats took 7.3 µs a step against 3.0 µs over
// 31 blocks of 1024 (NOTES.md, decoding version 4).
constexpr int kListFillBlocks = 128;
constexpr int kTopkBlocks = 1024;  // enough (row, chunk) blocks to fill the GPU several times
constexpr unsigned int kThreads = 256;

__global__ void init_search_kernel(SearchState state, int rows, int beam, int start_id) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  state.cum_log_probs[r] = r % beam == 0 ? 0.0f : -INFINITY;
  state.finished[r] = 0;
  state.lengths[r] = 0;
  state.ids[r] = start_id;
  state.parents[r] = 0;
}

// log Σ exp(logits) of a row, in fp64 as the reference (block-wide; every thread gets it).
template <typename T>
__device__ double row_log_total(const T* row, int vocab, float* scratch, double* dscratch) {
  float row_max = -INFINITY;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) row_max = fmaxf(row_max, to_float(row[v]));
  row_max = block_max(row_max, scratch);
  double total = 0.0;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) total += exp(static_cast<double>(to_float(row[v])) - row_max);
  return row_max + log(block_sum(total, dscratch));
}

// Softmax statistics of a (row, chunk): its max and Σ exp(l - max) in fp64.
template <typename T>
__global__ void __launch_bounds__(kChunkThreads)
    chunk_stats_kernel(const T* logits, int ld, int vocab, float* chunk_max, double* chunk_sum) {
  __shared__ float scratch[32];
  __shared__ double dscratch[32];
  const int r = blockIdx.x, c = blockIdx.y, chunks = gridDim.y;
  const T* row = logits + static_cast<size_t>(r) * ld;
  const Chunk chunk(vocab, chunks, c);
  float local_max = -INFINITY;
  for (int v = chunk.begin + threadIdx.x; v < chunk.end; v += blockDim.x) local_max = fmaxf(local_max, to_float(row[v]));
  local_max = block_max(local_max, scratch);
  double total = 0.0;
  for (int v = chunk.begin + threadIdx.x; v < chunk.end; v += blockDim.x) {
    total += exp(static_cast<double>(to_float(row[v])) - local_max);
  }
  total = block_sum(total, dscratch);
  if (threadIdx.x == 0) {
    chunk_max[static_cast<size_t>(r) * chunks + c] = local_max;
    chunk_sum[static_cast<size_t>(r) * chunks + c] = total;
  }
}

// What a (row, chunk) block of beam top-k offers: the candidates slots [offered, beam) are fillers
// (-inf, INT_MAX, ranking after every real candidate); a finished row offers only (end_id, cum), in
// chunk 0. Returns whether the block has logits to rank, then with the row's log Σ exp in log_total
// (from the chunks' statistics, by one warp).
__device__ bool chunk_prologue(int r, int c, int chunks, const Chunk& chunk, int beam, int vocab, int end_id,
                               const SearchState& state, const float* chunk_max, const double* chunk_sum,
                               float* scores, int* ids, int& offered, double& log_total) {
  __shared__ double shared_log_total;
  const bool finished = state.finished[r];
  offered = finished ? (c == 0) : min(beam, chunk.end - chunk.begin);
  for (int slot = offered + threadIdx.x; slot < beam; slot += blockDim.x) {
    scores[slot] = -INFINITY;
    ids[slot] = INT_MAX;
  }
  if (finished) {
    if (offered == 1 && threadIdx.x == 0) {
      scores[0] = state.cum_log_probs[r];
      ids[0] = (r % beam) * vocab + end_id;
    }
    return false;
  }
  if (offered == 0) return false;
  if (threadIdx.x < 32) {
    const double total = warp_log_total(chunk_max + static_cast<size_t>(r) * chunks,
                                        chunk_sum + static_cast<size_t>(r) * chunks, chunks);
    if (threadIdx.x == 0) shared_log_total = total;
  }
  __syncthreads();
  log_total = shared_log_total;
  return true;
}

// Ranked key of logit i of a chunk: score = fp32(cum + l - log Σ exp) as the reference.
template <typename T>
struct ChunkKeys {
  const T* row;
  int begin;
  float cum;
  double log_total;
  __device__ uint64_t operator()(int i) const {
    const int v = begin + i;
    return ranked_key(candidate_score(cum, to_float(row[v]), log_total), v);
  }
};

// A (row, chunk) block of beam top-k: where it writes its `beam` candidates, its logits, how many real
// candidates it offers and how its logits rank.
template <typename T>
struct ChunkBlock {
  float* scores;
  int* ids;
  Chunk chunk;
  int offered;
  ChunkKeys<T> key;
};

// Sets up this block (chunk_prologue); false when the prologue has already written all it offers.
template <typename T>
__device__ bool begin_chunk_block(const T* logits, int ld, int vocab, int beam, int end_id, const SearchState& state,
                                  const float* chunk_max, const double* chunk_sum, float* out_scores, int* out_ids,
                                  ChunkBlock<T>& block) {
  const int r = blockIdx.x, c = blockIdx.y, chunks = gridDim.y;
  block.scores = out_scores + (static_cast<size_t>(r) * chunks + c) * beam;
  block.ids = out_ids + (static_cast<size_t>(r) * chunks + c) * beam;
  block.chunk = Chunk(vocab, chunks, c);
  double log_total;
  if (!chunk_prologue(r, c, chunks, block.chunk, beam, vocab, end_id, state, chunk_max, chunk_sum, block.scores,
                      block.ids, block.offered, log_total)) {
    return false;
  }
  block.key = ChunkKeys<T>{logits + static_cast<size_t>(r) * ld, block.chunk.begin, state.cum_log_probs[r], log_total};
  return true;
}

// The `beam` best continuations (score, j·vocab + v) of a (row, chunk), for beams past kTopkListBeam
// (<= 32): a radix select of the `offered`-th best key (8 passes over the
// logits), then every key at or above it.
template <typename T>
__global__ void __launch_bounds__(kChunkThreads)
    beam_topk_kernel(const T* logits, int ld, int vocab, int beam, int end_id, SearchState state,
                     const float* chunk_max, const double* chunk_sum, float* out_scores, int* out_ids) {
  __shared__ SelectShared select;
  __shared__ int found;
  ChunkBlock<T> block;
  if (!begin_chunk_block(logits, ld, vocab, beam, end_id, state, chunk_max, chunk_sum, out_scores, out_ids, block)) return;
  const int n = block.chunk.end - block.chunk.begin;
  const uint64_t threshold = block_select(n, block.offered - 1, block.key, select);
  if (threadIdx.x == 0) found = 0;
  __syncthreads();
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    const uint64_t k = block.key(i);
    if (k >= threshold) {
      const int slot = atomicAdd(&found, 1);
      block.scores[slot] = key_score(k);
      block.ids[slot] = (blockIdx.x % beam) * vocab + key_id(k);
    }
  }
}

__device__ __forceinline__ bool better(float score, int id, float other_score, int other_id) {
  return score > other_score || (score == other_score && id < other_id);
}

// One block per sentence, one thread per candidate (count <= 1024).
__global__ void beam_commit_kernel(const float* candidate_scores, const int* candidate_ids, int stride, int count,
                                   bool ranked, int beam, int vocab, int end_id, SearchState state, const int* step,
                                   int* cache_indir, int cache_len) {
  __shared__ int chosen[32], old_finished[32], old_lengths[32], parents[32];
  __shared__ float scores[1024];
  __shared__ int ids[1024];
  const int b = blockIdx.x, first = b * beam, rows = gridDim.x * beam, t = *step;
  if (threadIdx.x < count) {
    scores[threadIdx.x] = candidate_scores[static_cast<size_t>(b) * stride + threadIdx.x];
    ids[threadIdx.x] = candidate_ids[static_cast<size_t>(b) * stride + threadIdx.x];
  }
  __syncthreads();
  if (threadIdx.x < beam) {
    old_finished[threadIdx.x] = state.finished[first + threadIdx.x];
    old_lengths[threadIdx.x] = state.lengths[first + threadIdx.x];
  }
  if (threadIdx.x < count) {
    int rank = threadIdx.x;
    if (!ranked) {
      const float s = scores[threadIdx.x];
      const int id = ids[threadIdx.x];
      rank = 0;
      for (int c = 0; c < count; ++c) rank += better(scores[c], ids[c], s, id);
    }
    if (rank < beam) chosen[rank] = threadIdx.x;
  }
  __syncthreads();
  if (threadIdx.x < beam) {
    const int c = chosen[threadIdx.x], r = first + threadIdx.x;
    const int j = ids[c] / vocab, v = ids[c] % vocab;
    state.cum_log_probs[r] = scores[c];
    state.finished[r] = old_finished[j] || v == end_id;
    state.lengths[r] = old_lengths[j] + (old_finished[j] ? 0 : 1);
    state.ids[r] = v;
    state.parents[r] = j;
    parents[threadIdx.x] = j;
    state.step_ids[static_cast<size_t>(t) * rows + r] = v;
    state.parent_ids[static_cast<size_t>(t) * rows + r] = j;
  }
  if (cache_indir == nullptr) return;
  __syncthreads();
  // Next step's table: position t comes from the parent's own entry, earlier ones from the parent's ancestors.
  const size_t table = static_cast<size_t>(rows) * cache_len;
  const int* current = cache_indir + (t & 1) * table;
  int* next = cache_indir + ((t + 1) & 1) * table;
  for (int i = threadIdx.x; i < beam * (t + 1); i += blockDim.x) {
    const int beam_index = i / (t + 1), s = i % (t + 1), j = parents[beam_index];
    next[static_cast<size_t>(first + beam_index) * cache_len + s] =
        s == t ? j : current[static_cast<size_t>(first + j) * cache_len + s];
  }
}

template <typename T>
__global__ void __launch_bounds__(kRowThreads) log_softmax_kernel(const T* logits, int ld, int vocab, float* lp) {
  __shared__ float scratch[32];
  __shared__ double dscratch[32];
  const T* row = logits + static_cast<size_t>(blockIdx.x) * ld;
  const double log_total = row_log_total(row, vocab, scratch, dscratch);
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    lp[static_cast<size_t>(blockIdx.x) * vocab + v] = static_cast<float>(to_float(row[v]) - log_total);
  }
}

__global__ void beam_scores_kernel(const float* lp, int rows, int vocab, int end_id, SearchState state, float* scores) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<size_t>(rows) * vocab) return;
  const int r = i / vocab, v = i % vocab;
  const float cum = state.cum_log_probs[r];
  scores[i] = state.finished[r] ? (v == end_id ? cum : -INFINITY)
                                : static_cast<float>(static_cast<double>(cum) + static_cast<double>(lp[i]));
}

__global__ void candidate_ids_kernel(int* ids, int rows, int beam, int vocab) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<size_t>(rows) * vocab) return;
  ids[i] = static_cast<int>(i / vocab % beam) * vocab + static_cast<int>(i % vocab);
}

// One thread per sentence.
__global__ void finish_search_kernel(SearchState state, int steps, int batch, int beam, float length_penalty,
                                     int* output_ids, int* lengths, float* cum_log_probs, float* scores) {
  const int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b >= batch) return;
  const int first = b * beam, rows = batch * beam;
  float score[32];
  int order[32];
  for (int i = 0; i < beam; ++i) {
    const int r = first + i;
    score[i] = static_cast<float>(state.cum_log_probs[r] /
                                  pow((5.0 + state.lengths[r]) / 6.0, static_cast<double>(length_penalty)));
    // Insertion keeps equal scores in beam order (a stable sort, best first).
    int k = i;
    for (; k > 0 && score[order[k - 1]] < score[i]; --k) order[k] = order[k - 1];
    order[k] = i;
  }
  for (int rank = 0; rank < beam; ++rank) {
    const int r = first + order[rank], out = first + rank;
    for (int t = steps - 1, row = r; t >= 0; --t) {
      output_ids[static_cast<size_t>(out) * steps + t] = state.step_ids[static_cast<size_t>(t) * rows + row];
      row = first + state.parent_ids[static_cast<size_t>(t) * rows + row];
    }
    lengths[out] = state.lengths[r];
    cum_log_probs[out] = state.cum_log_probs[r];
    scores[out] = score[order[rank]];
  }
}

}  // namespace

void init_search(const SearchState& state, int rows, int beam, int start_id, cudaStream_t stream) {
  init_search_kernel<<<blocks_for(rows, kThreads), kThreads, 0, stream>>>(state, rows, beam, start_id);
  check_launch("init_search");
}

int beam_topk_chunks(int vocab, int rows, int beam) {
  const int list_chunks = (vocab + kListChunkLength - 1) / kListChunkLength;
  const bool long_chunks = beam <= kTopkListBeam && static_cast<long>(rows) * list_chunks >= kListFillBlocks;
  const int length = long_chunks ? kListChunkLength : kChunkLength;
  const int per_logits = (vocab + length - 1) / length;
  const int per_rows = (kTopkBlocks + rows - 1) / rows;
  return std::max(1, std::min({per_logits, per_rows, 1024 / (beam * beam_topk_slots(beam))}));
}

int beam_topk_slots(int beam) { return beam <= kTopkListBeam ? beam_list_slots(beam) : beam; }

CandidateLayout beam_topk_layout(int chunks, int beam) {
  const int stride = beam * chunks * beam_topk_slots(beam);
  // The lists path ranks each sentence's candidates itself and leaves its `beam` best first.
  if (beam <= kTopkListBeam) return {stride, beam, true};
  return {stride, stride, false};
}

void beam_topk(DType dtype, const void* logits, int ld, int rows, int vocab, int beam, int end_id,
               const SearchState& state, int chunks, float* chunk_max, double* chunk_sum, float* candidate_scores,
               int* candidate_ids, cudaStream_t stream) {
  if (beam <= kTopkListBeam) {
    beam_topk_lists(dtype, logits, ld, rows, vocab, beam, end_id, state, chunks, chunk_max, chunk_sum,
                    candidate_scores, candidate_ids, stream);
    return;
  }
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const dim3 grid(rows, chunks);
    chunk_stats_kernel<T><<<grid, kChunkThreads, 0, stream>>>(static_cast<const T*>(logits), ld, vocab, chunk_max,
                                                              chunk_sum);
    check_launch("beam_softmax_stats");
    beam_topk_kernel<T><<<grid, kChunkThreads, 0, stream>>>(static_cast<const T*>(logits), ld, vocab, beam, end_id,
                                                            state, chunk_max, chunk_sum, candidate_scores,
                                                            candidate_ids);
  });
  check_launch("beam_softmax_topk");
}

void beam_commit(const float* candidate_scores, const int* candidate_ids, int stride, int count, bool ranked,
                 int batch, int beam, int vocab, int end_id, const SearchState& state, const int* step,
                 int* cache_indir, int cache_len, cudaStream_t stream) {
  const unsigned int threads = (count + 31) / 32 * 32;
  beam_commit_kernel<<<batch, threads, 0, stream>>>(candidate_scores, candidate_ids, stride, count, ranked, beam,
                                                    vocab, end_id, state, step, cache_indir, cache_len);
  check_launch("beam_commit");
}

void log_softmax(DType dtype, const void* logits, int ld, int rows, int vocab, float* lp, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    log_softmax_kernel<T><<<rows, kRowThreads, 0, stream>>>(static_cast<const T*>(logits), ld, vocab, lp);
  });
  check_launch("log_softmax");
}

void beam_scores(const float* lp, int rows, int vocab, int end_id, const SearchState& state, float* scores,
                 cudaStream_t stream) {
  const size_t count = static_cast<size_t>(rows) * vocab;
  beam_scores_kernel<<<blocks_for(count, kThreads), kThreads, 0, stream>>>(lp, rows, vocab, end_id, state, scores);
  check_launch("beam_scores");
}

void candidate_ids(int* ids, int rows, int beam, int vocab, cudaStream_t stream) {
  const size_t count = static_cast<size_t>(rows) * vocab;
  candidate_ids_kernel<<<blocks_for(count, kThreads), kThreads, 0, stream>>>(ids, rows, beam, vocab);
  check_launch("candidate_ids");
}

void finish_search(const SearchState& state, int steps, int batch, int beam, float length_penalty, int* output_ids,
                   int* lengths, float* cum_log_probs, float* scores, cudaStream_t stream) {
  finish_search_kernel<<<blocks_for(batch, 64), 64, 0, stream>>>(state, steps, batch, beam, length_penalty,
                                                                  output_ids, lengths, cum_log_probs, scores);
  check_launch("gather_tree");
}

}  // namespace ftb::cuda
