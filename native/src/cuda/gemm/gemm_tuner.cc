// Autotuning one GEMM shape with cuBLASLt (GemmEngine::plan with tuning on): FasterTransformer's
// gemm_config.in, done with cuBLASLt's own search space.
//
// Candidates, in the order they are kept, up to GemmTuning::max_candidates (48 by default):
//   1. cuBLASLt's heuristic results (up to 8), in its ranking. The first is "the heuristic": the
//      algorithm an untuned run uses, and the baseline every candidate is checked and timed against.
//   2. The expansion of cublasLtMatmulAlgoGetIds by each algorithm's capabilities: split-K (1, or 2,
//      4, 8, 16, 32 with each reduction scheme it supports) × tiles × stages × CTA swizzle (0/1 where
//      supported) × custom options (0..max) × cluster shapes (auto, plus those the heuristic chose for
//      that id). Each id's space is visited with a stride coprime to its size, so a cap samples all
//      of it rather than its first tile; a configuration is kept when cublasLtMatmulAlgoCheck accepts
//      it within the 32 MiB workspace (at most kChecksPerId checks per id). Ids take turns, one
//      configuration each, until the cap.
// Every candidate is rebuilt from its recorded configuration (build_algo), as a run that loads the
// cache rebuilds it: what is timed is what will run. The heuristic itself is cuBLASLt's own result.
// Each candidate: its output compared with the heuristic's (relative L2 within the storage type's
// tolerance, else rejected and reported); 3 warm-up runs; `samples` runs timed each with CUDA events,
// the L2 flushed before each when A, B and C fit in it; the median. The timed runs are replayed from
// a CUDA graph, so that cuBLASLt's host time per call (several µs, as long as the smallest GEMMs)
// never lands between the events. The fastest is then timed again against the heuristic,
// interleaved, over kConfirmFactor times as many rounds, once in each order: unless it is more than
// 3 % faster in both, the heuristic is kept. 3 %, not 1 %: on the H200 an algorithm that had
// confirmed 1.1-1.6 % faster re-measured 1.3-2.5 % slower in another process (10-40 µs GEMMs), and
// a tuned algorithm must never run more than 1 % slower than the heuristic it replaces.
#include <algorithm>
#include <cstring>
#include <functional>
#include <numeric>
#include <optional>
#include <sstream>

#include "cuda/check.h"
#include "cuda/gemm/gemm_lt.h"
#include "cuda/kernels/compare.h"
#include "cuda/kernels/fill.h"
#include "cuda/kernels/skinny_gemm.h"
#include "cuda/utils/fp8_random.h"
#include "cuda/utils/graph.h"
#include "engine/backend.h"

