#include "cuda/models/decoder_stack.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <string>

#include "common/tensors.h"
#include "cuda/buffer.h"
#include "cuda/check.h"
#include "cuda/kernels/decoder_attention.h"
#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/fill.h"
#include "cuda/kernels/layernorm.h"
#include "cuda/kernels/persistent_decoder.h"
#include "cuda/models/decoder_stack_base.h"
#include "cuda/timing/kernel_trace.h"
#include "cuda/utils/gemm_specs.h"

namespace ftb::cuda {
namespace {

class FusedStack final : public StackBase {
 public:
  FusedStack(const ModelConfig& config, CudaContext& context, const int* step, const int* cache_indir)
      : StackBase(config, context, use_persistent(config, storage_type(config.precision), config.rows())),
        step_(step),
        cache_indir_(cache_indir),
        relu_epilogue_(dtype_ != DType::F32),
        persistent_(use_persistent(config, dtype_, rows_)) {
    const size_t r = rows_, h = h_;
    const size_t memory_rows = static_cast<size_t>(config.batch) * mem_len_;
    const size_t cache = static_cast<size_t>(config.layers) * r * h * cache_len_;
    normed_ = buffer(r * h, "decoder normed input");
    qkv_ = buffer(r * 3 * h, "decoder qkv");
    ctx_ = buffer(r * h, "decoder attention context");
    query_ = buffer(r * h, "decoder cross-attention query");
    projected_ = buffer(r * h, "decoder projection output");
    inter_buf_ = buffer(r * inter_, "decoder ffn intermediate");
    memory_kv_ = buffer(config.layers * memory_rows * 2 * h, "decoder memory K/V");
    k_cache_ = buffer(cache, "decoder K cache");
    v_cache_ = buffer(cache, "decoder V cache");
    const int sms = context.properties().multiProcessorCount;
    self_splits_ = attention_max_splits(rows_, heads_, cache_len_, sms);
    cross_splits_ = attention_max_splits(rows_, heads_, mem_len_, sms);
    splits_ = DeviceBuffer(attention_splits_bytes(rows_, heads_, head_size_, std::max(self_splits_, cross_splits_)),
                           "decoder attention splits");
    check(cudaMemset(splits_.get(), 0, splits_.bytes()), "clearing the attention split counters");
    prepare_cross_attention();  // before the step graph's capture
    // The step's GEMMs in the step's order, the memory K/V's among them; the persistent kernel runs
    // the step's own (prepare_persistent), so only the memory K/V's is planned then.
    if (!persistent_) {
      plan(layer_spec("qkv", rows_, h_, 3 * h_, 3 * h_), qkv_gemm_);
      plan(layer_spec("self_out", rows_, h_, h_, h_), self_out_gemm_);
      plan(layer_spec("cross_q", rows_, h_, h_, h_), cross_q_gemm_);
    }
    plan(layer_spec("cross_kv", static_cast<int>(memory_rows), h_, 2 * h_, 2 * h_, Epilogue::None, 0,
                    memory_rows * 2 * h * dtype_size(dtype_)),
         cross_kv_gemm_);
    if (persistent_) {
      prepare_persistent();
    } else {
      plan(layer_spec("cross_out", rows_, h_, h_, h_), cross_out_gemm_);
      plan(layer_spec("ffn1", rows_, h_, inter_, inter_, relu_epilogue_ ? Epilogue::BiasRelu : Epilogue::None),
           ffn1_gemm_);
      plan(layer_spec("ffn2", rows_, inter_, h_, h_), ffn2_gemm_);
    }
    allocate_fp8_input(std::max(r, memory_rows), std::max(r * std::max(h, static_cast<size_t>(inter_)), memory_rows * h));
  }

  void start(cudaStream_t s) override {
    const size_t memory_rows = static_cast<size_t>(config_.batch) * mem_len_;
    TraceStages stage;
    stage("memory_kv");
    for (int layer = 0; layer < config_.layers; ++layer) {
      void* kv = memory_kv(layer);
      layer_gemm(cross_kv_gemm_, memory_.get(), Input::New, layer, Tensor::DecCrossKvW, 0, kv, nullptr, s);
      add_bias(dtype_, kv, weight(layer, Tensor::DecCrossKvB), memory_rows, 2 * h_, s);
    }
  }

