// The decoding path on the GPU (models/decoding.h): embedding, the layer stack, the logits GEMM and
// the search, per step, over StepModel.
#include "cuda/models/decoding.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/position.h"
#include "common/tensors.h"
#include "cuda/buffer.h"
#include "cuda/check.h"
#include "cuda/kernels/beam_search.h"
#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/fill.h"
#include "cuda/kernels/segmented_sort.h"
#include "cuda/kernels/step_input.h"
#include "cuda/models/decoder_stack.h"
#include "cuda/models/fp8_weights.h"
#include "cuda/models/sampler.h"
#include "cuda/models/step_model.h"
#include "cuda/timing/kernel_trace.h"
#include "cuda/utils/gemm_specs.h"

namespace ftb::cuda {
namespace {

class CudaDecoding final : public StepModel {
 public:
  CudaDecoding(const ModelConfig& config, std::shared_ptr<CudaContext> context)
      : StepModel(config, std::move(context)),
        fused_(config.variant == Variant::Fused),
        fp8_(config.precision == Precision::FP8),
        vocab_padded_(config.vocab_padded()),
        // fp16/bf16 add the logits bias in the GEMM epilogue (as the FFN1 ReLU); fp32/tf32 keep the kernel.
        bias_epilogue_(fused_ && dtype_ != DType::F32),
        search_(search_kind(config)),
        topk_chunks_(beam_topk_chunks(config.vocab, config.rows(), config.beam)) {
    const int seq = config.seq, rows = rows_, vocab = config.vocab;
    const bool indirection = search_ == Search::BeamTopK && config.beam > 1;
    int_buffers_.resize(kIntBuffers);
    const size_t int_sizes[kIntBuffers] = {static_cast<size_t>(rows), static_cast<size_t>(rows), static_cast<size_t>(rows),
                                           static_cast<size_t>(rows), static_cast<size_t>(seq) * rows,
                                           static_cast<size_t>(seq) * rows, static_cast<size_t>(rows) * seq,
                                           static_cast<size_t>(rows), indirection ? 2 * static_cast<size_t>(rows) * seq : 0};
    for (int i = 0; i < kIntBuffers; ++i) int_buffers_[i] = DeviceBuffer(int_sizes[i] * sizeof(int), "decoding search state");
    cum_ = DeviceBuffer(rows * sizeof(float), "decoding cum log-probs");
    out_cum_ = DeviceBuffer(rows * sizeof(float), "decoding output cum log-probs");
    out_scores_ = DeviceBuffer(rows * sizeof(float), "decoding output scores");
    stack_ = make_decoder_stack(config, *context_, step(), indirection ? ints(kIndir) : nullptr);

    embedding_ = buffer(static_cast<size_t>(vocab) * h_, "embedding");
    final_gamma_ = buffer(h_, "final LN gamma");
    final_beta_ = buffer(h_, "final LN beta");
    if (fp8_) {
      // E4M3 [vocab_padded, h] only (the padding channels zero), its input quantized per row each step.
      logits_fp8_ = Fp8Weights({{Tensor::LogitsW, h_, vocab_padded_, vocab}}, 1, "logits");
      logits_input_ = Fp8Activations(rows, static_cast<size_t>(rows) * h_);
    } else {
      logits_w_ = buffer(static_cast<size_t>(h_) * vocab_padded_, "logits weights");
    }
    logits_b_ = buffer(vocab_padded_, "logits bias");
    positions_ = DeviceBuffer(static_cast<size_t>(seq) * h_ * sizeof(double), "position encodings");
    x_ = buffer(static_cast<size_t>(rows) * h_, "decoding hidden state");
    normed_ = buffer(static_cast<size_t>(rows) * h_, "decoding normed state");
    logits_ = buffer(static_cast<size_t>(rows) * vocab_padded_, "logits");
    const Epilogue logits_epilogue = bias_epilogue_ ? Epilogue::Bias : Epilogue::None;
    plan(fp8_ ? dense_fp8("logits", rows, h_, vocab_padded_, logits_epilogue)
              : dense("logits", dtype_, config.precision == Precision::TF32, rows, h_, vocab_padded_, vocab_padded_,
                      logits_epilogue),
         logits_gemm_);

    const size_t row_vocab = static_cast<size_t>(rows) * vocab;
    if (search_ == Search::BeamTopK) {
      const size_t chunks = static_cast<size_t>(rows) * topk_chunks_;
      chunk_max_ = DeviceBuffer(chunks * sizeof(float), "beam softmax statistics");
      chunk_sum_ = DeviceBuffer(chunks * sizeof(double), "beam softmax statistics");
      const size_t slots = chunks * beam_topk_slots(config.beam);
      candidate_scores_ = DeviceBuffer(slots * sizeof(float), "beam candidates");
      candidate_ids_ = DeviceBuffer(slots * sizeof(int), "beam candidates");
    } else if (search_ == Search::Beam) {
      // [rows, vocab] log-probs, candidate scores and ids, and their per-sentence sorted copies.
      log_probs_ = DeviceBuffer(row_vocab * sizeof(float), "log-probs");
      keys_ = DeviceBuffer(row_vocab * sizeof(float), "beam scores");
      ids_ = DeviceBuffer(row_vocab * sizeof(int), "beam candidate ids");
      sorted_keys_ = DeviceBuffer(row_vocab * sizeof(float), "sorted beam scores");
      sorted_ids_ = DeviceBuffer(row_vocab * sizeof(int), "sorted beam candidate ids");
      sort_ = SegmentedSort(config.batch, config.beam * vocab, "beam search");
    } else {
      sampler_ = std::make_unique<Sampler>(config);
    }
    prepare();
  }

