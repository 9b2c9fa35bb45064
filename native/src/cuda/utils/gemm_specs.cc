#include "cuda/utils/gemm_specs.h"

namespace ftb::cuda {
namespace {

// What every spec says first: what it computes and in which types.
GemmSpec spec_for(const std::string& role, DType dtype, bool tf32) {
  GemmSpec spec;
  spec.role = role;
  spec.dtype = dtype;
  spec.tf32 = tf32;
  return spec;
}

// `batches` matrices, consecutive ones the strides (in elements) apart; every pointer aligned to
// what the strides' byte offsets and `plane_bytes` allow.
void set_batches(GemmSpec& spec, int batches, long long stride_a, long long stride_b, long long stride_c,
                 size_t plane_bytes) {
  spec.batch = batches;
  spec.stride_a = stride_a;
  spec.stride_b = stride_b;
  spec.stride_c = stride_c;
  const size_t size = dtype_size(spec.dtype);
  spec.alignment = alignment_of({spec.stride_a * size, spec.stride_b * size, spec.stride_c * size, plane_bytes});
}

}  // namespace

int alignment_of(std::initializer_list<size_t> byte_offsets) {
  int alignment = 256;
  for (size_t offset : byte_offsets) {
    while (alignment > 1 && offset % alignment != 0) alignment /= 2;
  }
  return alignment;
}

GemmSpec dense_fp8(const std::string& role, int rows, int in, int out, Epilogue epilogue, int alignment) {
  GemmSpec spec = spec_for(role, DType::F16, false);
  spec.fp8 = true;
  spec.m = rows;
  spec.n = out;
  spec.k = in;
  spec.lda = in;
  spec.trans_b = true;  // W stored [out, in]: cuBLASLt's "TN", the one form its fp8 kernels take
  spec.ldb = in;
  spec.ldc = out;
  spec.epilogue = epilogue;
  spec.alignment = alignment;
  return spec;
}

GemmSpec dense(const std::string& role, DType dtype, bool tf32, int rows, int in, int out, int ldb, Epilogue epilogue,
               int alignment) {
  GemmSpec spec = spec_for(role, dtype, tf32);
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

GemmSpec attention_scores(const std::string& role, DType dtype, bool tf32, int batches, int queries, int keys,
                          int head_size, size_t plane_bytes) {
  GemmSpec spec = spec_for(role, dtype, tf32);
  spec.m = queries;
  spec.n = keys;
  spec.k = head_size;
  spec.trans_b = true;
  spec.lda = spec.ldb = head_size;
  spec.ldc = keys;
  set_batches(spec, batches, static_cast<long long>(queries) * head_size, static_cast<long long>(keys) * head_size,
              static_cast<long long>(queries) * keys, plane_bytes);
  return spec;
}

GemmSpec attention_context(const std::string& role, DType dtype, bool tf32, int batches, int queries, int keys,
                           int head_size, size_t plane_bytes) {
  GemmSpec spec = spec_for(role, dtype, tf32);
  spec.m = queries;
  spec.n = head_size;
  spec.k = keys;
  spec.lda = keys;
  spec.ldb = spec.ldc = head_size;
  set_batches(spec, batches, static_cast<long long>(queries) * keys, static_cast<long long>(keys) * head_size,
              static_cast<long long>(queries) * head_size, plane_bytes);
  return spec;
}

}  // namespace ftb::cuda