  // With the persistent kernel each layer GEMM weight is generated into one scratch buffer and packed
  // from it, in stream order: its plain copies never exist side by side with the packed ones.
  void fill(cudaStream_t s) override {
    StackBase::fill(s);
    if (!persistent_) return;
    size_t largest = 0;
    for (const PersistentGemm& gemm : kPersistentGemms) {
      largest = std::max(largest, static_cast<size_t>(gemm_k(gemm)) * gemm_n(gemm));
    }
    const DeviceBuffer plain = buffer(largest, "decoder weight before packing");
    for (int l = 0; l < config_.layers; ++l) {
      for (size_t g = 0; g < kPersistentGemms.size(); ++g) {
        const PersistentGemm& gemm = kPersistentGemms[g];
        const int k = gemm_k(gemm), n = gemm_n(gemm);
        fill_tensor(dtype_, plain.get(), static_cast<size_t>(k) * n, config_, gemm.weight, l, s);
        pack_persistent_weight(dtype_, plain.get(), k, n, packed_[l][g].get(), s);
      }
    }
    check(cudaStreamSynchronize(s), "packing the decoder weights");  // before the scratch is freed
  }

  void step(void* x, int, const FinalNorm* final_norm, cudaStream_t s) override {
    if (persistent_) {
      TraceStages stage;
      stage("decoder_layers");
      PersistentDecoderArgs args = persistent_args_;
      args.x = x;
      args.final_gamma = final_norm != nullptr ? final_norm->gamma : nullptr;
      args.final_beta = final_norm != nullptr ? final_norm->beta : nullptr;
      args.final_out = final_norm != nullptr ? final_norm->out : nullptr;
      persistent_decoder_step(dtype_, args, s);
      return;
    }
    const size_t layer_cache = static_cast<size_t>(rows_) * h_ * cache_len_ * dtype_size(dtype_);
    TraceStages stage;
    stage("layernorm");
    norm(0, Tensor::DecSelfLnGamma, x, nullptr, nullptr, normed_.get(), nullptr, s);
    for (int l = 0; l < config_.layers; ++l) {
      stage("qkv_gemm");
      layer_gemm(qkv_gemm_, normed_.get(), Input::New, l, Tensor::DecSelfQkvW, 0, qkv_.get(), nullptr, s);
      stage("self_attention");
      masked_self_attention(dtype_, qkv_.get(), weight(l, Tensor::DecSelfQkvB), k_cache_.as<char>() + l * layer_cache,
                            v_cache_.as<char>() + l * layer_cache, cache_indir_, step_, ctx_.get(), rows_,
                            config_.beam, heads_, head_size_, cache_len_,
                            attention_splits(splits_.get(), rows_, heads_, self_splits_), s);
      stage("self_out_gemm");
      layer_gemm(self_out_gemm_, ctx_.get(), Input::New, l, Tensor::DecSelfOutW, 0, projected_.get(), nullptr, s);
      stage("layernorm");
      norm(l, Tensor::DecCrossLnGamma, x, projected_.get(), weight(l, Tensor::DecSelfOutB), normed_.get(), x, s);
      stage("cross_q_gemm");
      layer_gemm(cross_q_gemm_, normed_.get(), Input::New, l, Tensor::DecCrossQW, 0, query_.get(), nullptr, s);
      stage("cross_attention");
      cross_attention(dtype_, query_.get(), weight(l, Tensor::DecCrossQB), memory_kv(l), memory_lengths_dev_.as<int>(),
                      ctx_.get(), rows_, config_.beam, heads_, head_size_, mem_len_,
                      attention_splits(splits_.get(), rows_, heads_, cross_splits_), s);
      stage("cross_out_gemm");
      layer_gemm(cross_out_gemm_, ctx_.get(), Input::New, l, Tensor::DecCrossOutW, 0, projected_.get(), nullptr, s);
      stage("layernorm");
      norm(l, Tensor::DecFfnLnGamma, x, projected_.get(), weight(l, Tensor::DecCrossOutB), normed_.get(), x, s);
      stage("ffn1_gemm_relu");
      layer_gemm(ffn1_gemm_, normed_.get(), Input::New, l, Tensor::DecFfn1W, 0, inter_buf_.get(),
                 relu_epilogue_ ? weight(l, Tensor::DecFfn1B) : nullptr, s);
      if (!relu_epilogue_) bias_relu(dtype_, inter_buf_.get(), weight(l, Tensor::DecFfn1B), rows_, inter_, s);
      stage("ffn2_gemm");
      layer_gemm(ffn2_gemm_, inter_buf_.get(), Input::New, l, Tensor::DecFfn2W, 0, projected_.get(), nullptr, s);
      if (l + 1 < config_.layers) {
        stage("layernorm");
        norm(l + 1, Tensor::DecSelfLnGamma, x, projected_.get(), weight(l, Tensor::DecFfn2B), normed_.get(), x, s);
      } else if (final_norm != nullptr) {
        stage("layernorm");
        layernorm(dtype_, x, projected_.get(), weight(l, Tensor::DecFfn2B), final_norm->gamma, final_norm->beta,
                  final_norm->out, rows_, h_, s);
      } else {
        stage("bias_residual");
        add_bias_residual(dtype_, x, projected_.get(), weight(l, Tensor::DecFfn2B), rows_, h_, s);
      }
    }
  }

