#include <cmath>

#include "common/tensors.h"
#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/sampling.h"
#include "cuda/kernels/topk.cuh"

namespace ftb::cuda {
namespace {

constexpr int kThreads = 1024;  // also the most candidates of top-k (kMaxTopK)

struct WalkShared {
  double weights[kThreads];
  double scratch[32];
  double prefix;
  int index;
  bool done;
};

// Walks the first n candidates in rank order with the reference's sequential fp64 prefix sums until
// stop(prefix) holds; returns that candidate's index and prefix (or n - 1 and the total). The weights
// of a chunk of blockDim candidates are computed in parallel, the additions stay sequential.
template <typename Weight, typename Stop>
__device__ int walk(int n, const Weight& weight, const Stop& stop, WalkShared& shared, double& prefix) {
  __syncthreads();  // every thread has read the previous walk's result
  if (threadIdx.x == 0) {
    shared.prefix = 0.0;
    shared.done = false;
  }
  __syncthreads();
  for (int base = 0; base < n && !shared.done; base += blockDim.x) {
    if (base + threadIdx.x < n) shared.weights[threadIdx.x] = weight(base + threadIdx.x);
    __syncthreads();
    if (threadIdx.x == 0) {
      const int limit = min(static_cast<int>(blockDim.x), n - base);
      double sum = shared.prefix;
      shared.index = base + limit - 1;
      for (int c = 0; c < limit; ++c) {
        sum += shared.weights[c];
        if (stop(sum)) {
          shared.index = base + c;
          shared.done = true;
          break;
        }
      }
      shared.prefix = sum;
    }
    __syncthreads();
  }
  prefix = shared.prefix;
  return shared.index;
}

// Draws row b's token among its n ranked candidates, logit(i) / id(i) in rank order, and updates the state.
template <typename Logit, typename Id>
__device__ void draw(int n, const Logit& logit, const Id& id, const SamplingParams& params, SearchState state, int t,
                     int b, int batch, WalkShared& shared) {
  const double first = logit(0);
  const auto weight = [&](int i) { return exp((static_cast<double>(logit(i)) - first) / params.temperature); };
  int kept = n;
  double kept_total = 0.0;
  if (params.top_p > 0.0f) {
    double total = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) total += weight(i);
    total = block_sum(total, shared.scratch);
    kept = walk(n, weight, [&](double sum) { return sum / total >= params.top_p; }, shared, kept_total) + 1;
  } else {
    walk(n, weight, [](double) { return false; }, shared, kept_total);
  }
  const double u = random_unit(params.seed, stream_of(Tensor::SamplingDraw), static_cast<uint64_t>(t) * batch + b);
  double unused = 0.0;
  const int pick = walk(kept, weight, [&](double sum) { return sum > u * kept_total; }, shared, unused);
  if (threadIdx.x == 0) {
    const int token = id(pick);
    state.cum_log_probs[b] = static_cast<float>(state.cum_log_probs[b] + log(weight(pick) / kept_total));
    state.ids[b] = token;
    state.finished[b] = token == params.end_id;
    state.lengths[b] += 1;
    state.step_ids[static_cast<size_t>(t) * batch + b] = token;
    state.parent_ids[static_cast<size_t>(t) * batch + b] = 0;
  }
}

// A finished row emits end_id and keeps its cum and length. Returns whether the row was finished.
__device__ bool emit_if_finished(const SamplingParams& params, SearchState state, int t, int b, int batch) {
  if (!state.finished[b]) return false;
  if (threadIdx.x == 0) {
    state.ids[b] = params.end_id;
    state.step_ids[static_cast<size_t>(t) * batch + b] = params.end_id;
    state.parent_ids[static_cast<size_t>(t) * batch + b] = 0;
  }
  return true;
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    sample_top_k_kernel(const T* logits, int ld, SamplingParams params, SearchState state, const int* step) {
  __shared__ SelectShared select;
  __shared__ WalkShared walk_shared;
  __shared__ uint64_t keys[kThreads];
  __shared__ int found;
  const int b = blockIdx.x, batch = gridDim.x, t = *step;
  if (emit_if_finished(params, state, t, b, batch)) return;
  const T* row = logits + static_cast<size_t>(b) * ld;
  const auto key = [&](int v) { return ranked_key(to_float(row[v]), v); };
  const uint64_t threshold = block_select(params.vocab, params.top_k - 1, key, select);
  int padded = 1;
  while (padded < params.top_k) padded <<= 1;
  if (threadIdx.x == 0) found = 0;
  for (int i = params.top_k + threadIdx.x; i < padded; i += blockDim.x) keys[i] = 0;  // below every real key
  __syncthreads();
  for (int v = threadIdx.x; v < params.vocab; v += blockDim.x) {
    const uint64_t k = key(v);
    if (k >= threshold) keys[atomicAdd(&found, 1)] = k;
  }
  __syncthreads();
  block_sort_descending(keys, padded);
  draw(params.top_k, [&](int i) { return key_score(keys[i]); }, [&](int i) { return key_id(keys[i]); }, params, state,
       t, b, batch, walk_shared);
}

__global__ void __launch_bounds__(kThreads)
    sample_sorted_kernel(const float* sorted_logits, const int* sorted_ids, SamplingParams params, SearchState state,
                         const int* step) {
  __shared__ WalkShared walk_shared;
  const int b = blockIdx.x, batch = gridDim.x, t = *step;
  if (emit_if_finished(params, state, t, b, batch)) return;
  const float* logit = sorted_logits + static_cast<size_t>(b) * params.vocab;
  const int* id = sorted_ids + static_cast<size_t>(b) * params.vocab;
  const int n = params.top_k > 0 ? params.top_k : params.vocab;
  draw(n, [&](int i) { return logit[i]; }, [&](int i) { return id[i]; }, params, state, t, b, batch, walk_shared);
}

template <typename T>
__global__ void sampling_keys_kernel(const T* logits, int ld, int rows, int vocab, float* keys, int* ids) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<size_t>(rows) * vocab) return;
  const size_t r = i / vocab;
  const int v = static_cast<int>(i % vocab);
  keys[i] = to_float(logits[r * ld + v]);
  ids[i] = v;
}

}  // namespace

void sample_top_k(DType dtype, const void* logits, int ld, int batch, const SamplingParams& params,
                  const SearchState& state, const int* step, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    sample_top_k_kernel<T><<<batch, kThreads, 0, stream>>>(static_cast<const T*>(logits), ld, params, state, step);
  });
  check_launch("topk_sampling");
}

void sampling_keys(DType dtype, const void* logits, int ld, int rows, int vocab, float* keys, int* ids,
                   cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t count = static_cast<size_t>(rows) * vocab;
    sampling_keys_kernel<T><<<blocks_for(count, 256), 256, 0, stream>>>(static_cast<const T*>(logits), ld, rows,
                                                                         vocab, keys, ids);
  });
  check_launch("sampling_keys");
}

void sample_sorted(const float* sorted_logits, const int* sorted_ids, int batch, const SamplingParams& params,
                   const SearchState& state, const int* step, cudaStream_t stream) {
  sample_sorted_kernel<<<batch, kThreads, 0, stream>>>(sorted_logits, sorted_ids, params, state, step);
  check_launch("sorted_sampling");
}

}  // namespace ftb::cuda
