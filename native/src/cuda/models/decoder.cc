// The decoder path on the GPU (models/decoding.h): `seq` steps of the layer stack, step t fed
// DecoderInput[t], the last step's hidden state the output.
#include <memory>

#include "common/tensors.h"
#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/fill.h"
#include "cuda/kernels/step_input.h"
#include "cuda/models/decoding.h"
#include "cuda/models/step_model.h"

namespace ftb::cuda {
namespace {

class CudaDecoder final : public StepModel {
 public:
  CudaDecoder(const ModelConfig& config, std::shared_ptr<CudaContext> context) : StepModel(config, std::move(context)) {
    stack_ = make_decoder_stack(config, *context_, step(), nullptr);
    const size_t rows = static_cast<size_t>(rows_) * h_;
    input_ = buffer(rows * config.seq, "decoder input");
    x_ = buffer(rows, "decoder hidden state");
    output_ = DeviceBuffer(rows * sizeof(float), "decoder output");
    prepare();
  }

  Outputs outputs() override {
    context_->activate();
    context_->synchronize("decoder run");
    Outputs out;
    out.hidden = download<float>(output_.get(), static_cast<size_t>(rows_) * h_, "the decoder output");
    out.lengths = stack_->memory_lengths();
    return out;
  }

 protected:
  void fill() override {
    fill_tensor(dtype_, input_.get(), input_.bytes() / dtype_size(dtype_), config_, Tensor::DecoderInput, 0, stream());
  }
  void enqueue_start() override { stack_->start(stream()); }
  void enqueue_step(int t) override {
    TraceStages stage;
    stage("step_input");
    select_step_input(dtype_, input_.get(), step(), x_.get(), static_cast<size_t>(rows_) * h_, stream());
    stage.close();
    stack_->step(x_.get(), t, nullptr, stream());
    stage("step_counter");
    advance_step(step(), stream());
  }
  void enqueue_finish() override {
    TraceStages stage;
    stage("output");
    to_float(dtype_, x_.get(), output_.as<float>(), static_cast<size_t>(rows_) * h_, stream());
  }
  std::map<std::string, std::string> path_notes() const override { return {}; }

 private:
  DeviceBuffer input_, x_, output_;
};

}  // namespace

std::unique_ptr<Model> make_cuda_decoder(const ModelConfig& config, std::shared_ptr<CudaContext> context) {
  return std::make_unique<CudaDecoder>(config, std::move(context));
}

}  // namespace ftb::cuda
