// The GEMM layer: the only code that calls cuBLAS/cuBLASLt (gemm_lt.cc). This header is cuBLAS-free
// so kernels and models compile without it.
//
// Conventions are row-major, as in the rest of the engine:
//   C[m, n] = alpha · op(A)[m, k] · op(B)[k, n]  (+ bias[n])  (then GELU, tanh form, or ReLU)
// with op(A) = A ([m, k], lda) or Aᵀ (A stored [k, m]), op(B) = B ([k, n], ldb) or Bᵀ (B stored [n, k]),
// batched with element strides between consecutive matrices. Accumulation is fp32 for every type;
// fp32 storage uses pure fp32 math unless `tf32` is set.
//
// A Gemm is planned once (descriptors and algorithm chosen up front, so running it allocates
// nothing and can be captured in a CUDA graph) and then run many times. The algorithm choice lives
// in one place (select_algorithm in gemm_lt.cc): cuBLASLt's heuristic today, autotuning later.
#pragma once
#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "cuda/dtype.h"

namespace ftb::cuda {

enum class Epilogue { None, Bias, BiasGelu, BiasRelu };

const char* to_string(Epilogue epilogue);

struct GemmSpec {
  std::string role;  // what the GEMM computes in the model: "qkv", "ffn1", "attn_scores", ...
  DType dtype = DType::F32;  // A, B, C and bias storage
  bool tf32 = false;         // fp32 storage only: TF32 tensor cores
  int m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  int lda = 0, ldb = 0, ldc = 0;  // row-major leading dimensions, in elements
  int batch = 1;
  long long stride_a = 0, stride_b = 0, stride_c = 0;  // elements between batched matrices
  Epilogue epilogue = Epilogue::None;
  int alignment = 256;  // bytes every A/B/C/bias pointer passed to run() is aligned to
};

// What was planned, for the results file (and, later, the autotuner's table).
struct GemmRecord {
  std::string role;
  int m = 0, n = 0, k = 0, batch = 1;
  std::string dtype;      // "f16", "f32", "f32/tf32", ...
  std::string epilogue;   // "none", "bias", "bias_gelu", "bias_relu"
  std::string algorithm;  // cuBLASLt algorithm id, tile, stages, split-k, swizzle, workspace
  std::string summary() const;
};

class Gemm {
 public:
  Gemm();  // not planned yet: run() throws until a planned Gemm is assigned
  Gemm(Gemm&&) noexcept;
  Gemm& operator=(Gemm&&) noexcept;
  ~Gemm();

  // `bias` (n values of the storage type) is read only by the bias epilogues.
  void run(const void* a, const void* b, void* c, const void* bias, float alpha, cudaStream_t stream) const;
  const GemmRecord& record() const;

  struct Plan;  // descriptors and algorithm, defined in gemm_lt.cc

 private:
  friend class GemmEngine;
  explicit Gemm(std::unique_ptr<Plan> plan);
  std::unique_ptr<Plan> plan_;
};

// One cuBLASLt handle and its 32 MiB workspace on the current device, shared by every Gemm it plans
// (all run on the backend's one stream, so they never use the workspace at the same time).
class GemmEngine {
 public:
  GemmEngine();
  ~GemmEngine();
  GemmEngine(const GemmEngine&) = delete;
  GemmEngine& operator=(const GemmEngine&) = delete;

  // Plans `spec`; throws EngineError naming the role when cuBLASLt has no algorithm for it.
  Gemm plan(const GemmSpec& spec);
  // "cuBLASLt 13.0.2" style version of the library actually loaded.
  std::string library_version() const;

  static constexpr size_t kWorkspaceBytes = 32u << 20;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ftb::cuda
