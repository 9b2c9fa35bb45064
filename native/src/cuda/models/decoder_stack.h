// The pre-LN decoder layer stack on the GPU (native/MODEL.md, "Decoder"), shared by the decoder and
// decoding paths, in two variants:
//   fused:   QKV GEMM -> masked_multihead_attention (bias, new K/V into the cache, q·K, softmax, ·V;
//            beams read their ancestors' entries through the cache indirection table) -> output GEMM
//            -> add_bias_residual_layernorm (the residual sum and the next LN in one pass) -> cross q
//            GEMM -> cross_attention over the sentence's memory K/V (shared by its beams) -> ... ->
//            FFN1 with bias+ReLU in the GEMM epilogue (fp16/bf16) -> FFN2 -> residual + next LN.
//   unfused: one kernel per operation: q, k, v GEMMs, bias adds, cache write, q·Kᵀ and p·V as
//            strided-batched GEMMs over the whole cache with a masked softmax between, residual adds,
//            LayerNorms; memory K/V replicated per beam; the caches copied by parents on reorder.
// At fp8 (native/MODEL.md, "fp8") every layer GEMM of both variants (qkv or q/k/v, self out, cross q,
// the memory K/V, cross out, FFN1, FFN2) is a cuBLASLt E4M3 matmul, its input quantized per row just
// before it under the GEMM's stage (decoder_stack_base.h); attention, LayerNorm and caches stay fp16.
// Trace stages (timing/kernel_trace.h), the same in both variants: memory_kv (and cache_clear) per
// run; per layer of a step layernorm, qkv_gemm, self_attention, self_out_gemm, cross_q_gemm,
// cross_attention, cross_out_gemm, ffn1_gemm_relu, ffn2_gemm, bias_residual (the unfused residual
// adds; fused, only the last layer's, without a final LayerNorm); cache_reorder (unfused).
#pragma once
#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "cuda/context.h"

namespace ftb::cuda {

class DecoderStack {
 public:
  virtual ~DecoderStack() = default;
  // Fills weights, memory and memory lengths (the reference's exact values).
  virtual void fill(cudaStream_t stream) = 0;
  // Per run, before step 0: every layer's memory K/V.
  virtual void start(cudaStream_t stream) = 0;
  // The LayerNorm after the last layer (decoding): out = LN(x)·gamma + beta.
  struct FinalNorm {
    const void* gamma;
    const void* beta;
    void* out;
  };
  // Step t over rows x [batch·beam, h] (storage type), in place. The fused variant reads t from the
  // step counter given at construction (so the step can be captured once); the unfused one uses `t`.
  // With `final_norm`, the step ends with it; the fused variant folds it into the last layer's residual
  // add and leaves x without that add (the persistent kernel leaves an earlier residual sum there; the
  // decoding re-embeds x before reading it again).
  virtual void step(void* x, int t, const FinalNorm* final_norm, cudaStream_t stream) = 0;
  // After beam search at step t: row r continues the caches of row r - r % beam + parents[r]. The
  // unfused variant copies them; the fused one reads the indirection table, so does nothing.
  virtual void reorder(const int* parents, int t, cudaStream_t stream) = 0;
  virtual std::map<std::string, std::string> notes() const = 0;

  std::vector<GemmChoice> gemms() const { return gemms_.choices(); }
  const std::vector<int>& memory_lengths() const { return memory_lengths_; }

 protected:
  GemmPlans gemms_;
  std::vector<int> memory_lengths_;
};

// `step` is the device step counter; `cache_indir` ([2, rows, seq], see beam_search.h) is null when
// beams never reorder (the decoder path, beam 1).
std::unique_ptr<DecoderStack> make_decoder_stack(const ModelConfig& config, CudaContext& context, const int* step,
                                                 const int* cache_indir);

}  // namespace ftb::cuda
