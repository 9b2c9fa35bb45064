// The skinny GEMM: C[m, n] = alpha · A[m, k] · B[k, n] (+ bias[n], then GELU (tanh form) or ReLU) for
// the few-row products of small-batch decoding (m = batch · beam ≤ kSkinnyMaxRows), where a cuBLASLt
// tile kernel spends 3–5 µs on well under a microsecond of weight traffic (native/src/cuda/NOTES.md,
// "Skinny GEMM"). Row-major like the GEMM layer (gemm.h); A and B not transposed, batch 1. The GEMM
// layer runs it in place of cuBLASLt for the specs skinny_gemm_applies() accepts and records it as
// the GEMM's source ("skinny"), so a run says which ran.
#pragma once
#include <cuda_runtime.h>

#include "cuda/gemm/gemm.h"

namespace ftb::cuda {

// Up to this many rows the skinny kernel runs (measured on the H200; NOTES.md).
constexpr int kSkinnyMaxRows = 32;

// Whether `spec` is a product the skinny kernel computes: 16-bit or plain fp32 storage (not tf32),
// batch 1, no transposes, 1 ≤ m ≤ kSkinnyMaxRows, n and the leading dimensions whole 16-byte vectors,
// pointers 16-byte aligned.
bool skinny_gemm_applies(const GemmSpec& spec);

// Runs `spec` (which skinny_gemm_applies accepts) on `stream`; bias is read by the bias epilogues.
void skinny_gemm(const GemmSpec& spec, const void* a, const void* b, void* c, const void* bias, float alpha,
                 cudaStream_t stream);

}  // namespace ftb::cuda
