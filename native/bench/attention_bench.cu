// Standalone correctness and timing check of the fused encoder's attention kernel (fused_attention in
// src/cuda/kernels/attention.h), runnable on a GPU machine without Node or cuBLAS. Inputs are random,
// never zero (q|k|v and the QKV bias); the context is poisoned (NaN) before every run so an unwritten
// row fails. The reference is a plain fp32 CUDA kernel of the same math that, unlike the fused
// kernel, adds the k bias (softmax cancels it) and the v bias per key; it covers the first 8 sequences
// of each shape (the rest are checked for NaN only). Timing: CUDA events around one
// launch, L2 flushed before each, median of 50, at full length unless the row says "rand" (lengths
// uniform in [seq/2, seq], the harness's default) or "edges" (untimed). TFLOP/s counts 4·D·heads·Σlen².
// Each timed shape also times the version-2 kernel (baselines/fused_mha_v2.cu) the same way: v2_us and
// the speedup v2_us / median_us.
// Exits 1 when a relative L2 error exceeds 2e-3 (fp16) or 1e-2 (bf16), or on any CUDA error.
//
// An argument keeps only the shapes whose label contains it (e.g. "b32 s384" under ncu).
//
// Build and run from the repository root (sm_80 works too: -arch=sm_80):
//   nvcc -std=c++17 -O3 --expt-relaxed-constexpr -arch=sm_90 -Inative/src -o /tmp/attention_bench \
//     native/bench/attention_bench.cu native/src/cuda/kernels/fused_mha.cu \
//     native/bench/baselines/fused_mha_v2.cu native/src/cuda/check.cc \
//     && /tmp/attention_bench
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "baselines/fused_mha_v2.h"
#include "bench_check.h"
#include "cuda/kernels/attention.h"

using ftb::cuda::DType;

namespace {

__device__ float to_f32(__half x) { return __half2float(x); }
__device__ float to_f32(__nv_bfloat16 x) { return __bfloat162float(x); }

// Uniform in [lo, hi) from a hash of (seed, index); exact zeros are replaced (they hide unwritten reads).
__device__ float hashed_uniform(uint32_t seed, size_t index, float lo, float hi) {
  uint32_t x = static_cast<uint32_t>(index) * 0x9E3779B9u ^ seed * 0x85EBCA6Bu ^ static_cast<uint32_t>(index >> 32);
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  x ^= x >> 16;
  const float value = lo + (hi - lo) * ((x >> 8) * (1.0f / 16777216.0f));
  return value == 0.0f ? 0.125f : value;
}

// qkv [tokens, 3H]: q and k in [-2, 2) (scores spread over a few units), v in [-1, 1); bias in [-0.5, 0.5).
template <typename T>
__global__ void fill_inputs(T* qkv, T* bias, size_t tokens, int hidden, uint32_t seed) {
  const size_t total = tokens * 3 * hidden;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const bool is_v = i % (3 * hidden) >= 2 * static_cast<size_t>(hidden);
    const float range = is_v ? 1.0f : 2.0f;
    qkv[i] = static_cast<T>(hashed_uniform(seed, i, -range, range));
    if (i < 3 * static_cast<size_t>(hidden)) bias[i] = static_cast<T>(hashed_uniform(seed + 1, i, -0.5f, 0.5f));
  }
}

