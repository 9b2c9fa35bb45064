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
// nothing and can be captured in a CUDA graph) and then run many times. The algorithm comes from the
// engine's tuning table (the harness's cache file) when it has the shape, else from tuning the shape
// when tuning is on (gemm_tuner.cc), else from cuBLASLt's heuristic; the Gemm's choice() says which.
// Under FTBENCH_SKINNY=1 a few-row product (m ≤ 128, fp16 or bf16, sm_90) runs ftbench's skinny kernel
// instead where that measures faster on the shape (choice().source "skinny").
// An fp8 GEMM (spec.fp8) reads E4M3 A and B with a scale per row of A and per column of C (per
// token and per output channel: run_scaled, C[i, j] = a_scales[i] · b_scales[j] · Σ A[i, :]·B[j, :] +
// bias[j], fp32 accumulation; cuBLASLt's outer-vector scaling) and writes C of spec.dtype (fp16).
// cuBLASLt's fp8 kernels take only its "TN" form; in our row-major terms that is A [m, k] not
// transposed and B stored [n, k] (trans_b): the weights are quantized into that layout. (cuBLASLt
// 13.1 on the H200 refuses a per-tensor scale on its B operand, our A: NOTES.md, "fp8".)
#pragma once
#include <cuda_runtime.h>

#include <memory>
#include <string>
#include <vector>

#include "cuda/dtype.h"
#include "engine/gemm_choice.h"

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
  bool fp8 = false;     // A and B are E4M3 (run_scaled); C and bias are `dtype`, which is F16
};

// The tuning table's key of `spec`.
GemmShape shape_of(const GemmSpec& spec);

class Gemm {
 public:
  Gemm();  // not planned yet: run() throws until a planned Gemm is assigned
  Gemm(Gemm&&) noexcept;
  Gemm& operator=(Gemm&&) noexcept;
  ~Gemm();

  // `bias` (n values of the storage type) is read only by the bias epilogues.
  void run(const void* a, const void* b, void* c, const void* bias, float alpha, cudaStream_t stream) const;
  // An fp8 GEMM: a_scales [m] and b_scales [n] are device floats that dequantize A's rows and B's.
  void run_scaled(const void* a, const float* a_scales, const void* b, const float* b_scales, void* c,
                  const void* bias, cudaStream_t stream) const;
  const GemmChoice& choice() const;

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
  // The table plan() looks shapes up in, and whether it tunes the shapes the table lacks.
  void set_table(std::vector<GemmTuned> table, const GemmTuning& tuning);
  // The table with the shapes tuned since set_table appended.
  const std::vector<GemmTuned>& table() const;
  // "cuBLASLt 13.0.2" style version of the library actually loaded.
  std::string library_version() const;

  static constexpr size_t kWorkspaceBytes = 32u << 20;

  struct Impl;

 private:
  // Takes the table's algorithm for the plan's shape (tuning it first when tuning is on); false when
  // the table has none that runs here (the plan's choice says why).
  bool use_table(Gemm::Plan& plan);
  // Records the plan's and the heuristic's times in its choice (GemmTuning::bench).
  void bench(Gemm::Plan& plan);
  // Runs the skinny kernel (kernels/skinny_gemm.h) for the plan where it applies and measures faster.
  void choose_skinny(Gemm::Plan& plan);

  std::shared_ptr<Impl> impl_;
};

// The GEMMs one model planned, in planning order: what the model reports (Model::gemms).
class GemmPlans {
 public:
  // Plans `spec` into `slot` (a member of the model, so its address stays valid).
  void plan(GemmEngine& engine, const GemmSpec& spec, Gemm& slot);
  std::vector<GemmChoice> choices() const;

 private:
  std::vector<const Gemm*> planned_;
};

}  // namespace ftb::cuda
