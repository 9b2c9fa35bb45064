// The cuBLASLt side of the GEMM layer, shared by gemm_lt.cc (planning, running) and gemm_tuner.cc
// (autotuning). Only files of this folder include it: they are the engine's only cuBLAS users.
#pragma once
#include <cublasLt.h>

#include <string>
#include <utility>
#include <vector>

#include "cuda/buffer.h"
#include "cuda/gemm/gemm.h"

namespace ftb::cuda {

void check_cublas(cublasStatus_t status, const std::string& stage);

// One attribute of `algo`, read with cuBLASLt's getter of its kind (configuration or capability).
template <typename T, typename Attribute>
T algo_attribute(cublasStatus_t (*get)(const cublasLtMatmulAlgo_t*, Attribute, void*, size_t, size_t*),
                 const cublasLtMatmulAlgo_t& algo, Attribute attribute) {
  T value{};
  size_t written = 0;
  get(&algo, attribute, &value, sizeof(value), &written);
  return value;
}

// The skinny kernel timed against a plan's cuBLASLt algorithm on the tuner's random data.
struct SkinnyTiming {
  double skinny_ms = 0, cublaslt_ms = 0;  // medians, each order of the pair timed once
  double rel_err = 0, tolerance = 0;      // the skinny output against cuBLASLt's, relative L2
  bool faster = false;                    // within tolerance and more than 3 % faster in both orders
};

struct GemmEngine::Impl {
  cublasLtHandle_t handle = nullptr;
  DeviceBuffer workspace;
  std::vector<GemmTuned> table;
  GemmTuning tuning;
  std::vector<GemmChoice> benched;  // shapes timed under tuning.bench, with their times
  std::vector<std::pair<GemmShape, SkinnyTiming>> skinny_timed;  // shapes the skinny kernel was timed on

  Impl();
  ~Impl();
  const GemmTuned* find(const GemmShape& shape) const;
};

struct Gemm::Plan {
  std::shared_ptr<GemmEngine::Impl> engine;
  GemmSpec spec;
  GemmChoice choice;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;  // cuBLASLt's A (our B), B (our A), C/D
  cublasLtMatmulAlgo_t algo{};
  bool skinny = false;  // run() launches the skinny kernel (kernels/skinny_gemm.h), not `algo`

  ~Plan();
  // C = alpha · op(A)·op(B) (+ epilogue) with `algorithm` instead of the planned one (the tuner's candidates).
  // An fp8 plan also takes the device scale vectors of A and B (our A and B: gemm.h's conventions).
  void run_with(const cublasLtMatmulAlgo_t& algorithm, const void* a_data, const void* b_data, void* c_data,
                const void* bias, float alpha, cudaStream_t stream, const float* a_scales = nullptr,
                const float* b_scales = nullptr) const;
};

// cuBLASLt's ranked algorithms for `plan` (at most `count`) that fit the workspace and alignment.
std::vector<cublasLtMatmulHeuristicResult_t> heuristic_algorithms(const Gemm::Plan& plan, int count,
                                                                  const std::string& stage);
// The configuration of `algo` as recorded (workspace: what it needs).
GemmAlgo algo_config(const cublasLtMatmulAlgo_t& algo, size_t workspace);
// Sets `config` on an algorithm initialised for `plan`'s types and checks it against `plan`; false
// (with cuBLASLt's reason) when it cannot run there or needs more than the workspace.
bool build_algo(const Gemm::Plan& plan, const GemmAlgo& config, cublasLtMatmulAlgo_t* algo, size_t* workspace,
                std::string* reason);
// cublasLtMatmulAlgoInit for `plan`'s types; false when the id does not apply to them.
bool init_algo(const Gemm::Plan& plan, int id, cublasLtMatmulAlgo_t* algo);
// Every algorithm id cuBLASLt has for `plan`'s types.
std::vector<int> algorithm_ids(const Gemm::Plan& plan);

// Times the skinny kernel against `plan`'s cuBLASLt algorithm (gemm_tuner.cc).
SkinnyTiming time_skinny(const Gemm::Plan& plan);

// Times candidates for `plan` and returns the table entry (gemm_tuner.cc).
GemmTuned tune(const Gemm::Plan& plan);
// Medians of `plan`'s algorithm and of the heuristic's, interleaved over 5 × `samples` rounds; one timing
// for both when the plan runs the heuristic's own algorithm (gemm_tuner.cc).
std::pair<double, double> time_against_heuristic(const Gemm::Plan& plan, int samples);

}  // namespace ftb::cuda
