// cuBLASLt implementation of the GEMM layer (see gemm.h). Row-major C = op(A)·op(B) is computed as
// the column-major product Cᵀ = op(B)ᵀ·op(A)ᵀ, so B is cuBLASLt's first operand.
#include "cuda/gemm/gemm_lt.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "cuda/kernels/skinny_gemm.h"
#include "engine/backend.h"

namespace ftb::cuda {
namespace {

cudaDataType_t cuda_type(DType dtype) {
  switch (dtype) {
    case DType::F16: return CUDA_R_16F;
    case DType::BF16: return CUDA_R_16BF;
    default: return CUDA_R_32F;
  }
}

// A and B: E4M3 for an fp8 GEMM, else the storage type (C, D and bias are always the storage type).
cudaDataType_t input_type(const GemmSpec& spec) { return spec.fp8 ? CUDA_R_8F_E4M3 : cuda_type(spec.dtype); }

cublasComputeType_t compute_type(const GemmSpec& spec) {
  return spec.dtype == DType::F32 && spec.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
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
cublasLtMatrixLayout_t make_layout(cudaDataType_t type, int rows, int cols, int ld, int batch, long long stride,
                                   const std::string& stage) {
  cublasLtMatrixLayout_t layout = nullptr;
  check_cublas(cublasLtMatrixLayoutCreate(&layout, type, rows, cols, ld), stage);
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
T get_config(const cublasLtMatmulAlgo_t& algo, cublasLtMatmulAlgoConfigAttributes_t attribute) {
  return algo_attribute<T>(cublasLtMatmulAlgoConfigGetAttribute, algo, attribute);
}

template <typename T>
bool set_config(cublasLtMatmulAlgo_t* algo, cublasLtMatmulAlgoConfigAttributes_t attribute, T value) {
  return cublasLtMatmulAlgoConfigSetAttribute(algo, attribute, &value, sizeof(value)) == CUBLAS_STATUS_SUCCESS;
}

std::string status_text(cublasStatus_t status) { return cublasLtGetStatusName(status); }

}  // namespace

void check_cublas(cublasStatus_t status, const std::string& stage) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  const std::string detail = std::string(cublasLtGetStatusName(status)) + ": " + cublasLtGetStatusString(status);
  if (status == CUBLAS_STATUS_ALLOC_FAILED) throw OutOfMemory("cuBLASLt out of memory in " + stage + ": " + detail);
  throw EngineError("cuBLASLt error in " + stage + ": " + detail);
}

const char* to_string(Epilogue epilogue) {
  switch (epilogue) {
    case Epilogue::None: return "none";
    case Epilogue::Bias: return "bias";
    case Epilogue::BiasGelu: return "bias_gelu";
    case Epilogue::BiasRelu: return "bias_relu";
  }
  return "?";
}

GemmShape shape_of(const GemmSpec& spec) {
  // An fp8 GEMM's types are "e4m3/f16" (inputs / output): its tuned algorithms never stand for the
  // f16 GEMM of the same shape's, nor the reverse.
  const std::string dtype = spec.fp8 ? "e4m3/" + std::string(to_string(spec.dtype))
                                     : std::string(to_string(spec.dtype)) + (spec.dtype == DType::F32 && spec.tf32 ? "/tf32" : "");
  return {spec.m, spec.n, spec.k, spec.batch, spec.trans_a, spec.trans_b, dtype, to_string(spec.epilogue)};
}

GemmEngine::Impl::Impl() {
  check_cublas(cublasLtCreate(&handle), "creating the cuBLASLt handle");
  workspace = DeviceBuffer(kWorkspaceBytes, "cuBLASLt workspace");
}

GemmEngine::Impl::~Impl() { cublasLtDestroy(handle); }

const GemmTuned* GemmEngine::Impl::find(const GemmShape& shape) const {
  const auto found = std::find_if(table.begin(), table.end(), [&](const GemmTuned& entry) { return entry.shape == shape; });
  return found == table.end() ? nullptr : &*found;
}

Gemm::Plan::~Plan() {
  if (desc != nullptr) cublasLtMatmulDescDestroy(desc);
  for (cublasLtMatrixLayout_t layout : {a, b, c}) {
    if (layout != nullptr) cublasLtMatrixLayoutDestroy(layout);
  }
}

void Gemm::Plan::run_with(const cublasLtMatmulAlgo_t& algorithm, const void* a_data, const void* b_data, void* c_data,
                          const void* bias, float alpha, cudaStream_t stream, const float* a_scales,
                          const float* b_scales) const {
  const std::string stage = "gemm " + spec.role;
  if (spec.epilogue != Epilogue::None) {
    check_cublas(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)), stage);
  }
  if (spec.fp8) {
    // cuBLASLt's A is our B (the weight: a scale per output channel, its rows) and its B our A (a
    // scale per token): the vectors swap too. Set on every run, as the bias pointer: a captured graph
    // keeps the values of its capture.
    check_cublas(
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &b_scales, sizeof(b_scales)), stage);
    check_cublas(
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &a_scales, sizeof(a_scales)), stage);
  }
  const float beta = 0.0f;
  check_cublas(cublasLtMatmul(engine->handle, desc, &alpha, b_data, a, a_data, b, &beta, c_data, c, c_data, c,
                              &algorithm, engine->workspace.get(), GemmEngine::kWorkspaceBytes, stream),
               stage);
}

