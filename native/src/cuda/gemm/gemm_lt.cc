// cuBLASLt implementation of the GEMM layer (see gemm.h). Row-major C = op(A)·op(B) is computed as
// the column-major product Cᵀ = op(B)ᵀ·op(A)ᵀ, so B is cuBLASLt's first operand.
#include <cublasLt.h>

#include <sstream>
#include <utility>

#include "cuda/buffer.h"
#include "cuda/gemm/gemm.h"
#include "engine/backend.h"

namespace ftb::cuda {
namespace {

void check_cublas(cublasStatus_t status, const std::string& stage) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  const std::string detail = std::string(cublasLtGetStatusName(status)) + ": " + cublasLtGetStatusString(status);
  if (status == CUBLAS_STATUS_ALLOC_FAILED) throw OutOfMemory("cuBLASLt out of memory in " + stage + ": " + detail);
  throw EngineError("cuBLASLt error in " + stage + ": " + detail);
}

cudaDataType_t cuda_type(DType dtype) {
  switch (dtype) {
    case DType::F16: return CUDA_R_16F;
    case DType::BF16: return CUDA_R_16BF;
    default: return CUDA_R_32F;
  }
}

cublasLtEpilogue_t lt_epilogue(Epilogue epilogue) {
  switch (epilogue) {
    case Epilogue::Bias: return CUBLASLT_EPILOGUE_BIAS;
    case Epilogue::BiasGelu: return CUBLASLT_EPILOGUE_GELU_BIAS;
    case Epilogue::BiasRelu: return CUBLASLT_EPILOGUE_RELU_BIAS;
    default: return CUBLASLT_EPILOGUE_DEFAULT;
  }
}

// A column-major layout of `rows` x `cols` with leading dimension `ld`, batched with `stride`.
cublasLtMatrixLayout_t make_layout(DType dtype, int rows, int cols, int ld, int batch, long long stride,
                                   const std::string& stage) {
  cublasLtMatrixLayout_t layout = nullptr;
  check_cublas(cublasLtMatrixLayoutCreate(&layout, cuda_type(dtype), rows, cols, ld), stage);
  if (batch > 1) {
    const int32_t count = batch;
    const int64_t offset = stride;
    check_cublas(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)),
                 stage);
    check_cublas(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &offset,
                                                  sizeof(offset)),
                 stage);
  }
  return layout;
}

template <typename T>
T algo_attribute(const cublasLtMatmulAlgo_t& algo, cublasLtMatmulAlgoConfigAttributes_t attribute) {
  T value{};
  size_t written = 0;
  cublasLtMatmulAlgoConfigGetAttribute(&algo, attribute, &value, sizeof(value), &written);
  return value;
}

std::string describe(const cublasLtMatmulHeuristicResult_t& result) {
  const cublasLtMatmulAlgo_t& algo = result.algo;
  std::ostringstream text;
  text << "id=" << algo_attribute<int32_t>(algo, CUBLASLT_ALGO_CONFIG_ID)
       << " tile=" << algo_attribute<uint32_t>(algo, CUBLASLT_ALGO_CONFIG_TILE_ID)
       << " stages=" << algo_attribute<uint32_t>(algo, CUBLASLT_ALGO_CONFIG_STAGES_ID)
       << " splitk=" << algo_attribute<uint32_t>(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM)
       << " swizzle=" << algo_attribute<uint32_t>(algo, CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING)
       << " cluster=" << algo_attribute<uint16_t>(algo, CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID)
       << " workspace=" << result.workspaceSize << " waves=" << result.wavesCount;
  return text.str();
}

}  // namespace

const char* to_string(Epilogue epilogue) {
  switch (epilogue) {
    case Epilogue::None: return "none";
    case Epilogue::Bias: return "bias";
    case Epilogue::BiasGelu: return "bias_gelu";
    case Epilogue::BiasRelu: return "bias_relu";
  }
  return "?";
}

std::string GemmRecord::summary() const {
  std::ostringstream text;
  text << "m=" << m << " n=" << n << " k=" << k << " batch=" << batch << " dtype=" << dtype
       << " epilogue=" << epilogue << " algo: " << algorithm;
  return text.str();
}

struct GemmEngine::Impl {
  cublasLtHandle_t handle = nullptr;
  DeviceBuffer workspace;

  Impl() {
    check_cublas(cublasLtCreate(&handle), "creating the cuBLASLt handle");
    workspace = DeviceBuffer(kWorkspaceBytes, "cuBLASLt workspace");
  }
  ~Impl() { cublasLtDestroy(handle); }
};

struct Gemm::Plan {
  std::shared_ptr<GemmEngine::Impl> engine;
  GemmSpec spec;
  GemmRecord record;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;  // cuBLASLt's A (our B), B (our A), C/D
  cublasLtMatmulAlgo_t algo{};

  ~Plan() {
    if (desc != nullptr) cublasLtMatmulDescDestroy(desc);
    for (cublasLtMatrixLayout_t layout : {a, b, c}) {
      if (layout != nullptr) cublasLtMatrixLayoutDestroy(layout);
    }
  }
};