// One block per (token, head): scores over the token's sequence in shared memory, fp32 throughout.
template <typename T>
__global__ void reference_attention(const T* qkv, const T* bias, float* out, const int* seq_offsets,
                                    const int* token_seq, int heads, int D) {
  extern __shared__ float shared[];  // q [D], then scores [len]
  __shared__ float reduce[32];
  const int token = blockIdx.x, h = blockIdx.y, hidden = heads * D;
  const int b = token_seq[token], start = seq_offsets[b], len = seq_offsets[b + 1] - start;
  float* q = shared;
  float* score = shared + D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    q[d] = to_f32(qkv[static_cast<size_t>(token) * 3 * hidden + h * D + d]) + to_f32(bias[h * D + d]);
  }
  __syncthreads();
  const float scale = 1.0f / sqrtf(static_cast<float>(D));
  float local_max = -INFINITY;
  for (int j = threadIdx.x; j < len; j += blockDim.x) {
    const T* k = qkv + static_cast<size_t>(start + j) * 3 * hidden + hidden + h * D;
    float dot = 0.0f;
    for (int d = 0; d < D; ++d) dot += q[d] * (to_f32(k[d]) + to_f32(bias[hidden + h * D + d]));
    score[j] = dot * scale;
    local_max = fmaxf(local_max, dot * scale);
  }
  for (int o = 16; o > 0; o >>= 1) local_max = fmaxf(local_max, __shfl_xor_sync(0xffffffffu, local_max, o));
  if (threadIdx.x % 32 == 0) reduce[threadIdx.x / 32] = local_max;
  __syncthreads();
  float row_max = -INFINITY;
  for (int w = 0; w < blockDim.x / 32; ++w) row_max = fmaxf(row_max, reduce[w]);
  __syncthreads();
  float local_sum = 0.0f;
  for (int j = threadIdx.x; j < len; j += blockDim.x) {
    score[j] = expf(score[j] - row_max);
    local_sum += score[j];
  }
  for (int o = 16; o > 0; o >>= 1) local_sum += __shfl_xor_sync(0xffffffffu, local_sum, o);
  if (threadIdx.x % 32 == 0) reduce[threadIdx.x / 32] = local_sum;
  __syncthreads();
  float row_sum = 0.0f;
  for (int w = 0; w < blockDim.x / 32; ++w) row_sum += reduce[w];
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    const float v_bias = to_f32(bias[2 * hidden + h * D + d]);
    float acc = 0.0f;
    for (int j = 0; j < len; ++j) {
      acc += score[j] * (to_f32(qkv[static_cast<size_t>(start + j) * 3 * hidden + 2 * hidden + h * D + d]) + v_bias);
    }
    out[static_cast<size_t>(token) * hidden + h * D + d] = acc / row_sum;
  }
}

// Full: every sequence `seq` long. Uniform: lengths uniform in [seq/2, seq] (the harness's default).
// Edges: uniform in [1, seq] after the tile edges 1, 64, 65, 128, 129 (one token, one key tile or
// query tile exactly, one past it).
enum class Lengths { Full, Uniform, Edges };

struct Shape {
  const char* label;
  int batch, seq, heads, head_size;
  Lengths lengths;
  bool timed;
};

std::vector<int> make_lengths(const Shape& shape, uint32_t seed) {
  std::vector<int> lengths(shape.batch, shape.seq);
  if (shape.lengths == Lengths::Full) return lengths;
  uint64_t state = 0x2545F4914F6CDD1Dull ^ seed;
  const int lo = shape.lengths == Lengths::Uniform ? std::max(1, shape.seq / 2) : 1;
  for (int& len : lengths) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    len = lo + static_cast<int>((state >> 33) % static_cast<uint64_t>(shape.seq - lo + 1));
  }
  if (shape.lengths == Lengths::Edges) {
    const int edges[] = {1, 64, 65, 128, 129};
    for (int i = 0; i < 5 && i < shape.batch; ++i) lengths[i] = std::min(edges[i], shape.seq);
  }
  return lengths;
}

template <typename T>
DType dtype_of() {
  return std::is_same_v<T, __half> ? DType::F16 : DType::BF16;
}

constexpr int kCheckedSequences = 8;

struct Outcome {
  double max_error, relative_l2, median_us, tflops, v2_us;
};