std::vector<cublasLtMatmulHeuristicResult_t> heuristic_algorithms(const Gemm::Plan& plan, int count,
                                                                  const std::string& stage) {
  cublasLtMatmulPreference_t preference = nullptr;
  check_cublas(cublasLtMatmulPreferenceCreate(&preference), stage);
  const uint64_t workspace = GemmEngine::kWorkspaceBytes;
  const uint32_t alignment = static_cast<uint32_t>(plan.spec.alignment);
  std::vector<cublasLtMatmulHeuristicResult_t> results(count);
  int returned = 0;
  cublasStatus_t status = cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                               &workspace, sizeof(workspace));
  for (cublasLtMatmulPreferenceAttributes_t attribute :
       {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES}) {
    if (status == CUBLAS_STATUS_SUCCESS) {
      status = cublasLtMatmulPreferenceSetAttribute(preference, attribute, &alignment, sizeof(alignment));
    }
  }
  if (status == CUBLAS_STATUS_SUCCESS) {
    status = cublasLtMatmulAlgoGetHeuristic(plan.engine->handle, plan.desc, plan.a, plan.b, plan.c, plan.c, preference,
                                            count, results.data(), &returned);
  }
  cublasLtMatmulPreferenceDestroy(preference);
  check_cublas(status, stage + " (heuristic)");
  results.resize(returned);
  if (results.empty()) throw EngineError("cuBLASLt has no algorithm for " + stage);
  return results;
}

GemmAlgo algo_config(const cublasLtMatmulAlgo_t& algo, size_t workspace) {
  GemmAlgo config;
  config.id = get_config<int32_t>(algo, CUBLASLT_ALGO_CONFIG_ID);
  config.tile = static_cast<int>(get_config<uint32_t>(algo, CUBLASLT_ALGO_CONFIG_TILE_ID));
  config.stages = static_cast<int>(get_config<uint32_t>(algo, CUBLASLT_ALGO_CONFIG_STAGES_ID));
  config.splitk = get_config<int32_t>(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM);
  config.reduction = static_cast<int>(get_config<uint32_t>(algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME));
  config.swizzle = static_cast<int>(get_config<uint32_t>(algo, CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING));
  config.custom = static_cast<int>(get_config<uint32_t>(algo, CUBLASLT_ALGO_CONFIG_CUSTOM_OPTION));
  config.inner = get_config<uint16_t>(algo, CUBLASLT_ALGO_CONFIG_INNER_SHAPE_ID);
  config.cluster = get_config<uint16_t>(algo, CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID);
  config.workspace = workspace;
  return config;
}