  void reorder(const int*, int, cudaStream_t) override {}

  std::map<std::string, std::string> notes() const override {
    if (persistent_) {
      return {{"decoder_stack",
               "persistent: one cooperative kernel a step, a block an SM, 8 grid barriers a layer (LN + QKV | "
               "self-attention | self-out | residual + LN + cross-q | cross-attention | cross-out | residual + LN + "
               "FFN1 | FFN2)"},
              {"layer_gemms", "in the persistent kernel: mma.sync m16n8k16, weights pre-packed as A fragments, "
                              "a block per 16 output columns, the next GEMM's tile copied (cp.async) while the current stage runs"},
              {"self_attention", "in the persistent kernel: a warp per (row, head), cache indirection"},
              {"cross_attention", "in the persistent kernel: a block per (row, head), its warps splitting the memory keys"},
              {"layernorm", "in the persistent kernel: each GEMM prologue normalises its rows"}};
    }
    return {{"self_attention", std::string("masked_multihead_attention (") +
                                   (cache_indir_ != nullptr ? "cache indirection" : "no reorder") +
                                   ", up to " + std::to_string(self_splits_) + " blocks per head)"},
            {"cross_attention", "cross_attention (memory K/V shared by the beams of a sentence, up to " +
                                    std::to_string(cross_splits_) + " blocks per head)"},
            {"layernorm", "add_bias_residual_layernorm (residual sum and next LN in one pass)"},
            {"ffn1_bias_relu", relu_epilogue_ ? "cuBLASLt epilogue" : "add_bias_relu kernel"}};
  }

 private:
  void* memory_kv(int layer) const {
    return memory_kv_.as<char>() +
           static_cast<size_t>(layer) * config_.batch * mem_len_ * 2 * h_ * dtype_size(dtype_);
  }

  // The persistent kernel (persistent_decoder.h) where it takes the shape and pays: fp16/bf16 at up to
  // kPersistentRows rows. Measured on the H200 (NOTES.md, decoder version 9; FT decoding, 32 steps):
  // b1 greedy 8.72 → 6.66 ms and b4 beam 4 (16 rows) 9.40 → 8.37 ms, but b8 beam 4 (32 rows) 9.61 →
  // 10.91 ms: past 16 rows each block's LayerNorm prologue walks 4 rows a warp. FTBENCH_PERSISTENT=0
  // keeps the kernel-per-operation stack, =1 takes the persistent one wherever it is supported (A/B).
  static constexpr int kPersistentRows = 16;
  static bool use_persistent(const ModelConfig& config, DType dtype, int rows) {
    const char* setting = std::getenv("FTBENCH_PERSISTENT");
    const std::string forced = setting != nullptr ? setting : "";
    if (forced == "0" || config.precision == Precision::FP8) return false;
    if (forced != "1" && rows > kPersistentRows) return false;
    return persistent_decoder_supported(dtype, config.layers, rows, config.heads, config.head_size, config.hidden(),
                                        config.inter_size, config.seq, config.memory_len());
  }

