// Standalone correctness and timing check of the fused beam top-k (beam_topk in
// src/cuda/kernels/beam_search.h; beam <= 8 takes beam_topk_lists.cu's one-pass lists), runnable on a
// GPU machine without Node or cuBLAS. Each case fills [rows, vocab] logits (ld padded to 8), cum
// log-probs (sentence 0 as at step 0: beams past the first at -inf) and finished flags (every 7th row),
// runs beam_topk and compares each sentence's ranked best `beam` (score bits and j·vocab + v) with a
// host reference: every candidate's score fp32(cum + (l - lse)), ranked by (score, then lower id) as
// native/MODEL.md says, with lse the row's log Σ exp from the device's chunk statistics; a finished row
// offers (end_id, cum) alone. It checks that lse against the host's fp64 max + log Σ exp(l - max) over
// the row (relative 1e-12 at fp32, 1e-6 at fp16 / bf16, whose terms are fp32), and counts the lists the certificate sends to an exact rescan (the host
// replays it), so that the cases built for ties show that path ran and stayed exact:
// - "ties": logits on a grid of 1/4 (most values repeated many times);
// - "rounding": cum -3000 (fp32 ulp 2.4e-4) and a row's 24 best logits (20 + 1e-5·k) rising with the
//   id, so that their scores tie and the reference takes the lowest ids, which rank last by logit.
// Timing: CUDA events around 20 back-to-back beam_topk calls, hot L2, median of 30, µs per call. The
// "forced chunks" cases time chunk counts other than beam_topk_chunks's (its cap is the thing they test).
// Exits 1 on any difference or CUDA error.
//
// Build and run from the repository root:
//   nvcc -std=c++17 -O3 --expt-relaxed-constexpr -arch=sm_90 -Inative/src -o /tmp/beam_topk_bench \
//     native/bench/beam_topk_bench.cu native/src/cuda/kernels/beam_search.cu \
//     native/src/cuda/kernels/beam_topk_lists.cu native/src/cuda/check.cc && /tmp/beam_topk_bench
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "bench_check.h"
#include "bench_tensor.h"
#include "cuda/kernels/beam_search.h"