bool init_algo(const Gemm::Plan& plan, int id, cublasLtMatmulAlgo_t* algo) {
  const cudaDataType_t input = input_type(plan.spec), output = cuda_type(plan.spec.dtype);
  return cublasLtMatmulAlgoInit(plan.engine->handle, compute_type(plan.spec), CUDA_R_32F, input, input, output, output,
                                id, algo) == CUBLAS_STATUS_SUCCESS;
}

std::vector<int> algorithm_ids(const Gemm::Plan& plan) {
  const cudaDataType_t input = input_type(plan.spec), output = cuda_type(plan.spec.dtype);
  std::vector<int> ids(256);
  int returned = 0;
  check_cublas(cublasLtMatmulAlgoGetIds(plan.engine->handle, compute_type(plan.spec), CUDA_R_32F, input, input, output,
                                        output, static_cast<int>(ids.size()), ids.data(), &returned),
               "listing cuBLASLt algorithms for gemm " + plan.spec.role);
  ids.resize(returned);
  return ids;
}

bool build_algo(const Gemm::Plan& plan, const GemmAlgo& config, cublasLtMatmulAlgo_t* algo, size_t* workspace,
                std::string* reason) {
  if (!init_algo(plan, config.id, algo)) {
    *reason = "algorithm id " + std::to_string(config.id) + " does not apply to these types";
    return false;
  }
  const bool set = set_config<uint32_t>(algo, CUBLASLT_ALGO_CONFIG_TILE_ID, config.tile) &&
                   set_config<uint32_t>(algo, CUBLASLT_ALGO_CONFIG_STAGES_ID, config.stages) &&
                   set_config<int32_t>(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, config.splitk) &&
                   set_config<uint32_t>(algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, config.reduction) &&
                   set_config<uint32_t>(algo, CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING, config.swizzle) &&
                   set_config<uint32_t>(algo, CUBLASLT_ALGO_CONFIG_CUSTOM_OPTION, config.custom) &&
                   // 0 is these two's "undefined / automatic", as initialised: set only what was chosen.
                   (config.inner == 0 || set_config<uint16_t>(algo, CUBLASLT_ALGO_CONFIG_INNER_SHAPE_ID, config.inner)) &&
                   (config.cluster == 0 || set_config<uint16_t>(algo, CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID, config.cluster));
  if (!set) {
    *reason = "cuBLASLt refused one of its configuration attributes";
    return false;
  }
  cublasLtMatmulHeuristicResult_t result{};
  const cublasStatus_t status =
      cublasLtMatmulAlgoCheck(plan.engine->handle, plan.desc, plan.a, plan.b, plan.c, plan.c, algo, &result);
  if (status != CUBLAS_STATUS_SUCCESS) {
    *reason = "cublasLtMatmulAlgoCheck: " + status_text(status);
    return false;
  }
  if (result.workspaceSize > GemmEngine::kWorkspaceBytes) {
    *reason = "needs " + std::to_string(result.workspaceSize) + " B of workspace";
    return false;
  }
  *workspace = result.workspaceSize;
  return true;
}

Gemm::Gemm() = default;
Gemm::Gemm(std::unique_ptr<Plan> plan) : plan_(std::move(plan)) {}
Gemm::Gemm(Gemm&&) noexcept = default;
Gemm& Gemm::operator=(Gemm&&) noexcept = default;
Gemm::~Gemm() = default;

const GemmChoice& Gemm::choice() const {
  if (!plan_) throw EngineError("gemm choice read before it was planned");
  return plan_->choice;
}

void Gemm::run_scaled(const void* a, const float* a_scales, const void* b, const float* b_scales, void* c,
                      const void* bias, cudaStream_t stream) const {
  if (!plan_) throw EngineError("gemm run before it was planned");
  if (!plan_->spec.fp8) throw EngineError("gemm " + plan_->spec.role + ": run_scaled on a GEMM that is not fp8");
  plan_->run_with(plan_->algo, a, b, c, bias, 1.0f, stream, a_scales, b_scales);
}

