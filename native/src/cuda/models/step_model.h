// Internal to the GPU decoder and decoding paths (models/decoding.h is the public entry): StepModel,
// the step loop both share (decoder.cc, decoding.cc), with the layer stack (decoder_stack.h), the
// run/measure/profile protocol, the captured step and the path's own GEMM plans.
#pragma once
#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "cuda/buffer.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/dtype.h"
#include "cuda/models/decoder_stack.h"
#include "cuda/timing/kernel_trace.h"
#include "cuda/timing/model_timing.h"
#include "cuda/utils/graph.h"
#include "engine/backend.h"

namespace ftb::cuda {

// The step loop both paths share: a run is start, `seq` steps (fewer with stop_at_end) and finish;
// a step is captured once into a graph (fused, config.graph) and replayed, the device step counter
// telling its kernels which step it is.
class StepModel : public Model {
 public:
  StepModel(const ModelConfig& config, std::shared_ptr<CudaContext> context)
      : config_(config),
        context_(std::move(context)),
        dtype_(storage_type(config.precision)),
        rows_(config.rows()),
        h_(config.hidden()) {
    context_->activate();
    step_ = DeviceBuffer(sizeof(int), "step counter");
  }

  void run() override {
    context_->activate();
    enqueue_run();
    context_->synchronize(std::string(to_string(config_.path)) + " (" + to_string(config_.variant) + ")");
  }

  Sample measure(const MeasureOptions& options) override {
    return timing_.measure([this] { enqueue_run(); }, options);
  }

  KernelProfile profile(int iterations) override {
    return timing_.profile([this] { enqueue_run(/*eager=*/true); }, iterations, "run",
                           graph_.ready() ? "a CUDA graph per step" : "");
  }

  std::map<std::string, std::string> notes() const override {
    std::map<std::string, std::string> notes = stack_->notes();
    for (const auto& [key, value] : path_notes()) notes[key] = value;
    notes["graph"] = graph_.ready() ? "on (one step, replayed)" : "off";
    if (config_.precision == Precision::FP8) {
      const std::string gemms = config_.path == Path::Decoding ? "every layer GEMM and the logits GEMM" : "every layer GEMM";
      notes["fp8_gemms"] = gemms + ": cuBLASLt E4M3 x E4M3, fp32 accumulation, fp16 output";
      notes["fp8_quantize"] = "a row-wise quantize pass per GEMM input (q, k, v share one; so do the memory's K and V)";
      notes["fp8_scaling"] = "dynamic: a scale per row (amax / 448) of each GEMM input on the device, every call";
      notes["fp8_weights"] = "E4M3, a scale per output channel (amax / 448), quantized once from fp32";
    }
    return notes;
  }

  // The stack's GEMMs, then the path's own (logits).
  std::vector<GemmChoice> gemms() const override {
    std::vector<GemmChoice> choices = stack_->gemms();
    for (GemmChoice& choice : gemms_.choices()) choices.push_back(std::move(choice));
    return choices;
  }

 protected:
  virtual void enqueue_start() = 0;
  // Step t (the unfused variant's host copy of the device counter), ending with advance_step.
  virtual void enqueue_step(int t) = 0;
  virtual void enqueue_finish() = 0;
  virtual bool all_finished() { return false; }
  virtual std::map<std::string, std::string> path_notes() const = 0;

  // Called by the paths' constructors once their buffers and plans exist: fills weights and inputs,
  // runs once eagerly (every launch checked, modules loaded) and captures the step when asked.
  void prepare() {
    if (context_->planning_only()) return;
    stack_->fill(stream());
    fill();
    enqueue_run();
    context_->synchronize(std::string("first ") + to_string(config_.path) + " run");
    if (config_.variant == Variant::Fused && config_.graph) graph_.capture(stream(), [this] { enqueue_step(0); });
  }
  virtual void fill() = 0;

  cudaStream_t stream() const { return context_->stream(); }
  int* step() const { return step_.as<int>(); }
  DeviceBuffer buffer(size_t elements, const std::string& what) const {
    return DeviceBuffer(elements * dtype_size(dtype_), what);
  }
  void plan(const GemmSpec& spec, Gemm& slot) { gemms_.plan(context_->gemm(), spec, slot); }
  // Ordered after the work queued on the model's stream (a non-blocking stream: a plain cudaMemcpy on
  // the default stream would not wait for it).
  template <typename T>
  std::vector<T> download(const void* src, size_t count, const char* what) const {
    std::vector<T> values(count);
    const std::string stage = std::string("copying ") + what + " to the host";
    check(cudaMemcpyAsync(values.data(), src, count * sizeof(T), cudaMemcpyDeviceToHost, stream()), stage);
    context_->synchronize(stage);
    return values;
  }

  const ModelConfig config_;
  const std::shared_ptr<CudaContext> context_;
  const DType dtype_;
  const int rows_, h_;
  std::unique_ptr<DecoderStack> stack_;
  int steps_run_ = 0;

 private:
  void enqueue_run(bool eager = false) {
    TraceStages stage;
    stage("step_counter");
    check(cudaMemsetAsync(step(), 0, sizeof(int), stream()), "resetting the step counter");
    stage.close();
    enqueue_start();
    steps_run_ = 0;
    for (int t = 0; t < config_.seq; ++t) {
      if (graph_.ready() && !eager) {
        graph_.launch(stream());
      } else {
        enqueue_step(t);
      }
      ++steps_run_;
      if (config_.stop_at_end && all_finished()) break;
    }
    enqueue_finish();
  }

  DeviceBuffer step_;
  GemmPlans gemms_;
  CapturedGraph graph_;
  ModelTiming timing_{*context_};
};

}  // namespace ftb::cuda
