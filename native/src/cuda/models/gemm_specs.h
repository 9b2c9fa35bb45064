// GEMM specs shared by the models (row-major, see gemm/gemm.h).
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

}  // namespace ftb::cuda
