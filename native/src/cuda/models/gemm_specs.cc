#include "cuda/models/gemm_specs.h"

namespace ftb::cuda {

int alignment_of(std::initializer_list<size_t> byte_offsets) {
  int alignment = 256;
  for (size_t offset : byte_offsets) {
    while (alignment > 1 && offset % alignment != 0) alignment /= 2;
  }
  return alignment;
}

GemmSpec dense(const std::string& role, DType dtype, bool tf32, int rows, int in, int out, int ldb, Epilogue epilogue,
               int alignment) {
  GemmSpec spec;
  spec.role = role;
  spec.dtype = dtype;
  spec.tf32 = tf32;
  spec.m = rows;
  spec.n = out;
  spec.k = in;
  spec.lda = in;
  spec.ldb = ldb;
  spec.ldc = out;
  spec.epilogue = epilogue;
  spec.alignment = alignment;
  return spec;
}

}  // namespace ftb::cuda