namespace ftb::cuda {
namespace {

constexpr int kHeuristicCandidates = 8;
constexpr int kWarmups = 3;
constexpr int kChecksPerId = 64;
constexpr int kConfirmFactor = 5;                // rounds of a confirmation (or a suite timing) per sample
constexpr double kWinnerMargin = 0.97;           // confirmed time ratio tuned / heuristic a winner must beat
constexpr int kSkinnyRounds = 50;                // rounds of each order when the skinny kernel is timed

// Outputs may differ by summation order (split-K, other tiles), never by more than this.
double tolerance(const GemmShape& shape) {
  if (shape.dtype == "f32") return 1e-5;
  // TF32 math lets cuBLASLt pick fp32 kernels too: two valid algorithms then differ by TF32's rounding
  // of the inputs (~3e-4 relative), not only by summation order.
  if (shape.dtype == "f32/tf32") return 1e-3;
  // fp8: E4M3 inputs are exact, accumulation fp32 and the output fp16, so two algorithms differ
  // as two f16 ones do (summation order, then one fp16 rounding).
  if (shape.dtype == "f16" || shape.dtype == "e4m3/f16") return 5e-3;
  return 2e-2;  // bf16
}

std::string to_text(const GemmAlgo& a) {
  std::ostringstream text;
  text << "algo " << a.id << " tile " << a.tile << " stages " << a.stages << " splitk " << a.splitk << " reduction "
       << a.reduction << " swizzle " << a.swizzle << " custom " << a.custom << " inner " << a.inner << " cluster "
       << a.cluster;
  return text.str();
}

struct Candidate {
  cublasLtMatmulAlgo_t algo{};
  GemmAlgo config;
};

template <typename T>
T capability(const cublasLtMatmulAlgo_t& algo, cublasLtMatmulAlgoCapAttributes_t attribute) {
  return algo_attribute<T>(cublasLtMatmulAlgoCapGetAttribute, algo, attribute);
}

std::vector<uint32_t> capability_list(const cublasLtMatmulAlgo_t& algo, cublasLtMatmulAlgoCapAttributes_t attribute) {
  size_t bytes = 0;
  cublasLtMatmulAlgoCapGetAttribute(&algo, attribute, nullptr, 0, &bytes);
  std::vector<uint32_t> values(bytes / sizeof(uint32_t));
  if (!values.empty()) cublasLtMatmulAlgoCapGetAttribute(&algo, attribute, values.data(), bytes, &bytes);
  if (values.empty()) values.push_back(0);  // undefined: the algorithm picks
  return values;
}

// One algorithm id's configurations, visited in a strided order (see the file comment).
class IdSpace {
 public:
  IdSpace(const Gemm::Plan& plan, const cublasLtMatmulAlgo_t& base, int id, const std::vector<int>& clusters)
      : plan_(plan), base_(base), id_(id) {
    tiles_ = capability_list(base, CUBLASLT_ALGO_CAP_TILE_IDS);
    stages_ = capability_list(base, CUBLASLT_ALGO_CAP_STAGES_IDS);
    splits_.push_back({1, CUBLASLT_REDUCTION_SCHEME_NONE});
    if (capability<int32_t>(base, CUBLASLT_ALGO_CAP_SPLITK_SUPPORT) != 0) {
      const uint32_t mask = capability<uint32_t>(base, CUBLASLT_ALGO_CAP_REDUCTION_SCHEME_MASK);
      for (int splitk : {2, 4, 8, 16, 32}) {
        for (uint32_t scheme : {CUBLASLT_REDUCTION_SCHEME_INPLACE, CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE,
                                CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE}) {
          if ((mask & scheme) != 0) splits_.push_back({splitk, static_cast<int>(scheme)});
        }
      }
    }
    swizzles_ = capability<uint32_t>(base, CUBLASLT_ALGO_CAP_CTA_SWIZZLING_SUPPORT) != 0 ? 2 : 1;
    customs_ = std::max(0, capability<int32_t>(base, CUBLASLT_ALGO_CAP_CUSTOM_OPTION_MAX)) + 1;
    clusters_ = clusters;
    size_ = splits_.size() * tiles_.size() * stages_.size() * swizzles_ * customs_ * clusters_.size();
    for (size_t prime : {7919u, 6007u, 4099u, 2053u, 1031u, 521u, 257u, 131u, 67u, 37u, 17u, 7u, 1u}) {
      if (std::gcd(prime, size_) == 1) {
        stride_ = prime;
        break;
      }
    }
  }

  // The next configuration cublasLtMatmulAlgoCheck accepts, or none once the space or the checks run out.
  std::optional<Candidate> next() {
    while (visited_ < size_ && checks_ < kChecksPerId) {
      size_t index = (visited_++ * stride_) % size_;
      GemmAlgo config;
      config.id = id_;
      config.cluster = clusters_[index % clusters_.size()];
      index /= clusters_.size();
      config.custom = static_cast<int>(index % customs_);
      index /= customs_;
      config.swizzle = static_cast<int>(index % swizzles_);
      index /= swizzles_;
      config.stages = static_cast<int>(stages_[index % stages_.size()]);
      index /= stages_.size();
      config.tile = static_cast<int>(tiles_[index % tiles_.size()]);
      index /= tiles_.size();
      config.splitk = splits_[index].first;
      config.reduction = splits_[index].second;
      ++checks_;
      Candidate candidate;
      size_t workspace = 0;
      std::string reason;
      if (build_algo(plan_, config, &candidate.algo, &workspace, &reason)) {
        candidate.config = algo_config(candidate.algo, workspace);
        return candidate;
      }
    }
    return std::nullopt;
  }

