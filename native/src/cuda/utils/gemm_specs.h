// The GEMM specs of the engine (row-major, see gemm/gemm.h), built in one place: the models' dense
// layers and attention products, and the calibration's square GEMM.
#pragma once
#include <initializer_list>
#include <string>

#include "cuda/gemm/gemm.h"

namespace ftb::cuda {

// Largest power of two (at most 256) dividing every byte offset: what the GEMM may assume of its pointers.
int alignment_of(std::initializer_list<size_t> byte_offsets);

// y[rows, out] = x[rows, in] · W[in, out], W a row-major weight whose rows are `ldb` apart.
GemmSpec dense(const std::string& role, DType dtype, bool tf32, int rows, int in, int out, int ldb,
               Epilogue epilogue = Epilogue::None, int alignment = 256);

// The fp8 form of dense (gemm.h): y[rows, out] (fp16) = x[rows, in] (E4M3) · Wᵀ with W the E4M3
// weight stored [out, in] (models/fp8_weights.h quantizes it into that layout), each with its scale.
GemmSpec dense_fp8(const std::string& role, int rows, int in, int out, Epilogue epilogue = Epilogue::None,
                   int alignment = 256);

// Strided-batched over `batches` (batch·heads) attention matrices, one per head, packed one after
// the other: scores[queries, keys] = q[queries, D]·K[keys, D]ᵀ. The encoder has queries = keys = seq;
// a decoder step one query over its cache or memory, whose K/V are read at offsets that are
// multiples of `plane_bytes` (0: none).
GemmSpec attention_scores(const std::string& role, DType dtype, bool tf32, int batches, int queries, int keys,
                          int head_size, size_t plane_bytes = 0);

// context[queries, D] = p[queries, keys]·V[keys, D], batched as attention_scores.
GemmSpec attention_context(const std::string& role, DType dtype, bool tf32, int batches, int queries, int keys,
                           int head_size, size_t plane_bytes = 0);

}  // namespace ftb::cuda
