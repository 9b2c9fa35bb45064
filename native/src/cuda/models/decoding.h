// The decoder and decoding paths on the GPU (native/MODEL.md), fused and unfused (decoder_stack.h):
//   decoder:  `seq` steps of the layer stack, step t fed DecoderInput[t].
//   decoding: embedding × √h + position -> layer stack ending with the final LN (the fused stack folds
//             it into the last layer's residual add) -> logits GEMM (vocab padded to
//             ModelConfig::vocab_padded; E4M3 at fp8, as the stack's GEMMs) -> beam search
//             (beam_search.h) or sampling (sampling.h); gather-tree at the end. fused: the step is captured once into a CUDA graph and replayed (config.graph),
//             every kernel reading t from a device counter; unfused: eager launches.
// Trace stages around the stack's own (decoder_stack.h): step_counter, step_input / embedding,
// logits_gemm, beam_search or sampling, stop_check (stop_at_end), search_init,
// finish_search, output (decoder).
// Internal pieces: step_model.h (the step loop), decoder.cc, decoding.cc.
#pragma once
#include <memory>

#include "cuda/context.h"
#include "engine/backend.h"

namespace ftb::cuda {

// Build the variant named by config.variant; the config is validated already.
std::unique_ptr<Model> make_cuda_decoder(const ModelConfig& config, std::shared_ptr<CudaContext> context);
std::unique_ptr<Model> make_cuda_decoding(const ModelConfig& config, std::shared_ptr<CudaContext> context);

}  // namespace ftb::cuda