 private:
  const Gemm::Plan& plan_;
  cublasLtMatmulAlgo_t base_;
  int id_;
  std::vector<uint32_t> tiles_, stages_;
  std::vector<std::pair<int, int>> splits_;
  size_t swizzles_ = 1, customs_ = 1;
  std::vector<int> clusters_;
  size_t size_ = 1, stride_ = 1, visited_ = 0;
  int checks_ = 0;
};

std::vector<Candidate> candidates(const Gemm::Plan& plan, int cap, const std::string& stage) {
  std::vector<Candidate> kept;
  const auto known = [&](const GemmAlgo& config) {
    return std::any_of(kept.begin(), kept.end(), [&](const Candidate& c) { return c.config == config; });
  };
  for (const cublasLtMatmulHeuristicResult_t& result : heuristic_algorithms(plan, kHeuristicCandidates, stage)) {
    Candidate candidate;
    size_t workspace = 0;
    std::string reason;
    if (!build_algo(plan, algo_config(result.algo, result.workspaceSize), &candidate.algo, &workspace, &reason)) continue;
    candidate.config = algo_config(candidate.algo, workspace);
    if (static_cast<int>(kept.size()) < cap && !known(candidate.config)) kept.push_back(candidate);
  }
  std::vector<IdSpace> spaces;
  for (int id : algorithm_ids(plan)) {
    cublasLtMatmulAlgo_t base{};
    if (!init_algo(plan, id, &base)) continue;
    std::vector<int> clusters = {0};
    for (const Candidate& c : kept) {
      if (c.config.id == id && std::find(clusters.begin(), clusters.end(), c.config.cluster) == clusters.end()) {
        clusters.push_back(c.config.cluster);
      }
    }
    spaces.emplace_back(plan, base, id, clusters);
  }
  for (bool progress = true; progress && static_cast<int>(kept.size()) < cap;) {
    progress = false;
    for (IdSpace& space : spaces) {
      if (static_cast<int>(kept.size()) >= cap) break;
      while (std::optional<Candidate> candidate = space.next()) {
        if (known(candidate->config)) continue;
        kept.push_back(*candidate);
        progress = true;
        break;
      }
    }
  }
  return kept;
}

// Elements a batched operand spans: the last matrix's start plus one matrix of `rows` rows of `ld`.
size_t span(int batch, long long stride, int rows, int ld) {
  return static_cast<size_t>(batch - 1) * static_cast<size_t>(stride) + static_cast<size_t>(rows) * ld;
}

// The tuner's device state: random inputs, the heuristic's output, a candidate's output, timing.
class Bench {
 public:
  explicit Bench(const Gemm::Plan& plan) : plan_(plan) {
    const GemmSpec& s = plan.spec;
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "creating the tuner's stream");
    const size_t size = dtype_size(s.dtype);
    const size_t input_size = s.fp8 ? 1 : size;  // E4M3 A and B
    const size_t a_count = span(s.batch, s.stride_a, s.trans_a ? s.k : s.m, s.lda);
    const size_t b_count = span(s.batch, s.stride_b, s.trans_b ? s.n : s.k, s.ldb);
    c_count_ = span(s.batch, s.stride_c, s.m, s.ldc);
    a_ = DeviceBuffer(a_count * input_size, "tuner A", DeviceBuffer::Owner::Harness);
    b_ = DeviceBuffer(b_count * input_size, "tuner B", DeviceBuffer::Owner::Harness);
    bias_ = DeviceBuffer(static_cast<size_t>(s.n) * size, "tuner bias", DeviceBuffer::Owner::Harness);
    expected_ = DeviceBuffer(c_count_ * size, "tuner reference output", DeviceBuffer::Owner::Harness);
    actual_ = DeviceBuffer(c_count_ * size, "tuner candidate output", DeviceBuffer::Owner::Harness);
    // Random data, never zeros: a GEMM of zeros runs faster than real data (METHOD.md).
    const ModelConfig config;
    if (s.fp8) {
      // fp8 plans are batch 1, A [m, lda] and B [n, ldb] (the TN form): a scale per row of each.
      scales_ = DeviceBuffer((b_scales_offset() + s.n) * sizeof(float), "tuner fp8 scales",
                             DeviceBuffer::Owner::Harness);
      fill_random_e4m3(a_.get(), s.m, s.lda, 0, scales_.as<float>(), stream_);
      fill_random_e4m3(b_.get(), s.n, s.ldb, 1, scales_.as<float>() + b_scales_offset(), stream_);
    } else {
      fill_tensor(s.dtype, a_.get(), a_count, config, Tensor::EncoderInput, 0, stream_);
      fill_tensor(s.dtype, b_.get(), b_count, config, Tensor::EncoderInput, 1, stream_);
    }
    fill_tensor(s.dtype, bias_.get(), s.n, config, Tensor::EncoderInput, 2, stream_);
    // Elements between a batch's matrices (strides past ldc) are never written: equal zeros in both.
    check(cudaMemsetAsync(expected_.get(), 0, expected_.bytes(), stream_), "clearing the tuner's outputs");
    check(cudaMemsetAsync(actual_.get(), 0, actual_.bytes(), stream_), "clearing the tuner's outputs");
    int device = 0, l2 = 0;
    check(cudaGetDevice(&device), "reading the device");
    check(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device), "reading the L2 size");
    if ((a_count + b_count + c_count_) * size <= static_cast<size_t>(l2)) {
      flush_ = DeviceBuffer(static_cast<size_t>(l2), "tuner L2 flush", DeviceBuffer::Owner::Harness);
    }
  }
  ~Bench() {
    for (cudaEvent_t event : events_) cudaEventDestroy(event);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;

  // Runs `algo` into the reference output (the heuristic) or the candidate output.
  void run(const cublasLtMatmulAlgo_t& algo, bool into_reference) {
    plan_.run_with(algo, a_.get(), b_.get(), into_reference ? expected_.get() : actual_.get(), bias_.get(), 1.0f,
                   stream_, scale(0), scale(1));
  }
  double error_of_candidate() {
    return relative_l2(plan_.spec.dtype, actual_.get(), expected_.get(), c_count_, stream_);
  }

  // Runs the skinny kernel into the candidate output.
  void run_skinny() { skinny_gemm(plan_.spec, a_.get(), b_.get(), actual_.get(), bias_.get(), 1.0f, stream_); }

  // Median ms of each algorithm over `rounds` rounds, one timed run of each per round, after warm-up.
  std::vector<double> median_ms(const std::vector<const cublasLtMatmulAlgo_t*>& algos, int rounds) {
    std::vector<std::function<void()>> runs;
    for (const cublasLtMatmulAlgo_t* algo : algos) runs.push_back([this, algo] { run(*algo, false); });
    return median_ms_of(runs, rounds);
  }

  // Median ms of each run (into the candidate output) over `rounds` rounds, as above.
  // The rounds run from one captured graph: the GPU goes from run to run without waiting for the host.
  std::vector<double> median_ms_of(const std::vector<std::function<void()>>& runs, int rounds) {
    for (const std::function<void()>& run_once : runs) {
      for (int i = 0; i < kWarmups; ++i) run_once();
    }
    const size_t pairs = runs.size() * static_cast<size_t>(rounds);
    while (events_.size() < 2 * pairs) {
      cudaEvent_t event = nullptr;
      check(cudaEventCreate(&event), "creating the tuner's events");
      events_.push_back(event);
    }
    const auto record = [&](size_t e) {
      check(cudaEventRecordWithFlags(events_[e], stream_, cudaEventRecordExternal), "recording a tuner event");
    };
    CapturedGraph graph;
    graph.capture(stream_, [&] {
      for (size_t pair = 0; pair < pairs; ++pair) {
        if (flush_.get() != nullptr) {
          check(cudaMemsetAsync(flush_.get(), static_cast<int>(pair & 0xff), flush_.bytes(), stream_), "flushing the L2");
        }
        record(2 * pair);
        runs[pair % runs.size()]();
        record(2 * pair + 1);
      }
    });
    graph.launch(stream_);
    check(cudaStreamSynchronize(stream_), "timing gemm " + plan_.spec.role);
    std::vector<double> medians;
    for (size_t a = 0; a < runs.size(); ++a) {
      std::vector<double> times;
      for (size_t pair = a; pair < pairs; pair += runs.size()) {
        float ms = 0;
        check(cudaEventElapsedTime(&ms, events_[2 * pair], events_[2 * pair + 1]), "reading a tuner event");
        times.push_back(ms);
      }
      std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
      medians.push_back(times[times.size() / 2]);
    }
    return medians;
  }

 private:
  const Gemm::Plan& plan_;
  cudaStream_t stream_ = nullptr;
  size_t c_count_ = 0;
  // The scale vector of operand `slot` (0: A, 1: B) of an fp8 plan; null otherwise.
  const float* scale(int slot) const {
    return plan_.spec.fp8 ? scales_.as<float>() + (slot == 0 ? 0 : b_scales_offset()) : nullptr;
  }
  // Where B's scales start: past A's, rounded up to 16 floats, so both vectors are 64-byte aligned as
  // the engine's own (separate buffers) are. Right after A's, at m = 1 (a batch-1 greedy decoder), B's
  // vector sat 4 bytes in, and the heuristic's own algorithm returned CUBLAS_STATUS_NOT_SUPPORTED in
  // the tuner while the engine ran the same GEMMs (H200, cuBLASLt 13.1).
  size_t b_scales_offset() const { return (static_cast<size_t>(plan_.spec.m) + 15) / 16 * 16; }

  DeviceBuffer a_, b_, bias_, expected_, actual_, flush_, scales_;
  std::vector<cudaEvent_t> events_;
};

}  // namespace