  // The six layer GEMMs of the persistent kernel: which weight, and its k and n as multiples of h and
  // inter (k = kh·h + ki·inter).
  struct PersistentGemm {
    Tensor weight;
    int k_h, k_inter, n_h, n_inter;
  };
  static constexpr std::array<PersistentGemm, 6> kPersistentGemms{{{Tensor::DecSelfQkvW, 1, 0, 3, 0},
                                                                   {Tensor::DecSelfOutW, 1, 0, 1, 0},
                                                                   {Tensor::DecCrossQW, 1, 0, 1, 0},
                                                                   {Tensor::DecCrossOutW, 1, 0, 1, 0},
                                                                   {Tensor::DecFfn1W, 1, 0, 0, 1},
                                                                   {Tensor::DecFfn2W, 0, 1, 1, 0}}};
  int gemm_k(const PersistentGemm& g) const { return g.k_h * h_ + g.k_inter * inter_; }
  int gemm_n(const PersistentGemm& g) const { return g.n_h * h_ + g.n_inter * inter_; }

  // Packed weights, the second residual buffer and the kernel's fixed arguments.
  void prepare_persistent() {
    x_alt_ = buffer(static_cast<size_t>(rows_) * h_, "decoder residual (second buffer)");
    packed_.resize(config_.layers);
    PersistentDecoderArgs& a = persistent_args_;
    a = PersistentDecoderArgs{};
    a.layers = config_.layers;
    a.rows = rows_;
    a.beam = config_.beam;
    a.heads = heads_;
    a.head_size = head_size_;
    a.hidden = h_;
    a.inter = inter_;
    a.cache_len = cache_len_;
    a.mem_len = mem_len_;
    a.eps = 1e-6f;  // the stack's LayerNorms' (StackBase::norm)
    a.step = step_;
    a.cache_indir = cache_indir_;
    a.memory_lengths = memory_lengths_dev_.as<int>();
    a.x_alt = x_alt_.get();
    a.qkv = qkv_.get();
    a.ctx = ctx_.get();
    a.query = query_.get();
    a.projected = projected_.get();
    a.inter_buf = inter_buf_.get();
    const size_t layer_cache = static_cast<size_t>(rows_) * h_ * cache_len_ * dtype_size(dtype_);
    for (int l = 0; l < config_.layers; ++l) {
      for (size_t g = 0; g < kPersistentGemms.size(); ++g) {
        const PersistentGemm& gemm = kPersistentGemms[g];
        packed_[l][g] = DeviceBuffer(persistent_weight_bytes(dtype_, gemm_k(gemm), gemm_n(gemm)), "packed decoder weight");
      }
      PersistentLayer& layer = a.layer[l];
      layer = {packed_[l][0].get(), packed_[l][1].get(), packed_[l][2].get(), packed_[l][3].get(),
               packed_[l][4].get(), packed_[l][5].get(), weight(l, Tensor::DecSelfQkvB), weight(l, Tensor::DecSelfOutB),
               weight(l, Tensor::DecCrossQB), weight(l, Tensor::DecCrossOutB), weight(l, Tensor::DecFfn1B),
               weight(l, Tensor::DecFfn2B),
               {weight(l, Tensor::DecSelfLnGamma), weight(l, Tensor::DecCrossLnGamma), weight(l, Tensor::DecFfnLnGamma)},
               {weight(l, Tensor::DecSelfLnBeta), weight(l, Tensor::DecCrossLnBeta), weight(l, Tensor::DecFfnLnBeta)},
               k_cache_.as<char>() + l * layer_cache, v_cache_.as<char>() + l * layer_cache, memory_kv(l)};
    }
  }