void Gemm::run(const void* a, const void* b, void* c, const void* bias, float alpha, cudaStream_t stream) const {
  if (!plan_) throw EngineError("gemm run before it was planned");
  if (plan_->spec.fp8) throw EngineError("gemm " + plan_->spec.role + ": an fp8 GEMM runs with its scales (run_scaled)");
  if (plan_->skinny) {
    skinny_gemm(plan_->spec, a, b, c, bias, alpha, stream);
  } else {
    plan_->run_with(plan_->algo, a, b, c, bias, alpha, stream);
  }
}

GemmEngine::GemmEngine() : impl_(std::make_shared<Impl>()) {}
GemmEngine::~GemmEngine() = default;

std::string GemmEngine::library_version() const {
  const size_t version = cublasLtGetVersion();
  return "cuBLASLt " + std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
         std::to_string(version % 100);
}

void GemmEngine::set_table(std::vector<GemmTuned> table, const GemmTuning& tuning) {
  impl_->table = std::move(table);
  impl_->tuning = tuning;
  impl_->benched.clear();
}

const std::vector<GemmTuned>& GemmEngine::table() const { return impl_->table; }

Gemm GemmEngine::plan(const GemmSpec& spec) {
  const std::string stage = "planning gemm " + spec.role + " (m=" + std::to_string(spec.m) + " n=" +
                            std::to_string(spec.n) + " k=" + std::to_string(spec.k) + " batch=" +
                            std::to_string(spec.batch) + ")";
  if (spec.fp8 && (spec.trans_a || !spec.trans_b || spec.dtype != DType::F16)) {
    throw EngineError(stage + ": an fp8 GEMM needs A [m, k], B stored [n, k] (cuBLASLt's TN form) and fp16 output");
  }
  auto plan = std::make_unique<Gemm::Plan>();
  plan->engine = impl_;
  plan->spec = spec;

  check_cublas(cublasLtMatmulDescCreate(&plan->desc, compute_type(spec), CUDA_R_32F), stage);
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
  if (spec.fp8) {
    // Outer-vector scaling (a float per row of each operand): per-tensor scales would do for the
    // activations, but cuBLASLt 13.1 on the H200 refuses a scalar scale on its B operand, and a
    // scale per output channel keeps the weights' quantization error down (NOTES.md, "fp8"). The
    // pointers are set before the heuristic is asked, as they will be at run time; any device
    // address stands in until run_with sets the real ones (neither the heuristic nor the tuner reads
    // through it).
    const cublasLtMatmulMatrixScale_t outer = CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
    const void* stand_in = impl_->workspace.get();
    for (auto [mode, pointer] : {std::pair{CUBLASLT_MATMUL_DESC_A_SCALE_MODE, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER},
                                 std::pair{CUBLASLT_MATMUL_DESC_B_SCALE_MODE, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER}}) {
      check_cublas(cublasLtMatmulDescSetAttribute(plan->desc, mode, &outer, sizeof(outer)), stage);
      check_cublas(cublasLtMatmulDescSetAttribute(plan->desc, pointer, &stand_in, sizeof(stand_in)), stage);
    }
  }

  // Stored (column-major) shapes: our B is [k, n] row-major = n x k column-major, or [n, k] = k x n.
  const cudaDataType_t input = input_type(spec), output = cuda_type(spec.dtype);
  plan->a = spec.trans_b ? make_layout(input, spec.k, spec.n, spec.ldb, spec.batch, spec.stride_b, stage)
                         : make_layout(input, spec.n, spec.k, spec.ldb, spec.batch, spec.stride_b, stage);
  plan->b = spec.trans_a ? make_layout(input, spec.m, spec.k, spec.lda, spec.batch, spec.stride_a, stage)
                         : make_layout(input, spec.k, spec.m, spec.lda, spec.batch, spec.stride_a, stage);
  plan->c = make_layout(output, spec.n, spec.m, spec.ldc, spec.batch, spec.stride_c, stage);

  GemmChoice& choice = plan->choice;
  choice.role = spec.role;
  choice.shape = shape_of(spec);
  if (!use_table(*plan)) {
    const cublasLtMatmulHeuristicResult_t heuristic = heuristic_algorithms(*plan, 1, stage).front();
    plan->algo = heuristic.algo;
    choice.algo = algo_config(heuristic.algo, heuristic.workspaceSize);
    choice.source = "heuristic";
  }
  choose_skinny(*plan);
  if (impl_->tuning.bench) bench(*plan);
  return Gemm(std::move(plan));
}

