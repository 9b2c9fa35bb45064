// The skinny GEMM: C[m, n] = alpha · A[m, k] · B[k, n] (+ bias[n], then GELU (tanh form) or ReLU) for
// the few-row products of small-batch decoding (m = batch · beam) and of the batch-1 encoder (m = its
// tokens, ≤ kSkinnyMaxRows), where a cuBLASLt tile kernel spends 3–7 µs on about a microsecond of
// weight traffic (native/src/cuda/NOTES.md, "Skinny GEMM"). Row-major like the GEMM layer (gemm.h); A
// and B not transposed, batch 1, fp16 or bf16, sm_90 (thread-block clusters). Offered only under
// FTBENCH_SKINNY=1: measured on the H200 it lost to cuBLASLt at every shape, and a process that had
// timed it ran every later kernel 6–9 % slower (NOTES.md, version 12). Where offered, the GEMM layer
// times it against cuBLASLt on each shape it accepts, runs it only where it measures faster, and
// records it as the GEMM's source ("skinny"), so a run says which ran.
#pragma once
#include <cuda_runtime.h>

#include "cuda/gemm/gemm.h"

namespace ftb::cuda {

// Up to this many rows (eight m16 tiles) the skinny kernel is offered.
constexpr int kSkinnyMaxRows = 128;

// Whether `spec` is a product the skinny kernel computes on the current device: fp16 or bf16 storage,
// batch 1, no transposes, 1 ≤ m ≤ kSkinnyMaxRows, n, k and the leading dimensions whole 16-byte
// vectors, pointers 16-byte aligned, a device of compute capability 9.0 or later, and FTBENCH_SKINNY=1.
bool skinny_gemm_applies(const GemmSpec& spec);

// Runs `spec` (which skinny_gemm_applies accepts) on `stream`; bias is read by the bias epilogues.
void skinny_gemm(const GemmSpec& spec, const void* a, const void* b, void* c, const void* bias, float alpha,
                 cudaStream_t stream);

}  // namespace ftb::cuda
