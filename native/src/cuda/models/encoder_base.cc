// EncoderBase (encoder_base.h): the state and protocol both GPU encoder variants share.
#include "cuda/models/encoder_base.h"

#include <string>
#include <utility>

#include "cuda/check.h"
#include "cuda/kernels/embedding.h"
#include "cuda/kernels/fill.h"

namespace ftb::cuda {
namespace {

ModelConfig without_checkpoint(const ModelConfig& config) {
  ModelConfig copy = config;
  copy.checkpoint.reset();
  return copy;
}

// The four layer GEMM weights of an fp8 encoder, [in, out] as tensors.h lays them out.
std::vector<Fp8WeightSpec> encoder_fp8_weights(const ModelConfig& c) {
  const int h = c.hidden(), inter = c.inter_size;
  return {{Tensor::EncQkvW, h, 3 * h, 3 * h}, {Tensor::EncAttnOutW, h, h, h}, {Tensor::EncFfn1W, h, inter, inter},
          {Tensor::EncFfn2W, inter, h, h}};
}

}  // namespace

EncoderBase::EncoderBase(const ModelConfig& config, std::shared_ptr<CudaContext> context)
    : config_(without_checkpoint(config)),
      checkpoint_(config.checkpoint),
      position_offset_(config.checkpoint ? config.checkpoint->position_offset : 0),
      context_(std::move(context)),
      dtype_(storage_type(config.precision)),
      tf32_(config.precision == Precision::TF32),
      batch_(config.batch),
      seq_(config.seq),
      heads_(config.heads),
      head_size_(config.head_size),
      hidden_size_(config.hidden()),
      inter_(config.inter_size),
      eps_(static_cast<float>(config.layer_norm_eps)),
      gelu_erf_(config.activation == Activation::GeluErf),
      fp8_(config.precision == Precision::FP8) {
  context_->activate();
  if (config.checkpoint) {
    lengths_ = config.checkpoint->lengths;
  } else {
    for (int b = 0; b < batch_; ++b) lengths_.push_back(sequence_length(config, Tensor::EncoderLengths, b, seq_));
  }
  seq_offsets_.push_back(0);
  for (int b = 0; b < batch_; ++b) {
    for (int s = 0; s < lengths_[b]; ++s) token_rows_.push_back(b * seq_ + s);
    seq_offsets_.push_back(seq_offsets_.back() + lengths_[b]);
  }
  tokens_ = seq_offsets_.back();

  const size_t elem = dtype_size(dtype_);
  const size_t padded = static_cast<size_t>(batch_) * seq_ * hidden_size_;
  input_ = DeviceBuffer(padded * elem, "encoder input");
  output_ = DeviceBuffer(padded * sizeof(float), "encoder output");
  weights_.resize(config.layers);
  for (int layer = 0; layer < config.layers; ++layer) {
    for (int slot = 0; slot < kLayerTensors; ++slot) {
      const Tensor tensor = static_cast<Tensor>(static_cast<int>(Tensor::EncQkvW) + slot);
      if (fp8_ && gemm_weight(tensor)) continue;  // E4M3 only (fp8_weights_)
      weights_[layer][slot] =
          DeviceBuffer(encoder_layer_tensor_size(tensor, hidden_size_, inter_) * elem,
                       "encoder layer " + std::to_string(layer) + " weights");
    }
  }
  if (fp8_) fp8_weights_ = Fp8Weights(encoder_fp8_weights(config), config.layers, "encoder");
  lengths_dev_ = DeviceBuffer(lengths_.size() * sizeof(int), "sequence lengths");
  seq_offsets_dev_ = DeviceBuffer(seq_offsets_.size() * sizeof(int), "sequence offsets");
  token_rows_dev_ = DeviceBuffer(token_rows_.size() * sizeof(int), "token rows");
  if (config.checkpoint) allocate_embeddings(*config.checkpoint);
}

void EncoderBase::run() {
  context_->activate();
  launch_forward();
  context_->synchronize("encoder forward (" + std::string(to_string(config_.variant)) + ")");
}

Sample EncoderBase::measure(const MeasureOptions& options) {
  return timing_.measure([this] { launch_forward(); }, options);
}

KernelProfile EncoderBase::profile(int iterations) {
  return timing_.profile([this] { enqueue(); }, iterations, "encoder forward", graph_.ready() ? "a CUDA graph" : "");
}

Outputs EncoderBase::outputs() {
  context_->activate();
  context_->synchronize("encoder forward (" + std::string(to_string(config_.variant)) + ")");
  Outputs out;
  out.hidden.resize(static_cast<size_t>(batch_) * seq_ * hidden_size_);
  check(cudaMemcpy(out.hidden.data(), output_.get(), out.hidden.size() * sizeof(float), cudaMemcpyDeviceToHost),
        "copying the encoder output to the host");
  out.lengths = lengths_;
  return out;
}

std::map<std::string, std::string> EncoderBase::notes() const {
  std::map<std::string, std::string> notes = variant_notes();
  notes["graph"] = graph_.ready() ? "on" : "off";
  notes["tokens"] = std::to_string(tokens_) + " of " + std::to_string(batch_ * seq_);
  if (has_embeddings()) notes["embedding"] = "embed_layernorm kernel (both variants; unfused embeds the padded rows too)";
  if (fp8_) {
    notes["fp8_scaling"] = "dynamic: a scale per token (row amax / 448) of each GEMM input on the device, every call";
    notes["fp8_weights"] = "E4M3, a scale per output channel (amax / 448), quantized once from fp32";
  }
  return notes;
}

std::vector<GemmChoice> EncoderBase::gemms() const { return gemms_.choices(); }

void EncoderBase::prepare(bool use_graph) {
  // The checkpoint's host copy is let go once its tensors are on the device.
  const std::shared_ptr<const Checkpoint> checkpoint = std::move(checkpoint_);
  if (context_->planning_only()) return;
  cudaStream_t s = stream();
  for (int layer = 0; layer < config_.layers; ++layer) {
    for (int slot = 0; slot < kLayerTensors; ++slot) {
      const Tensor tensor = static_cast<Tensor>(static_cast<int>(Tensor::EncQkvW) + slot);
      if (weights_[layer][slot].bytes() == 0) continue;  // an fp8 GEMM weight: quantized below
      if (checkpoint) {
        fill_from_host(dtype_, weights_[layer][slot].get(), checkpoint_tensor(*checkpoint, tensor, layer), s);
      } else {
        fill_tensor(dtype_, weights_[layer][slot].get(), weights_[layer][slot].bytes() / dtype_size(dtype_),
                    config_, tensor, layer, s);
      }
    }
  }
  if (fp8_) fp8_weights_.fill(config_, checkpoint.get(), s);
  if (checkpoint) {
    upload_embeddings(*checkpoint);
  } else {
    fill_tensor(dtype_, input_.get(), input_.bytes() / dtype_size(dtype_), config_, Tensor::EncoderInput, 0, s);
  }
  upload(lengths_dev_, lengths_, "uploading sequence lengths");
  upload(seq_offsets_dev_, seq_offsets_, "uploading sequence offsets");
  upload(token_rows_dev_, token_rows_, "uploading token rows");
  enqueue();
  context_->synchronize("first encoder forward");
  if (use_graph) graph_.capture(s, [this] { enqueue(); });
}

void EncoderBase::layer_gemm(const Gemm& gemm, const void* x, int layer, Tensor w, int out_offset, void* y,
                             const void* bias) {
  if (!fp8_) {
    // [in, out] row-major: a column block starts out_offset elements into the first row.
    const char* block = static_cast<const char*>(weight(layer, w)) + static_cast<size_t>(out_offset) * dtype_size(dtype_);
    gemm.run(x, block, y, bias, 1.0f, stream());
    return;
  }
  run_fp8(gemm, fp8_input_, fp8_weights_, layer, w, out_offset, y, bias, stream());
}

void EncoderBase::quantize_gemm_input(const void* x, int rows, int cols) {
  if (fp8_) fp8_input_.quantize(x, rows, cols, stream());
}

void EncoderBase::embed(void* out, const int* token_rows, size_t rows, cudaStream_t s, Fp8Rows fp8) const {
  embed_layernorm(dtype_, ids_dev_.as<int>(), token_rows, word_.get(), position_.get(),
                  token_type_.bytes() > 0 ? token_type_.get() : nullptr, emb_gamma_.get(), emb_beta_.get(), out,
                  rows, seq_, position_offset_, hidden_size_, eps_, s, fp8);
}

void EncoderBase::launch_forward() {
  if (graph_.ready()) {
    graph_.launch(stream());
  } else {
    enqueue();
  }
}

void EncoderBase::allocate_embeddings(const Checkpoint& c) {
  const auto table = [&](const char* name) {
    const auto found = c.tensors.find(name);
    return found == c.tensors.end() ? DeviceBuffer() : buffer(found->second.size(), std::string("checkpoint ") + name);
  };
  word_ = table("embeddings.word");
  position_ = table("embeddings.position");
  token_type_ = table("embeddings.token_type");
  emb_gamma_ = table("embeddings.ln_gamma");
  emb_beta_ = table("embeddings.ln_beta");
  ids_dev_ = DeviceBuffer(c.ids.size() * sizeof(int), "token ids");
}

void EncoderBase::upload_embeddings(const Checkpoint& c) {
  cudaStream_t s = stream();
  fill_from_host(dtype_, word_.get(), checkpoint_tensor(c, "embeddings.word"), s);
  fill_from_host(dtype_, position_.get(), checkpoint_tensor(c, "embeddings.position"), s);
  if (token_type_.bytes() > 0) fill_from_host(dtype_, token_type_.get(), checkpoint_tensor(c, "embeddings.token_type"), s);
  fill_from_host(dtype_, emb_gamma_.get(), checkpoint_tensor(c, "embeddings.ln_gamma"), s);
  fill_from_host(dtype_, emb_beta_.get(), checkpoint_tensor(c, "embeddings.ln_beta"), s);
  upload(ids_dev_, c.ids, "uploading token ids");
}

void EncoderBase::upload(DeviceBuffer& dst, const std::vector<int>& values, const char* stage) {
  check(cudaMemcpyAsync(dst.get(), values.data(), values.size() * sizeof(int), cudaMemcpyHostToDevice, stream()),
        stage);
}

}  // namespace ftb::cuda
