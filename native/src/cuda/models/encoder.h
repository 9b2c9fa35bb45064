// The BERT encoder on the GPU (native/MODEL.md), two variants:
//   unfused: padded [batch·seq] rows; separate Q, K, V GEMMs; one kernel per operation (bias add,
//            transpose, scale, mask, softmax, transpose back, residual add, LayerNorm, GELU); the
//            S×S scores materialised; captured into a CUDA graph only when config.graph asks (the
//            sweep's default for unfused is eager launches, as a framework runs it).
//   fused:   FasterTransformer-style: padding removed (every GEMM runs on Σlen packed rows); one QKV
//            GEMM; a fused attention kernel (fp16/bf16, head_size 64/128: bias, QKᵀ, mask, softmax, ·V
//            in registers) or a fused bias+split / scale+mask+softmax fallback; bias+residual+LayerNorm
//            in one kernel; bias+GELU in the FFN1 GEMM's epilogue (fp16/bf16) or one kernel; the whole
//            forward captured once into a CUDA graph and replayed (config.graph).
#pragma once
#include <memory>

#include "cuda/context.h"
#include "engine/backend.h"

namespace ftb::cuda {

// Builds the variant named by config.variant (fused or unfused); the config is validated already.
std::unique_ptr<Model> make_cuda_encoder(const ModelConfig& config, std::shared_ptr<CudaContext> context);

}  // namespace ftb::cuda