  const int* step_;
  const int* cache_indir_;
  // fp16/bf16 take bias+ReLU in the FFN1 GEMM's epilogue; fp32/tf32 keep the kernel, as the encoder's GELU.
  const bool relu_epilogue_;
  const bool persistent_;
  std::vector<std::array<DeviceBuffer, 6>> packed_;
  DeviceBuffer x_alt_;
  PersistentDecoderArgs persistent_args_{};
  DeviceBuffer normed_, qkv_, ctx_, query_, projected_, inter_buf_, memory_kv_, k_cache_, v_cache_;
  // Multi-block attention: blocks per (row, head) at most, and their workspace (self and cross share it:
  // they run one after the other and leave its counters at zero).
  int self_splits_ = 1, cross_splits_ = 1;
  DeviceBuffer splits_;
  Gemm qkv_gemm_, self_out_gemm_, cross_q_gemm_, cross_kv_gemm_, cross_out_gemm_, ffn1_gemm_, ffn2_gemm_;
};

class UnfusedStack final : public StackBase {
 public:
  UnfusedStack(const ModelConfig& config, CudaContext& context) : StackBase(config, context) {
    const size_t r = rows_, h = h_;
    const size_t memory_rows = r * mem_len_;  // replicated per beam
    const int batches = rows_ * heads_;
    const size_t cache_plane_bytes = r * h * cache_len_ * dtype_size(dtype_);
    const size_t memory_plane_bytes = memory_rows * h * dtype_size(dtype_);
    normed_ = buffer(r * h, "decoder normed input");
    for (DeviceBuffer& b : qkv_) b = buffer(r * h, "decoder q/k/v");
    ctx_ = buffer(r * h, "decoder attention context");
    projected_ = buffer(r * h, "decoder projection output");
    inter_buf_ = buffer(r * inter_, "decoder ffn intermediate");
    scores_ = buffer(static_cast<size_t>(batches) * std::max(cache_len_, mem_len_), "decoder attention scores");
    memory_rows_ = buffer(memory_rows * h, "decoder memory per beam");
    memory_proj_ = buffer(memory_rows * h, "decoder memory projection");
    memory_k_ = buffer(config.layers * memory_rows * h, "decoder memory K");
    memory_v_ = buffer(config.layers * memory_rows * h, "decoder memory V");
    // [2 (K, V), layers, rows, heads, cache_len, D], twice: the reorder copies one into the other.
    for (DeviceBuffer& c : caches_) c = buffer(2 * config.layers * r * h * cache_len_, "decoder K/V caches");
    memory_token_rows_ = DeviceBuffer(memory_rows * sizeof(int), "memory token rows");

    const char* roles[3] = {"q", "k", "v"};
    for (int j = 0; j < 3; ++j) {
      plan(layer_spec(roles[j], rows_, h_, h_, 3 * h_, Epilogue::None, j * h), qkv_gemm_[j]);
    }
    // One query row per (row, head): the contexts land straight in the merged [rows, heads·D] layout.
    plan(attention_scores("self_scores", dtype_, tf32_, batches, 1, cache_len_, head_size_, cache_plane_bytes),
         self_scores_gemm_);
    plan(attention_context("self_context", dtype_, tf32_, batches, 1, cache_len_, head_size_, cache_plane_bytes),
         self_context_gemm_);
    plan(layer_spec("self_out", rows_, h_, h_, h_), self_out_gemm_);
    plan(layer_spec("cross_q", rows_, h_, h_, h_), cross_q_gemm_);
    for (int j = 0; j < 2; ++j) {
      plan(layer_spec(j == 0 ? "cross_k" : "cross_v", static_cast<int>(memory_rows), h_, h_, 2 * h_, Epilogue::None, j * h),
           cross_kv_gemm_[j]);
    }
    plan(attention_scores("cross_scores", dtype_, tf32_, batches, 1, mem_len_, head_size_, memory_plane_bytes),
         cross_scores_gemm_);
    plan(attention_context("cross_context", dtype_, tf32_, batches, 1, mem_len_, head_size_, memory_plane_bytes),
         cross_context_gemm_);
    plan(layer_spec("cross_out", rows_, h_, h_, h_), cross_out_gemm_);
    plan(layer_spec("ffn1", rows_, h_, inter_, inter_), ffn1_gemm_);
    plan(layer_spec("ffn2", rows_, inter_, h_, h_), ffn2_gemm_);
    allocate_fp8_input(memory_rows, std::max(r * inter_, memory_rows * h));
  }

  void fill(cudaStream_t s) override {
    StackBase::fill(s);
    std::vector<int> token_rows;
    for (int r = 0; r < rows_; ++r) {
      for (int m = 0; m < mem_len_; ++m) token_rows.push_back(r / config_.beam * mem_len_ + m);
    }
    check(cudaMemcpy(memory_token_rows_.get(), token_rows.data(), token_rows.size() * sizeof(int),
                     cudaMemcpyHostToDevice),
          "uploading memory token rows");
  }