template <typename T>
Outcome run_shape(const Shape& shape, uint32_t seed, void* flush, size_t flush_bytes) {
  const std::vector<int> lengths = make_lengths(shape, seed);
  std::vector<int> offsets(shape.batch + 1, 0), token_seq;
  double score_elements = 0.0;
  for (int b = 0; b < shape.batch; ++b) {
    offsets[b + 1] = offsets[b] + lengths[b];
    token_seq.insert(token_seq.end(), lengths[b], b);
    score_elements += static_cast<double>(lengths[b]) * lengths[b];
  }
  const int tokens = offsets.back(), hidden = shape.heads * shape.head_size;
  T *qkv, *bias, *ctx;
  float* ref;
  int *d_offsets, *d_token_seq;
  cuda_ok(cudaMalloc(&qkv, sizeof(T) * tokens * 3 * hidden), "malloc qkv");
  cuda_ok(cudaMalloc(&bias, sizeof(T) * 3 * hidden), "malloc bias");
  cuda_ok(cudaMalloc(&ctx, sizeof(T) * tokens * hidden), "malloc ctx");
  cuda_ok(cudaMalloc(&ref, sizeof(float) * tokens * hidden), "malloc ref");
  cuda_ok(cudaMalloc(&d_offsets, sizeof(int) * offsets.size()), "malloc offsets");
  cuda_ok(cudaMalloc(&d_token_seq, sizeof(int) * tokens), "malloc token_seq");
  cuda_ok(cudaMemcpy(d_offsets, offsets.data(), sizeof(int) * offsets.size(), cudaMemcpyHostToDevice), "offsets");
  cuda_ok(cudaMemcpy(d_token_seq, token_seq.data(), sizeof(int) * tokens, cudaMemcpyHostToDevice), "token_seq");
  fill_inputs<T><<<1024, 256>>>(qkv, bias, tokens, hidden, seed);
  cuda_ok(cudaGetLastError(), "fill_inputs");
  const int max_len = *std::max_element(lengths.begin(), lengths.end());
  const size_t ref_smem = sizeof(float) * (shape.head_size + max_len);
  cuda_ok(cudaFuncSetAttribute(reference_attention<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024),
          "reference smem");
  // The fp32 reference is slow: it covers the first kCheckedSequences sequences (every edge length);
  // every other row is still checked for NaN (unwritten: the poison survives).
  const int checked_tokens = offsets[std::min(shape.batch, kCheckedSequences)];
  reference_attention<T><<<dim3(checked_tokens, shape.heads), 128, ref_smem>>>(qkv, bias, ref, d_offsets, d_token_seq,
                                                                        shape.heads, shape.head_size);
  cuda_ok(cudaGetLastError(), "reference_attention");

  const auto run = [&] {
    ftb::cuda::fused_attention(dtype_of<T>(), qkv, bias, ctx, d_offsets, shape.batch, shape.seq, shape.heads,
                               shape.head_size, nullptr);
  };
  cuda_ok(cudaMemset(ctx, 0xFF, sizeof(T) * tokens * hidden), "poison ctx");  // 0xFFFF is NaN in fp16 and bf16
  run();
  cuda_ok(cudaDeviceSynchronize(), "fused_attention");

  std::vector<T> got(static_cast<size_t>(tokens) * hidden);
  std::vector<float> want(static_cast<size_t>(checked_tokens) * hidden);
  cuda_ok(cudaMemcpy(got.data(), ctx, sizeof(T) * got.size(), cudaMemcpyDeviceToHost), "copy ctx");
  cuda_ok(cudaMemcpy(want.data(), ref, sizeof(float) * want.size(), cudaMemcpyDeviceToHost), "copy ref");
  double max_error = 0.0, diff2 = 0.0, ref2 = 0.0;
  for (size_t i = want.size(); i < got.size(); ++i) {
    if (std::isnan(static_cast<float>(got[i]))) max_error = NAN;
  }
  for (size_t i = 0; i < want.size(); ++i) {
    const double error = std::fabs(static_cast<double>(static_cast<float>(got[i])) - want[i]);
    max_error = std::isnan(error) || std::isnan(max_error) ? NAN : std::max(max_error, error);
    diff2 += error * error;
    ref2 += static_cast<double>(want[i]) * want[i];
  }
  Outcome outcome{max_error, std::sqrt(diff2 / ref2), 0.0, 0.0, 0.0};

  if (shape.timed) {
    const auto run_v2 = [&] {
      ftb::cuda::v2::fused_attention(dtype_of<T>(), qkv, bias, ctx, d_offsets, shape.batch, shape.seq, shape.heads,
                                     shape.head_size, nullptr);
    };
    outcome.median_us = median_launch_us(run, flush, flush_bytes);
    outcome.v2_us = median_launch_us(run_v2, flush, flush_bytes);
    outcome.tflops = 4.0 * shape.head_size * shape.heads * score_elements / (outcome.median_us * 1e-6) / 1e12;
  }
  for (void* p : {static_cast<void*>(qkv), static_cast<void*>(bias), static_cast<void*>(ctx),
                  static_cast<void*>(ref), static_cast<void*>(d_offsets), static_cast<void*>(d_token_seq)}) {
    cuda_ok(cudaFree(p), "free");
  }
  return outcome;
}