namespace {

enum class Fill { Random, Ties, Rounding };

struct Case {
  const char* name;
  int batch, beam, vocab;
  Fill fill;
  int chunks = 0;  // 0: beam_topk_chunks's choice (the engine's); else a forced count, to time others
};

template <typename T>
T* device_copy(const std::vector<T>& host) {
  T* dev;
  cuda_ok(cudaMalloc(&dev, std::max<size_t>(1, host.size()) * sizeof(T)), "cudaMalloc");
  cuda_ok(cudaMemcpy(dev, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), "upload");
  return dev;
}

template <typename T>
std::vector<T> host_copy(const T* dev, size_t n) {
  std::vector<T> host(n);
  cuda_ok(cudaMemcpy(host.data(), dev, n * sizeof(T), cudaMemcpyDeviceToHost), "download");
  return host;
}

// Ranked key as the device's (topk.cuh): larger first, ties to the lower id.
uint64_t ranked_key(float score, int id) {
  uint32_t bits;
  std::memcpy(&bits, &score, 4);
  const uint32_t ordered = (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
  return (static_cast<uint64_t>(ordered) << 32) | (0xFFFFFFFFu - static_cast<uint32_t>(id));
}

float score_of(float cum, float logit, double lse) { return static_cast<float>(cum + (static_cast<double>(logit) - lse)); }

bool run_case(const Storage& st, const Case& cs) {
  const int rows = cs.batch * cs.beam, vocab = cs.vocab, ld = (vocab + 7) / 8 * 8, end_id = 2;
  std::mt19937 rng(4321u + static_cast<unsigned>(rows * 7 + vocab));
  std::normal_distribution<float> normal(0.0f, 3.0f);
  Tensor logits(st, static_cast<size_t>(rows) * ld);
  std::vector<float> l(static_cast<size_t>(rows) * ld, 0.0f), cum(rows);
  std::vector<int> finished(rows);
  for (int r = 0; r < rows; ++r) {
    for (int v = 0; v < vocab; ++v) {
      float x = normal(rng);
      if (cs.fill == Fill::Ties) x = std::round(x * 4.0f) / 4.0f;
      if (cs.fill == Fill::Rounding && v >= 100 && v < 124) x = 20.0f + 1e-5f * static_cast<float>(v - 100);
      const size_t i = static_cast<size_t>(r) * ld + v;
      l[i] = static_cast<float>(store(st, logits.host.data() + i * st.size, x));
    }
    cum[r] = cs.fill == Fill::Rounding ? -3000.0f : -20.0f * std::uniform_real_distribution<float>(0, 1)(rng);
    if (r < cs.beam && r > 0) cum[r] = -INFINITY;
    finished[r] = r % 7 == 3;
  }
  cuda_ok(cudaMemcpy(logits.dev, logits.host.data(), logits.host.size(), cudaMemcpyHostToDevice), "upload");
  ftb::cuda::SearchState state{};
  state.cum_log_probs = device_copy(cum);
  state.finished = device_copy(finished);
  const int chunks = cs.chunks > 0 ? cs.chunks : ftb::cuda::beam_topk_chunks(vocab, rows, cs.beam);
  const int slots = ftb::cuda::beam_topk_slots(cs.beam);
  const ftb::cuda::CandidateLayout layout = ftb::cuda::beam_topk_layout(chunks, cs.beam);
  float *chunk_max, *scores;
  double* chunk_sum;
  int* ids;
  const size_t lists = static_cast<size_t>(rows) * chunks;
  cuda_ok(cudaMalloc(&chunk_max, lists * sizeof(float)), "cudaMalloc");
  cuda_ok(cudaMalloc(&chunk_sum, lists * sizeof(double)), "cudaMalloc");
  cuda_ok(cudaMalloc(&scores, lists * slots * sizeof(float)), "cudaMalloc");
  cuda_ok(cudaMalloc(&ids, lists * slots * sizeof(int)), "cudaMalloc");
  const auto launch = [&] {
    ftb::cuda::beam_topk(st.dtype, logits.dev, ld, rows, vocab, cs.beam, end_id, state, chunks, chunk_max, chunk_sum,
                         scores, ids, nullptr);
  };
  launch();
  cuda_ok(cudaDeviceSynchronize(), "beam_topk");
  const std::vector<float> got_scores = host_copy(scores, lists * slots);
  const std::vector<int> got_ids = host_copy(ids, lists * slots);
  const std::vector<float> got_max = host_copy(chunk_max, lists);
  const std::vector<double> got_sum = host_copy(chunk_sum, lists);

  // Host lse per row against the device's from its chunk statistics; the ranking below scores with the
  // device's, so that it checks the selection exactly whatever the statistics' own error.
  std::vector<double> lse(rows);
  double worst_lse = 0.0;
  for (int r = 0; r < rows; ++r) {
    const float* row = &l[static_cast<size_t>(r) * ld];
    const double max = *std::max_element(row, row + vocab);
    double total = 0.0;
    for (int v = 0; v < vocab; ++v) total += std::exp(row[v] - max);
    lse[r] = max + std::log(total);
    if (finished[r]) continue;
    double device_max = -INFINITY, device_total = 0.0;
    for (int c = 0; c < chunks; ++c) device_max = std::max(device_max, static_cast<double>(got_max[r * chunks + c]));
    for (int c = 0; c < chunks; ++c) device_total += got_sum[r * chunks + c] * std::exp(got_max[r * chunks + c] - device_max);
    const double device_lse = device_max + std::log(device_total);
    worst_lse = std::max(worst_lse, std::fabs(device_lse - lse[r]) / std::fabs(lse[r]));
    lse[r] = device_lse;
  }
  // fp32 logits: fp64 terms; 16-bit logits: fp32 terms (beam_topk_lists.cu, FastTerms).
  bool ok = worst_lse <= (st.size == 4 ? 1e-12 : 1e-6);
  // The reference's best `beam` per sentence, the device's ranked ones, and the certificate replayed.
  const int align = 16 / static_cast<int>(st.size), K = slots;
  const int len = ((vocab + chunks - 1) / chunks + align - 1) / align * align;
  int rescans = 0, wrong = 0;
  for (int b = 0; b < cs.batch; ++b) {
    std::vector<uint64_t> keys;
    for (int j = 0; j < cs.beam; ++j) {
      const int r = b * cs.beam + j;
      if (finished[r]) {
        keys.push_back(ranked_key(cum[r], j * vocab + end_id));
        continue;
      }
      for (int v = 0; v < vocab; ++v) keys.push_back(ranked_key(score_of(cum[r], l[static_cast<size_t>(r) * ld + v], lse[r]), j * vocab + v));
    }
    std::partial_sort(keys.begin(), keys.begin() + cs.beam, keys.end(), std::greater<uint64_t>());
    for (int k = 0; k < cs.beam; ++k) {
      const size_t at = static_cast<size_t>(b) * layout.stride + k;
      if (ranked_key(got_scores[at], got_ids[at]) != keys[k]) ++wrong;
    }
    uint32_t ordered = static_cast<uint32_t>(keys[cs.beam - 1] >> 32);
    ordered = (ordered & 0x80000000u) != 0 ? ordered & 0x7FFFFFFFu : ~ordered;
    float threshold;
    std::memcpy(&threshold, &ordered, 4);
    for (int j = 0; j < cs.beam; ++j) {
      const int r = b * cs.beam + j;
      for (int c = 0; c < chunks && !finished[r]; ++c) {
        const int begin = std::min(vocab, c * len), end = std::min(vocab, begin + len);
        if (end - begin <= K) continue;
        std::vector<uint64_t> by_logit;
        for (int v = begin; v < end; ++v) by_logit.push_back(ranked_key(l[static_cast<size_t>(r) * ld + v], v));
        std::nth_element(by_logit.begin(), by_logit.begin() + (K - 1), by_logit.end(), std::greater<uint64_t>());
        const int v = static_cast<int>(0xFFFFFFFFu - static_cast<uint32_t>(by_logit[K - 1]));
        rescans += score_of(cum[r], l[static_cast<size_t>(r) * ld + v], lse[r]) >= threshold;
      }
    }
  }
  ok = ok && wrong == 0;
  const double us = back_to_back_us(launch);
  std::printf("%-5s %-36s chunks %3d slots %2d  %8.2f us  lse rel %.1e  rescanned lists %4d  wrong %d%s\n", st.name,
              cs.name, chunks, slots, us, worst_lse, rescans, wrong, ok ? "" : "  FAIL");
  cudaFree(state.cum_log_probs);
  cudaFree(state.finished);
  cudaFree(chunk_max);
  cudaFree(chunk_sum);
  cudaFree(scores);
  cudaFree(ids);
  return ok;
}

}  // namespace

int main() {
  cudaDeviceProp prop;
  cuda_ok(cudaGetDeviceProperties(&prop, 0), "properties");
  std::printf("%s; beam_topk (both kernels), µs per call\n", prop.name);
  const Storage f16{DType::F16, 2, "fp16", 0}, bf16{DType::BF16, 2, "bf16", 0}, f32{DType::F32, 4, "fp32", 0};
  bool ok = true;
  ok = run_case(f16, {"b128 beam4 vocab 31538", 128, 4, 31538, Fill::Random}) && ok;
  for (const int chunks : {4, 8, 16}) {
    ok = run_case(f16, {"b128 beam4 vocab 31538 (forced chunks)", 128, 4, 31538, Fill::Random, chunks}) && ok;
  }
  ok = run_case(bf16, {"b128 beam4 vocab 31538", 128, 4, 31538, Fill::Random}) && ok;
  ok = run_case(f16, {"b32 beam4 vocab 31538", 32, 4, 31538, Fill::Random}) && ok;
  ok = run_case(f16, {"b8 beam4 vocab 31538", 8, 4, 31538, Fill::Random}) && ok;
  ok = run_case(f16, {"b8 beam4 vocab 31538 (forced chunks)", 8, 4, 31538, Fill::Random, 32}) && ok;
  ok = run_case(f16, {"b1 beam1 vocab 31538", 1, 1, 31538, Fill::Random}) && ok;
  ok = run_case(f32, {"b8 beam4 vocab 31538", 8, 4, 31538, Fill::Random}) && ok;
  ok = run_case(f32, {"b3 beam8 vocab 3001", 3, 8, 3001, Fill::Random}) && ok;
  ok = run_case(f32, {"b5 beam3 vocab 53", 5, 3, 53, Fill::Random}) && ok;
  ok = run_case(f16, {"b32 beam4 vocab 31538 ties", 32, 4, 31538, Fill::Ties}) && ok;
  ok = run_case(f32, {"b4 beam2 vocab 48 ties", 4, 2, 48, Fill::Ties}) && ok;
  ok = run_case(f32, {"b2 beam4 vocab 3001 rounding", 2, 4, 3001, Fill::Rounding}) && ok;
  ok = run_case(f32, {"b2 beam8 vocab 31538 rounding", 2, 8, 31538, Fill::Rounding}) && ok;
  std::printf(ok ? "all checks passed\n" : "FAILED\n");
  return ok ? 0 : 1;
}