  void start(cudaStream_t s) override {
    TraceStages stage;
    stage("cache_clear");
    // Every score column is computed, masked or not: stale entries must be finite.
    for (DeviceBuffer& c : caches_) check(cudaMemsetAsync(c.get(), 0, c.bytes(), s), "clearing the K/V caches");
    const int memory_rows = rows_ * mem_len_;
    stage("memory_kv");
    gather_rows(dtype_, memory_.get(), memory_rows_.get(), memory_token_rows_.as<int>(), memory_rows, h_, s);
    for (int l = 0; l < config_.layers; ++l) {
      for (int j = 0; j < 2; ++j) {
        layer_gemm(cross_kv_gemm_[j], memory_rows_.get(), j == 0 ? Input::New : Input::Same, l, Tensor::DecCrossKvW,
                   j * h_, memory_proj_.get(), nullptr, s);
        add_bias(dtype_, memory_proj_.get(), columns(l, Tensor::DecCrossKvB, j, h_), memory_rows, h_, s);
        split_heads(dtype_, memory_proj_.get(), h_, memory_plane(j == 0 ? memory_k_ : memory_v_, l), rows_, mem_len_,
                    heads_, head_size_, s);
      }
    }
  }

  void step(void* x, int t, const FinalNorm* final_norm, cudaStream_t s) override {
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_size_));
    const size_t rh = static_cast<size_t>(rows_) * h_;
    // The stages of the fused variant, each kernel under the stage of the fused kernel doing its work
    // (the q/k/v biases and the cache write under self_attention), the encoder's way.
    TraceStages stage;
    for (int l = 0; l < config_.layers; ++l) {
      stage("layernorm");
      norm(l, Tensor::DecSelfLnGamma, x, nullptr, nullptr, normed_.get(), nullptr, s);
      for (int j = 0; j < 3; ++j) {
        stage("qkv_gemm");
        layer_gemm(qkv_gemm_[j], normed_.get(), j == 0 ? Input::New : Input::Same, l, Tensor::DecSelfQkvW, j * h_,
                   qkv_[j].get(), nullptr, s);
        stage("self_attention");
        add_bias(dtype_, qkv_[j].get(), columns(l, Tensor::DecSelfQkvB, j, h_), rows_, h_, s);
      }
      void* k_cache = cache_plane(0, l);
      void* v_cache = cache_plane(1, l);
      write_kv_cache(dtype_, qkv_[1].get(), qkv_[2].get(), k_cache, v_cache, t, rows_, heads_, head_size_, cache_len_, s);
      self_scores_gemm_.run(qkv_[0].get(), k_cache, scores_.get(), nullptr, 1.0f, s);
      masked_softmax(dtype_, scores_.get(), rows_, heads_, config_.beam, cache_len_, scale, t + 1, nullptr, s);
      self_context_gemm_.run(scores_.get(), v_cache, ctx_.get(), nullptr, 1.0f, s);
      residual_projection(stage, "self_out_gemm", self_out_gemm_, l, Tensor::DecSelfOutW, x, s);

      stage("layernorm");
      norm(l, Tensor::DecCrossLnGamma, x, nullptr, nullptr, normed_.get(), nullptr, s);
      stage("cross_q_gemm");
      layer_gemm(cross_q_gemm_, normed_.get(), Input::New, l, Tensor::DecCrossQW, 0, qkv_[0].get(), nullptr, s);
      stage("cross_attention");
      add_bias(dtype_, qkv_[0].get(), weight(l, Tensor::DecCrossQB), rows_, h_, s);
      cross_scores_gemm_.run(qkv_[0].get(), memory_plane(memory_k_, l), scores_.get(), nullptr, 1.0f, s);
      masked_softmax(dtype_, scores_.get(), rows_, heads_, config_.beam, mem_len_, scale, 0,
                     memory_lengths_dev_.as<int>(), s);
      cross_context_gemm_.run(scores_.get(), memory_plane(memory_v_, l), ctx_.get(), nullptr, 1.0f, s);
      residual_projection(stage, "cross_out_gemm", cross_out_gemm_, l, Tensor::DecCrossOutW, x, s);

      stage("layernorm");
      norm(l, Tensor::DecFfnLnGamma, x, nullptr, nullptr, normed_.get(), nullptr, s);
      stage("ffn1_gemm_relu");
      layer_gemm(ffn1_gemm_, normed_.get(), Input::New, l, Tensor::DecFfn1W, 0, inter_buf_.get(), nullptr, s);
      add_bias(dtype_, inter_buf_.get(), weight(l, Tensor::DecFfn1B), rows_, inter_, s);
      bias_relu(dtype_, inter_buf_.get(), nullptr, rows_, inter_, s);
      stage("ffn2_gemm");
      layer_gemm(ffn2_gemm_, inter_buf_.get(), Input::New, l, Tensor::DecFfn2W, 0, projected_.get(), nullptr, s);
      stage("bias_residual");
      add_bias(dtype_, projected_.get(), weight(l, Tensor::DecFfn2B), rows_, h_, s);
      add_tensors(dtype_, x, x, projected_.get(), rh, s);
    }
    if (final_norm != nullptr) {
      stage("layernorm");
      layernorm(dtype_, x, nullptr, nullptr, final_norm->gamma, final_norm->beta, final_norm->out, rows_, h_, s);
    }
  }