const Shape kShapes[] = {
    {"edges b7 s200", 7, 200, 12, 64, Lengths::Edges, false},
    {"edges b40 s300", 40, 300, 12, 64, Lengths::Edges, false},  // enough blocks for 2 m-tiles per warp
    {"edges b7 s200", 7, 200, 12, 128, Lengths::Edges, false},
    {"b3 s1024 rand", 3, 1024, 6, 128, Lengths::Uniform, false},
    {"b1 s128", 1, 128, 12, 64, Lengths::Full, true},
    {"b8 s128", 8, 128, 12, 64, Lengths::Full, true},
    {"b32 s128", 32, 128, 12, 64, Lengths::Full, true},
    {"b32 s128 rand", 32, 128, 12, 64, Lengths::Uniform, true},
    {"b32 s384", 32, 384, 12, 64, Lengths::Full, true},
    {"b32 s384 rand", 32, 384, 12, 64, Lengths::Uniform, true},
    {"b32 s512", 32, 512, 12, 64, Lengths::Full, true},
    {"b32 s1024", 32, 1024, 12, 64, Lengths::Full, true},
    {"b32 s384 D128", 32, 384, 6, 128, Lengths::Full, true},
};

}  // namespace

int main(int argc, char** argv) {
  const std::string only = argc > 1 ? argv[1] : "";
  cudaDeviceProp props{};
  cuda_ok(cudaGetDeviceProperties(&props, 0), "device properties");
  std::printf("device: %s, %d SMs, L2 %d MB\n", props.name, props.multiProcessorCount, props.l2CacheSize >> 20);
  const size_t flush_bytes = std::max<size_t>(256u << 20, 4 * static_cast<size_t>(props.l2CacheSize));
  void* flush;
  cuda_ok(cudaMalloc(&flush, flush_bytes), "malloc flush");
  bool ok = true;
  std::printf("%-16s %-5s %4s %12s %12s %10s %9s %8s %7s\n", "shape", "dtype", "D", "max_err", "rel_l2", "median_us",
              "TFLOP/s", "v2_us", "speedup");
  uint32_t seed = 1;
  for (const Shape& shape : kShapes) {
    if (std::string(shape.label).find(only) == std::string::npos) continue;
    for (int dtype = 0; dtype < 2; ++dtype) {
      try {
        const Outcome o = dtype == 0 ? run_shape<__half>(shape, seed, flush, flush_bytes)
                                     : run_shape<__nv_bfloat16>(shape, seed, flush, flush_bytes);
        const double limit = dtype == 0 ? 2e-3 : 1e-2;
        const bool pass = o.relative_l2 <= limit && !std::isnan(o.max_error);
        ok = ok && pass;
        std::printf("%-16s %-5s %4d %12.3e %12.3e %10.1f %9.1f %8.1f %6.2fx %s\n", shape.label,
                    dtype == 0 ? "fp16" : "bf16", shape.head_size, o.max_error, o.relative_l2, o.median_us, o.tflops,
                    o.v2_us, o.median_us > 0.0 ? o.v2_us / o.median_us : 0.0, pass ? "" : "FAIL");
      } catch (const std::exception& error) {
        std::fprintf(stderr, "%s: %s\n", shape.label, error.what());
        ok = false;
      }
      ++seed;
    }
  }
  cuda_ok(cudaFree(flush), "free flush");
  std::printf(ok ? "all correct\n" : "CORRECTNESS FAILURE\n");
  return ok ? 0 : 1;
}