namespace {

// The one place an algorithm is chosen: cuBLASLt's best heuristic candidate that fits the workspace
// and the pointers' alignment. Autotuning (timing several candidates) will replace this body.
cublasLtMatmulHeuristicResult_t select_algorithm(const GemmEngine::Impl& engine, const Gemm::Plan& plan,
                                                 const std::string& stage) {
  cublasLtMatmulPreference_t preference = nullptr;
  check_cublas(cublasLtMatmulPreferenceCreate(&preference), stage);
  const uint64_t workspace = GemmEngine::kWorkspaceBytes;
  const uint32_t alignment = static_cast<uint32_t>(plan.spec.alignment);
  cublasLtMatmulHeuristicResult_t result{};
  int returned = 0;
  cublasStatus_t status =
      cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace,
                                           sizeof(workspace));
  for (cublasLtMatmulPreferenceAttributes_t attribute :
       {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES}) {
    if (status == CUBLAS_STATUS_SUCCESS) {
      status = cublasLtMatmulPreferenceSetAttribute(preference, attribute, &alignment, sizeof(alignment));
    }
  }
  if (status == CUBLAS_STATUS_SUCCESS) {
    status = cublasLtMatmulAlgoGetHeuristic(engine.handle, plan.desc, plan.a, plan.b, plan.c, plan.c, preference, 1,
                                            &result, &returned);
  }
  cublasLtMatmulPreferenceDestroy(preference);
  check_cublas(status, stage + " (heuristic)");
  if (returned == 0) throw EngineError("cuBLASLt has no algorithm for " + stage);
  return result;
}

}  // namespace

Gemm::Gemm() = default;
Gemm::Gemm(std::unique_ptr<Plan> plan) : plan_(std::move(plan)) {}
Gemm::Gemm(Gemm&&) noexcept = default;
Gemm& Gemm::operator=(Gemm&&) noexcept = default;
Gemm::~Gemm() = default;

const GemmRecord& Gemm::record() const {
  if (!plan_) throw EngineError("gemm record read before it was planned");
  return plan_->record;
}

void Gemm::run(const void* a, const void* b, void* c, const void* bias, float alpha, cudaStream_t stream) const {
  if (!plan_) throw EngineError("gemm run before it was planned");
  Plan& plan = *plan_;
  const std::string stage = "gemm " + plan.spec.role;
  if (plan.spec.epilogue != Epilogue::None) {
    check_cublas(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)),
                 stage);
  }
  const float beta = 0.0f;
  GemmEngine::Impl& engine = *plan.engine;
  check_cublas(cublasLtMatmul(engine.handle, plan.desc, &alpha, b, plan.a, a, plan.b, &beta, c, plan.c, c, plan.c,
                              &plan.algo, engine.workspace.get(), GemmEngine::kWorkspaceBytes, stream),
               stage);
}

GemmEngine::GemmEngine() : impl_(std::make_shared<Impl>()) {}
GemmEngine::~GemmEngine() = default;

std::string GemmEngine::library_version() const {
  const size_t version = cublasLtGetVersion();
  return "cuBLASLt " + std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
         std::to_string(version % 100);
}

Gemm GemmEngine::plan(const GemmSpec& spec) {
  const std::string stage = "planning gemm " + spec.role + " (m=" + std::to_string(spec.m) + " n=" +
                            std::to_string(spec.n) + " k=" + std::to_string(spec.k) + " batch=" +
                            std::to_string(spec.batch) + ")";
  auto plan = std::make_unique<Gemm::Plan>();
  plan->engine = impl_;
  plan->spec = spec;

  const bool fp32 = spec.dtype == DType::F32;
  const cublasComputeType_t compute =
      fp32 && spec.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  check_cublas(cublasLtMatmulDescCreate(&plan->desc, compute, CUDA_R_32F), stage);
  // Column-major view: cuBLASLt's A is our B (n x k after op), its B is our A (k x m after op).
  const cublasOperation_t op_first = spec.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_second = spec.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasLtEpilogue_t epilogue = lt_epilogue(spec.epilogue);
  check_cublas(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof(op_first)),
               stage);
  check_cublas(
      cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof(op_second)), stage);
  check_cublas(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)),
               stage);

  // Stored (column-major) shapes: our B is [k, n] row-major = n x k column-major, or [n, k] = k x n.
  plan->a = spec.trans_b ? make_layout(spec.dtype, spec.k, spec.n, spec.ldb, spec.batch, spec.stride_b, stage)
                         : make_layout(spec.dtype, spec.n, spec.k, spec.ldb, spec.batch, spec.stride_b, stage);
  plan->b = spec.trans_a ? make_layout(spec.dtype, spec.m, spec.k, spec.lda, spec.batch, spec.stride_a, stage)
                         : make_layout(spec.dtype, spec.k, spec.m, spec.lda, spec.batch, spec.stride_a, stage);
  plan->c = make_layout(spec.dtype, spec.n, spec.m, spec.ldc, spec.batch, spec.stride_c, stage);

  const cublasLtMatmulHeuristicResult_t chosen = select_algorithm(*impl_, *plan, stage);
  plan->algo = chosen.algo;
  plan->record = GemmRecord{spec.role,
                            spec.m,
                            spec.n,
                            spec.k,
                            spec.batch,
                            std::string(to_string(spec.dtype)) + (fp32 && spec.tf32 ? "/tf32" : ""),
                            to_string(spec.epilogue),
                            describe(chosen)};
  return Gemm(std::move(plan));
}

}  // namespace ftb::cuda