GemmTuned tune(const Gemm::Plan& plan) {
  const std::string stage = "tuning gemm " + plan.spec.role;
  const GemmTuning& tuning = plan.engine->tuning;
  GemmTuned entry;
  entry.shape = plan.choice.shape;
  entry.roles = {plan.spec.role};
  const cublasLtMatmulHeuristicResult_t heuristic = heuristic_algorithms(plan, 1, stage).front();
  const std::vector<Candidate> found = candidates(plan, std::max(1, tuning.max_candidates), stage);
  Bench bench(plan);
  bench.run(heuristic.algo, true);
  const double limit = tolerance(entry.shape);
  const Candidate* best = nullptr;
  double best_ms = 0;
  for (const Candidate& candidate : found) {
    double ms = 0;
    try {
      bench.run(candidate.algo, false);
      const double error = bench.error_of_candidate();
      if (!(error <= limit)) {
        std::ostringstream why;
        why << to_text(candidate.config) << ": relative L2 error " << error << " > " << limit;
        entry.rejections.push_back(why.str());
        continue;
      }
      ms = bench.median_ms({&candidate.algo}, tuning.samples).front();
    } catch (const OutOfMemory&) {
      throw;
    } catch (const EngineError& error) {
      entry.rejections.push_back(to_text(candidate.config) + ": " + error.what());
      continue;
    }
    ++entry.tried;
    if (best == nullptr || ms < best_ms) {
      best = &candidate;
      best_ms = ms;
    }
  }
  const int rounds = kConfirmFactor * tuning.samples;
  double heuristic_ms = 0, best_confirmed_ms = 0;
  bool confirmed = false;
  if (best != nullptr) {
    // Each order once: a run's time can depend on which algorithm ran before it.
    const std::vector<double> first = bench.median_ms({&heuristic.algo, &best->algo}, rounds);
    const std::vector<double> second = bench.median_ms({&best->algo, &heuristic.algo}, rounds);
    confirmed = first[1] < kWinnerMargin * first[0] && second[0] < kWinnerMargin * second[1];
    heuristic_ms = (first[0] + second[1]) / 2;
    best_confirmed_ms = (first[1] + second[0]) / 2;
  } else {
    heuristic_ms = bench.median_ms({&heuristic.algo}, rounds).front();
  }
  entry.heuristic_ms = heuristic_ms;
  entry.heuristic_kept = !confirmed;
  entry.algo = entry.heuristic_kept ? algo_config(heuristic.algo, heuristic.workspaceSize) : best->config;
  entry.tuned_ms = entry.heuristic_kept ? heuristic_ms : best_confirmed_ms;
  return entry;
}