  Outputs outputs() override {
    context_->activate();
    context_->synchronize("decoding run");
    const size_t rows = rows_, steps = steps_run_;
    Outputs out;
    out.steps_run = steps_run_;
    out.output_ids = download<int>(ints(kOutputIds), rows * steps, "output ids");
    out.step_ids = download<int>(ints(kStepIds), rows * steps, "step ids");
    out.parent_ids = download<int>(ints(kParentIds), rows * steps, "parent ids");
    out.lengths = download<int>(ints(kOutLengths), rows, "lengths");
    out.cum_log_probs = download<float>(out_cum_.get(), rows, "cum log-probs");
    out.scores = download<float>(out_scores_.get(), rows, "scores");
    return out;
  }

 protected:
  void fill() override {
    cudaStream_t s = stream();
    fill_tensor(dtype_, embedding_.get(), static_cast<size_t>(config_.vocab) * h_, config_, Tensor::Embedding, 0, s);
    fill_tensor(dtype_, final_gamma_.get(), h_, config_, Tensor::FinalLnGamma, 0, s);
    fill_tensor(dtype_, final_beta_.get(), h_, config_, Tensor::FinalLnBeta, 0, s);
    if (fp8_) {
      logits_fp8_.fill(config_, nullptr, s);
    } else {
      fill_tensor_padded(dtype_, logits_w_.get(), h_, config_.vocab, vocab_padded_, config_, Tensor::LogitsW, 0, s);
    }
    fill_tensor_padded(dtype_, logits_b_.get(), 1, config_.vocab, vocab_padded_, config_, Tensor::LogitsB, 0, s);
    std::vector<double> positions(static_cast<size_t>(config_.seq) * h_);
    for (int t = 0; t < config_.seq; ++t) {
      for (int i = 0; i < h_; ++i) positions[static_cast<size_t>(t) * h_ + i] = position_encoding(t, i, h_);
    }
    check(cudaMemcpy(positions_.get(), positions.data(), positions.size() * sizeof(double), cudaMemcpyHostToDevice),
          "uploading position encodings");
    if (search_ == Search::Beam) candidate_ids(ids_.as<int>(), rows_, config_.beam, config_.vocab, s);
  }

  void enqueue_start() override {
    TraceStages stage;
    stage("search_init");
    init_search(state(), rows_, config_.beam, config_.start_id, stream());
    stage.close();
    stack_->start(stream());
  }

  void enqueue_step(int t) override {
    cudaStream_t s = stream();
    TraceStages stage;
    stage("embedding");
    embed_tokens(dtype_, embedding_.get(), ints(kIds), positions_.as<double>(), std::sqrt(static_cast<double>(h_)),
                 step(), x_.get(), rows_, h_, s);
    stage.close();
    const DecoderStack::FinalNorm final_norm{final_gamma_.get(), final_beta_.get(), normed_.get()};
    stack_->step(x_.get(), t, &final_norm, s);
    stage("logits_gemm");
    const void* bias = bias_epilogue_ ? logits_b_.get() : nullptr;
    if (fp8_) {
      logits_input_.quantize(normed_.get(), rows_, h_, s);
      run_fp8(logits_gemm_, logits_input_, logits_fp8_, 0, Tensor::LogitsW, 0, logits_.get(), bias, s);
    } else {
      logits_gemm_.run(normed_.get(), logits_w_.get(), logits_.get(), bias, 1.0f, s);
    }
    if (!bias_epilogue_) add_bias(dtype_, logits_.get(), logits_b_.get(), rows_, vocab_padded_, s);
    stage.close();
    search(t);
    stage("step_counter");
    advance_step(step(), s);
  }

  void enqueue_finish() override {
    TraceStages stage;
    stage("finish_search");
    finish_search(state(), steps_run_, config_.batch, config_.beam, config_.length_penalty, ints(kOutputIds),
                  ints(kOutLengths), out_cum_.as<float>(), out_scores_.as<float>(), stream());
  }

  bool all_finished() override {
    TraceStages stage;
    stage("stop_check");
    const std::vector<int> finished = download<int>(ints(kFinished), rows_, "finished flags");
    return std::all_of(finished.begin(), finished.end(), [](int done) { return done != 0; });
  }