bool GemmEngine::use_table(Gemm::Plan& plan) {
  GemmChoice& choice = plan.choice;
  const GemmTuned* tuned = impl_->find(choice.shape);
  if (tuned == nullptr && impl_->tuning.enabled) {
    impl_->table.push_back(tune(plan));
    tuned = &impl_->table.back();
  }
  if (tuned == nullptr) return false;
  if (tuned->heuristic_kept) {
    // Tuning found nothing faster: cuBLASLt's own result, not a rebuild of its configuration.
    const cublasLtMatmulHeuristicResult_t heuristic = heuristic_algorithms(plan, 1, "planning gemm " + plan.spec.role).front();
    plan.algo = heuristic.algo;
    choice.algo = algo_config(heuristic.algo, heuristic.workspaceSize);
  } else {
    size_t workspace = 0;
    if (!build_algo(plan, tuned->algo, &plan.algo, &workspace, &choice.note)) {
      choice.note = "the tuned algorithm does not run here (" + choice.note + ")";
      return false;
    }
    choice.algo = algo_config(plan.algo, workspace);
  }
  choice.source = "tuned";
  choice.tuned_ms = tuned->tuned_ms;
  choice.heuristic_ms = tuned->heuristic_ms;
  return true;
}

// Where the skinny kernel applies, times it against the plan's cuBLASLt algorithm (once per shape) and
// runs it instead when it is within tolerance and more than 3 % faster; the choice records both times.
void GemmEngine::choose_skinny(Gemm::Plan& plan) {
  if (!skinny_gemm_applies(plan.spec)) return;
  GemmChoice& choice = plan.choice;
  auto& timed = impl_->skinny_timed;
  auto found = std::find_if(timed.begin(), timed.end(), [&](const auto& entry) { return entry.first == choice.shape; });
  if (found == timed.end()) {
    timed.emplace_back(choice.shape, time_skinny(plan));
    found = timed.end() - 1;
  }
  const SkinnyTiming& timing = found->second;
  std::ostringstream note;
  note << "skinny kernel " << timing.skinny_ms * 1e3 << " us vs cuBLASLt (" << choice.source << ") "
       << timing.cublaslt_ms * 1e3 << " us, relative L2 " << timing.rel_err;
  if (!timing.faster) {
    choice.note += (choice.note.empty() ? "" : "; ") + note.str() + ": cuBLASLt kept";
    return;
  }
  plan.skinny = true;
  choice.source = "skinny";
  choice.algo = GemmAlgo{};
  choice.tuned_ms = timing.skinny_ms;
  choice.heuristic_ms = timing.cublaslt_ms;
  choice.note = note.str();
}

// Times the plan's algorithm against the heuristic's, once per shape and source: later plans of the
// shape reuse the times.
void GemmEngine::bench(Gemm::Plan& plan) {
  GemmChoice& choice = plan.choice;
  const auto timed = std::find_if(impl_->benched.begin(), impl_->benched.end(), [&](const GemmChoice& other) {
    return other.shape == choice.shape && other.source == choice.source;
  });
  if (timed != impl_->benched.end()) {
    choice.bench_ms = timed->bench_ms;
    choice.bench_heuristic_ms = timed->bench_heuristic_ms;
    return;
  }
  const std::pair<double, double> ms = time_against_heuristic(plan, impl_->tuning.samples);
  choice.bench_ms = ms.first;
  choice.bench_heuristic_ms = ms.second;
  impl_->benched.push_back(choice);
}

void GemmPlans::plan(GemmEngine& engine, const GemmSpec& spec, Gemm& slot) {
  slot = engine.plan(spec);
  planned_.push_back(&slot);
}

std::vector<GemmChoice> GemmPlans::choices() const {
  std::vector<GemmChoice> choices;
  for (const Gemm* gemm : planned_) choices.push_back(gemm->choice());
  return choices;
}

}  // namespace ftb::cuda