std::pair<double, double> time_against_heuristic(const Gemm::Plan& plan, int samples) {
  const cublasLtMatmulAlgo_t heuristic = heuristic_algorithms(plan, 1, "timing gemm " + plan.spec.role).front().algo;
  Bench bench(plan);
  const int rounds = kConfirmFactor * samples;
  if (plan.skinny) {
    const std::vector<double> ms = bench.median_ms_of({[&] { bench.run_skinny(); }, [&] { bench.run(heuristic, false); }}, rounds);
    return {ms[0], ms[1]};
  }
  // The plan runs the heuristic's own algorithm (untuned, or tuning kept it): one timing stands for both.
  if (std::memcmp(&heuristic, &plan.algo, sizeof(heuristic)) == 0) {
    const double ms = bench.median_ms({&plan.algo}, rounds).front();
    return {ms, ms};
  }
  const std::vector<double> ms = bench.median_ms({&plan.algo, &heuristic}, rounds);
  return {ms[0], ms[1]};
}

SkinnyTiming time_skinny(const Gemm::Plan& plan) {
  Bench bench(plan);
  bench.run(plan.algo, true);
  bench.run_skinny();
  SkinnyTiming timing;
  timing.rel_err = bench.error_of_candidate();
  timing.tolerance = tolerance(plan.choice.shape);
  const std::function<void()> lt = [&] { bench.run(plan.algo, false); };
  const std::function<void()> skinny = [&] { bench.run_skinny(); };
  // Each order once, as the tuner confirms a winner.
  const std::vector<double> first = bench.median_ms_of({lt, skinny}, kSkinnyRounds);
  const std::vector<double> second = bench.median_ms_of({skinny, lt}, kSkinnyRounds);
  timing.cublaslt_ms = (first[0] + second[1]) / 2;
  timing.skinny_ms = (first[1] + second[0]) / 2;
  timing.faster = timing.rel_err <= timing.tolerance && first[1] < kWinnerMargin * first[0] &&
                  second[0] < kWinnerMargin * second[1];
  return timing;
}

}  // namespace ftb::cuda