  std::map<std::string, std::string> path_notes() const override {
    const std::string chunks = " per row and " + std::to_string(topk_chunks_) + " vocabulary chunks)";
    const std::string topk =
        config_.beam <= kTopkListBeam
            ? "beam_chunk_lists (statistics and the " + std::to_string(beam_topk_slots(config_.beam)) +
                  " best logits in one pass" + chunks + " + beam_rank_lists (exact scores of the candidates) + beam_commit"
            : "beam_softmax_stats + beam_softmax_topk (radix select" + chunks + " + beam_commit";
    const std::string search =
        search_ == Search::BeamTopK ? topk
        : search_ == Search::Beam   ? "log_softmax + beam_scores + segmented radix sort + beam_commit"
                                    : sampler_->kernels();
    return {{"search", search},
            {"vocab_padded", std::to_string(vocab_padded_)},
            {"logits_bias", bias_epilogue_ ? "cuBLASLt epilogue" : "add_bias kernel"}};
  }

 private:
  // BeamTopK: fused beam search; Beam: unfused (full sort); Sampling: Sampler.
  enum class Search { BeamTopK, Beam, Sampling };
  static Search search_kind(const ModelConfig& c) {
    if (c.sampling()) return Search::Sampling;
    return c.variant == Variant::Fused ? Search::BeamTopK : Search::Beam;
  }

  // Integer device buffers, by role.
  enum IntBuffer { kFinished, kLengths, kIds, kParents, kStepIds, kParentIds, kOutputIds, kOutLengths, kIndir, kIntBuffers };
  int* ints(IntBuffer which) const { return int_buffers_[which].as<int>(); }

  SearchState state() const {
    return {cum_.as<float>(), ints(kFinished), ints(kLengths), ints(kIds), ints(kParents), ints(kStepIds),
            ints(kParentIds)};
  }

  // Under beam_search or sampling; the unfused variant's cache reorder under the stack's own stage.
  void search(int t) {
    cudaStream_t s = stream();
    const int vocab = config_.vocab, beam = config_.beam;
    TraceStages stage;
    stage(search_ == Search::Sampling ? "sampling" : "beam_search");
    switch (search_) {
      case Search::BeamTopK: {
        beam_topk(dtype_, logits_.get(), vocab_padded_, rows_, vocab, beam, config_.end_id, state(), topk_chunks_,
                  chunk_max_.as<float>(), chunk_sum_.as<double>(), candidate_scores_.as<float>(),
                  candidate_ids_.as<int>(), s);
        const CandidateLayout layout = beam_topk_layout(topk_chunks_, beam);
        beam_commit(candidate_scores_.as<float>(), candidate_ids_.as<int>(), layout.stride, layout.count, layout.ranked,
                    config_.batch, beam, vocab, config_.end_id, state(), step(),
                    int_buffers_[kIndir].bytes() > 0 ? ints(kIndir) : nullptr, config_.seq, s);
        break;
      }
      case Search::Beam:
        log_softmax(dtype_, logits_.get(), vocab_padded_, rows_, vocab, log_probs_.as<float>(), s);
        beam_scores(log_probs_.as<float>(), rows_, vocab, config_.end_id, state(), keys_.as<float>(), s);
        sort_.run(keys_.as<float>(), sorted_keys_.as<float>(), ids_.as<int>(), sorted_ids_.as<int>(), s);
        beam_commit(sorted_keys_.as<float>(), sorted_ids_.as<int>(), beam * vocab, beam, true, config_.batch, beam,
                    vocab, config_.end_id, state(), step(), nullptr, config_.seq, s);
        stage.close();
        if (beam > 1) stack_->reorder(ints(kParents), t, s);
        break;
      case Search::Sampling:
        sampler_->run(dtype_, logits_.get(), vocab_padded_, state(), step(), s);
        break;
    }
  }

  const bool fused_;
  const bool fp8_;  // precision fp8: the logits GEMM in E4M3 too (the stack's layer GEMMs: decoder_stack_base.h)
  const int vocab_padded_;
  const bool bias_epilogue_;
  const Search search_;
  const int topk_chunks_;  // vocabulary chunks per row of the fused beam search
  std::vector<DeviceBuffer> int_buffers_;
  DeviceBuffer cum_, out_cum_, out_scores_, embedding_, final_gamma_, final_beta_, logits_w_, logits_b_, positions_, x_,
      normed_, logits_, chunk_max_, chunk_sum_, candidate_scores_, candidate_ids_, keys_, ids_, sorted_keys_, sorted_ids_, log_probs_;
  SegmentedSort sort_;
  std::unique_ptr<Sampler> sampler_;
  Gemm logits_gemm_;
  Fp8Weights logits_fp8_;
  Fp8Activations logits_input_;
};

}  // namespace

std::unique_ptr<Model> make_cuda_decoding(const ModelConfig& config, std::shared_ptr<CudaContext> context) {
  return std::make_unique<CudaDecoding>(config, std::move(context));
}

}  // namespace ftb::cuda