  void reorder(const int* parents, int t, cudaStream_t s) override {
    TraceStages stage;
    stage("cache_reorder");
    reorder_cache(dtype_, caches_[current_].get(), caches_[1 - current_].get(), parents, 2 * config_.layers, rows_,
                  config_.beam, heads_, head_size_, cache_len_, t, s);
    current_ = 1 - current_;
  }

  std::map<std::string, std::string> notes() const override {
    return {{"self_attention", "unfused (q/k/v GEMMs, cache write, batched GEMMs over the cache, masked softmax)"},
            {"cross_attention", "unfused (memory K/V replicated per beam, batched GEMMs, masked softmax)"},
            {"layernorm", "layernorm + add_bias + add_residual kernels"},
            {"ffn1_bias_relu", "add_bias and relu kernels"}};
  }

 private:
  // x += ctx · W + b, in three kernels: the GEMM under `gemm_stage`, then bias_residual.
  void residual_projection(TraceStages& stage, const char* gemm_stage, const Gemm& gemm, int layer, Tensor w, void* x,
                           cudaStream_t s) {
    stage(gemm_stage);
    layer_gemm(gemm, ctx_.get(), Input::New, layer, w, 0, projected_.get(), nullptr, s);
    stage("bias_residual");
    add_bias(dtype_, projected_.get(), weight(layer, static_cast<Tensor>(static_cast<int>(w) + 1)), rows_, h_, s);
    add_tensors(dtype_, x, x, projected_.get(), static_cast<size_t>(rows_) * h_, s);
  }
  // K (kv 0) or V (kv 1) cache of a layer in the current cache buffer.
  void* cache_plane(int kv, int layer) const {
    const size_t plane = static_cast<size_t>(rows_) * h_ * cache_len_ * dtype_size(dtype_);
    return caches_[current_].as<char>() + (static_cast<size_t>(kv) * config_.layers + layer) * plane;
  }
  void* memory_plane(const DeviceBuffer& memory, int layer) const {
    return memory.as<char>() + static_cast<size_t>(layer) * rows_ * mem_len_ * h_ * dtype_size(dtype_);
  }

  DeviceBuffer normed_, ctx_, projected_, inter_buf_, scores_, memory_rows_, memory_proj_, memory_k_, memory_v_,
      memory_token_rows_;
  std::array<DeviceBuffer, 3> qkv_;
  std::array<DeviceBuffer, 2> caches_;
  int current_ = 0;
  std::array<Gemm, 3> qkv_gemm_;
  std::array<Gemm, 2> cross_kv_gemm_;
  Gemm self_scores_gemm_, self_context_gemm_, self_out_gemm_, cross_q_gemm_, cross_scores_gemm_, cross_context_gemm_,
      cross_out_gemm_, ffn1_gemm_, ffn2_gemm_;
};

}  // namespace

std::unique_ptr<DecoderStack> make_decoder_stack(const ModelConfig& config, CudaContext& context, const int* step,
                                                 const int* cache_indir) {
  if (config.variant == Variant::Fused) return std::make_unique<FusedStack>(config, context, step, cache_indir);
  return std::make_unique<UnfusedStack>(config, context);
}

}  // namespace ftb::cuda
