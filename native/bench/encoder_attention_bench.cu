// Standalone correctness and timing check of the fused encoder's attention (fused_attention in
// src/cuda/kernels/attention.h), runnable on a GPU machine without Node or cuBLAS: the tiled kernel
// (16 query rows per warp, FusedAttentionKernel::Tiled, the "old" columns) against what the engine
// dispatches (Best: the FlashAttention-2-split kernel of attention_flash.cu at head 64, the "new"
// columns). Inputs are random and never zero (q|k|v and the QKV bias, drawn on the host and rounded
// to fp16/bf16); lengths are full or uniform in [seq/2, seq] ("var"), plus untimed edge lengths around
// the 32-key and 64-row tile edges, sharper softmaxes (q, k 2x wider: the running max grows past its
// 2^8 slack mid-sequence) and long sequences. The reference is a host fp64 computation of
// native/MODEL.md's attention (softmax(q·kᵀ/√D)·v, q, k and v with their bias, keys past a sequence's
// length masked) over up to 7 sequences per shape (first four, middle, last two), every head and
// query; every output row is also compared with the other kernel and scanned for NaN. The context is
// poisoned (NaN) before every checked run; after timing, the new kernel's output must still match
// its checked run bit for bit (a race would move it). Timing: CUDA events around one launch after an
// L2 flush, old and new alternating, median of 30, µs per call. TFLOP/s counts the work on valid
// tokens only: 4·heads·head_size·Σlen² (q·kᵀ and P·V, 2 FLOP per multiply-add).
// Exits 1 when a relative L2 error exceeds 2e-3 (fp16) or 1e-2 (bf16), on NaN, a changed rerun or any
// CUDA error.
//
// Build and run from the repository root (sm_80 builds too: -arch=sm_80):
//   nvcc -std=c++17 -O3 --expt-relaxed-constexpr -arch=sm_90 -Inative/src -o /tmp/encoder_attention_bench \
//     native/bench/encoder_attention_bench.cu native/src/cuda/kernels/attention.cu \
//     native/src/cuda/kernels/attention_flash.cu native/src/cuda/check.cc && /tmp/encoder_attention_bench
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <random>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "cuda/kernels/attention.h"

using ftb::cuda::DType;
using ftb::cuda::FusedAttentionKernel;

namespace {

void cuda_ok(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    std::fprintf(stderr, "CUDA error in %s: %s\n", what, cudaGetErrorString(status));
    std::exit(1);
  }
}

uint16_t f32_to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits += 0x7FFFu + ((bits >> 16) & 1u);  // round to nearest even (no NaN inputs here)
  return static_cast<uint16_t>(bits >> 16);
}

float bf16_to_f32(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float x;
  std::memcpy(&x, &bits, 4);
  return x;
}

// The 16-bit pattern of x in dtype, and what it reads back as.
uint16_t to_bits(DType dtype, float x) {
  if (dtype == DType::BF16) return f32_to_bf16(x);
  const __half h = __float2half_rn(x);
  uint16_t bits;
  std::memcpy(&bits, &h, 2);
  return bits;
}

float from_bits(DType dtype, uint16_t bits) {
  if (dtype == DType::BF16) return bf16_to_f32(bits);
  __half h;
  std::memcpy(&h, &bits, 2);
  return __half2float(h);
}

enum class Lengths { Full, Var, Edges };

struct Shape {
  int batch, seq, heads, head_size;
  Lengths lengths;
  bool timed;
  float qk_range;  // q and k uniform in [-range, range); 2 gives scores of a few units
};

std::vector<int> make_lengths(const Shape& shape, std::mt19937_64& rng) {
  std::vector<int> lengths(shape.batch, shape.seq);
  if (shape.lengths == Lengths::Full) return lengths;
  std::uniform_int_distribution<int> pick(std::max(1, shape.seq / 2), shape.seq);
  for (int& len : lengths) len = pick(rng);
  if (shape.lengths == Lengths::Edges) {
    const int edges[] = {1, 31, 32, 33, 63, 64, 65, 96, 127, 128, 129, 200};
    for (int i = 0; i < shape.batch && i < 12; ++i) lengths[i] = std::min(edges[i], shape.seq);
  }
  return lengths;
}

// Host inputs: qkv [tokens, 3H] and bias [3H] as 16-bit patterns; never zero.
struct Inputs {
  std::vector<int> lengths, offsets;
  std::vector<uint16_t> qkv, bias;
  double score_elements = 0.0;  // Σ len²
};

Inputs make_inputs(const Shape& shape, DType dtype, std::mt19937_64& rng) {
  Inputs in;
  in.lengths = make_lengths(shape, rng);
  in.offsets.assign(shape.batch + 1, 0);
  for (int b = 0; b < shape.batch; ++b) {
    in.offsets[b + 1] = in.offsets[b] + in.lengths[b];
    in.score_elements += static_cast<double>(in.lengths[b]) * in.lengths[b];
  }
  const size_t hidden = static_cast<size_t>(shape.heads) * shape.head_size;
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  const auto draw = [&](float range) {
    const uint16_t bits = to_bits(dtype, range * unit(rng));
    return from_bits(dtype, bits) == 0.0f ? to_bits(dtype, 0.125f * range) : bits;
  };
  in.qkv.resize(static_cast<size_t>(in.offsets.back()) * 3 * hidden);
  for (size_t i = 0; i < in.qkv.size(); ++i) in.qkv[i] = draw(i % (3 * hidden) < 2 * hidden ? shape.qk_range : 1.0f);
  in.bias.resize(3 * hidden);
  for (uint16_t& b : in.bias) b = draw(0.5f);
  return in;
}

// MODEL.md's attention in fp64 for sequence b and head h: out [len, D] of ctx rows start.., h·D...
void reference_head(const Shape& shape, DType dtype, const Inputs& in, int b, int h, std::vector<double>& out) {
  const int D = shape.head_size, len = in.lengths[b], start = in.offsets[b];
  const size_t hidden = static_cast<size_t>(shape.heads) * D, ld = 3 * hidden;
  std::vector<double> q(static_cast<size_t>(len) * D), k(q.size()), v(q.size()), p(len);
  for (int t = 0; t < len; ++t) {
    for (int d = 0; d < D; ++d) {
      const size_t row = (start + t) * ld + h * D + d;
      q[t * D + d] = from_bits(dtype, in.qkv[row]) + from_bits(dtype, in.bias[h * D + d]);
      k[t * D + d] = from_bits(dtype, in.qkv[row + hidden]) + from_bits(dtype, in.bias[hidden + h * D + d]);
      v[t * D + d] = from_bits(dtype, in.qkv[row + 2 * hidden]) + from_bits(dtype, in.bias[2 * hidden + h * D + d]);
    }
  }
  out.assign(static_cast<size_t>(len) * D, 0.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  for (int i = 0; i < len; ++i) {
    double max = -INFINITY, sum = 0.0;
    for (int j = 0; j < len; ++j) {
      double dot = 0.0;
      for (int d = 0; d < D; ++d) dot += q[i * D + d] * k[j * D + d];
      p[j] = dot * scale;
      max = std::max(max, p[j]);
    }
    for (int j = 0; j < len; ++j) sum += (p[j] = std::exp(p[j] - max));
    for (int j = 0; j < len; ++j) {
      for (int d = 0; d < D; ++d) out[i * D + d] += p[j] / sum * v[j * D + d];
    }
  }
}

std::vector<int> checked_sequences(int batch) {
  std::vector<int> picks = {0, 1, 2, 3, batch / 2, batch - 2, batch - 1};
  std::vector<int> out;
  for (int b : picks) {
    if (b >= 0 && b < batch && std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
  }
  return out;
}

// The fp64 reference of every head of the checked sequences (computed on the host's cores) and the
// relative L2 of a kernel's ctx (16-bit patterns) against it. NaN anywhere in ctx gives NaN.
struct Reference {
  std::vector<std::pair<int, int>> heads;  // (sequence, head)
  std::vector<std::vector<double>> out;    // [len, D] each
};

Reference make_reference(const Shape& shape, DType dtype, const Inputs& in) {
  Reference ref;
  for (int b : checked_sequences(shape.batch)) {
    for (int h = 0; h < shape.heads; ++h) ref.heads.emplace_back(b, h);
  }
  ref.out.resize(ref.heads.size());
  const unsigned workers = std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(), ref.heads.size()));
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < workers; ++w) {
    pool.emplace_back([&, w] {
      for (size_t i = w; i < ref.heads.size(); i += workers) {
        reference_head(shape, dtype, in, ref.heads[i].first, ref.heads[i].second, ref.out[i]);
      }
    });
  }
  for (std::thread& t : pool) t.join();
  return ref;
}

double error_vs_reference(const Shape& shape, DType dtype, const Inputs& in, const Reference& ref,
                          const std::vector<uint16_t>& ctx) {
  for (uint16_t bits : ctx) {
    if (std::isnan(from_bits(dtype, bits))) return NAN;
  }
  const int D = shape.head_size;
  double diff2 = 0.0, ref2 = 0.0;
  for (size_t i = 0; i < ref.heads.size(); ++i) {
    const auto [b, h] = ref.heads[i];
    for (int t = 0; t < in.lengths[b]; ++t) {
      for (int d = 0; d < D; ++d) {
        const double want = ref.out[i][t * D + d];
        const double got = from_bits(dtype, ctx[(in.offsets[b] + t) * static_cast<size_t>(shape.heads) * D + h * D + d]);
        diff2 += (got - want) * (got - want);
        ref2 += want * want;
      }
    }
  }
  return std::sqrt(diff2 / ref2);
}

// Relative L2 between two kernels' outputs over every row.
double error_between(DType dtype, const std::vector<uint16_t>& a, const std::vector<uint16_t>& b) {
  double d = 0.0, r = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = from_bits(dtype, a[i]), y = from_bits(dtype, b[i]);
    d += (x - y) * (x - y);
    r += y * y;
  }
  return std::sqrt(d / r);
}

struct Device {
  uint16_t *qkv, *bias, *ctx;
  int* offsets;
  void* flush;
  size_t flush_bytes;
};

void launch(const Shape& shape, DType dtype, const Device& dev, FusedAttentionKernel kernel) {
  ftb::cuda::fused_attention(dtype, dev.qkv, dev.bias, dev.ctx, dev.offsets, shape.batch, shape.seq, shape.heads,
                             shape.head_size, nullptr, kernel);
  cuda_ok(cudaGetLastError(), "fused_attention launch");
}

// Poisons ctx (0xFFFF is NaN in fp16 and bf16), runs one kernel, returns ctx.
std::vector<uint16_t> checked_run(const Shape& shape, DType dtype, const Device& dev, FusedAttentionKernel kernel,
                                  size_t elements) {
  cuda_ok(cudaMemset(dev.ctx, 0xFF, elements * 2), "poison ctx");
  launch(shape, dtype, dev, kernel);
  cuda_ok(cudaDeviceSynchronize(), "fused_attention");
  std::vector<uint16_t> ctx(elements);
  cuda_ok(cudaMemcpy(ctx.data(), dev.ctx, elements * 2, cudaMemcpyDeviceToHost), "copy ctx");
  return ctx;
}

// Median µs of 30 single launches each after an L2 flush; old and new alternate, so both see the same
// clocks and neighbours. Returns {old, new}.
std::pair<double, double> time_pair(const Shape& shape, DType dtype, const Device& dev) {
  cudaEvent_t begin, end;
  cuda_ok(cudaEventCreate(&begin), "event");
  cuda_ok(cudaEventCreate(&end), "event");
  const FusedAttentionKernel kernels[2] = {FusedAttentionKernel::Tiled, FusedAttentionKernel::Best};
  for (int i = 0; i < 3; ++i) {
    for (FusedAttentionKernel k : kernels) launch(shape, dtype, dev, k);  // warm-up
  }
  std::vector<float> samples[2];
  for (int i = 0; i < 30; ++i) {
    for (int j = 0; j < 2; ++j) {
      const int which = (i + j) % 2;
      cuda_ok(cudaMemsetAsync(dev.flush, i & 0xFF, dev.flush_bytes), "L2 flush");
      cuda_ok(cudaEventRecord(begin), "record");
      launch(shape, dtype, dev, kernels[which]);
      cuda_ok(cudaEventRecord(end), "record");
      cuda_ok(cudaEventSynchronize(end), "sync");
      float ms = 0.0f;
      cuda_ok(cudaEventElapsedTime(&ms, begin, end), "elapsed");
      samples[which].push_back(ms);
    }
  }
  cuda_ok(cudaEventDestroy(begin), "event");
  cuda_ok(cudaEventDestroy(end), "event");
  double median[2];
  for (int j = 0; j < 2; ++j) {
    std::sort(samples[j].begin(), samples[j].end());
    median[j] = 1000.0 * samples[j][samples[j].size() / 2];
  }
  return {median[0], median[1]};
}

const char* lengths_label(Lengths l) { return l == Lengths::Full ? "full" : l == Lengths::Var ? "var" : "edges"; }

// Checks and (for timed shapes) times one shape in one dtype; prints its row; false on a failure.
bool run_shape(const Shape& shape, DType dtype, std::mt19937_64& rng, void* flush, size_t flush_bytes) {
  const Inputs in = make_inputs(shape, dtype, rng);
  const size_t tokens = in.offsets.back(), hidden = static_cast<size_t>(shape.heads) * shape.head_size;
  Device dev{nullptr, nullptr, nullptr, nullptr, flush, flush_bytes};
  cuda_ok(cudaMalloc(&dev.qkv, in.qkv.size() * 2), "malloc qkv");
  cuda_ok(cudaMalloc(&dev.bias, in.bias.size() * 2), "malloc bias");
  cuda_ok(cudaMalloc(&dev.ctx, tokens * hidden * 2), "malloc ctx");
  cuda_ok(cudaMalloc(&dev.offsets, in.offsets.size() * sizeof(int)), "malloc offsets");
  cuda_ok(cudaMemcpy(dev.qkv, in.qkv.data(), in.qkv.size() * 2, cudaMemcpyHostToDevice), "qkv");
  cuda_ok(cudaMemcpy(dev.bias, in.bias.data(), in.bias.size() * 2, cudaMemcpyHostToDevice), "bias");
  cuda_ok(cudaMemcpy(dev.offsets, in.offsets.data(), in.offsets.size() * sizeof(int), cudaMemcpyHostToDevice),
          "offsets");

  const auto old_ctx = checked_run(shape, dtype, dev, FusedAttentionKernel::Tiled, tokens * hidden);
  const auto new_ctx = checked_run(shape, dtype, dev, FusedAttentionKernel::Best, tokens * hidden);
  const Reference ref = make_reference(shape, dtype, in);
  const double err_old = error_vs_reference(shape, dtype, in, ref, old_ctx);
  const double err_new = error_vs_reference(shape, dtype, in, ref, new_ctx);
  const double err_between = error_between(dtype, new_ctx, old_ctx);
  const double limit = dtype == DType::F16 ? 2e-3 : 1e-2;
  bool ok = err_old <= limit && err_new <= limit && err_between <= limit;  // NaN fails every comparison

  double old_us = 0.0, new_us = 0.0;
  if (shape.timed) {
    std::tie(old_us, new_us) = time_pair(shape, dtype, dev);
    // Same inputs, no atomics: after 33 timed launches the new kernel must write the same bits again.
    const bool same = checked_run(shape, dtype, dev, FusedAttentionKernel::Best, tokens * hidden) == new_ctx;
    if (!same) std::printf("  new kernel's rerun differs from its checked run: a race?\n");
    ok = ok && same;
  }
  const double flop = 4.0 * shape.heads * shape.head_size * in.score_elements;
  char label[48];
  std::snprintf(label, sizeof label, "b%d s%d D%d %s", shape.batch, shape.seq, shape.head_size,
                lengths_label(shape.lengths));
  std::printf("%-22s %-4s %6zu %9.2e %9.2e %9.2e", label, dtype == DType::F16 ? "fp16" : "bf16", tokens, err_old,
              err_new, err_between);
  if (shape.timed) {
    std::printf(" %9.1f %9.1f %7.1f %7.1f %6.2fx", old_us, new_us, flop / old_us * 1e-6, flop / new_us * 1e-6,
                old_us / new_us);
  } else {
    std::printf(" %9s %9s %7s %7s %7s", "-", "-", "-", "-", "-");
  }
  std::printf("%s\n", ok ? "" : "  FAIL");
  for (void* p : {static_cast<void*>(dev.qkv), static_cast<void*>(dev.bias), static_cast<void*>(dev.ctx),
                  static_cast<void*>(dev.offsets)}) {
    cuda_ok(cudaFree(p), "free");
  }
  return ok;
}

const Shape kShapes[] = {
    {12, 200, 12, 64, Lengths::Edges, false, 2.0f},
    {8, 384, 12, 64, Lengths::Var, false, 4.0f},  // sharp softmax: the max outgrows its slack
    {4, 1024, 12, 64, Lengths::Var, false, 2.0f},
    {6, 200, 6, 128, Lengths::Edges, false, 2.0f},  // head 128: both columns run the tiled kernel
    {8, 128, 12, 64, Lengths::Full, true, 2.0f},  {8, 128, 12, 64, Lengths::Var, true, 2.0f},
    {32, 128, 12, 64, Lengths::Full, true, 2.0f}, {32, 128, 12, 64, Lengths::Var, true, 2.0f},
    {8, 384, 12, 64, Lengths::Full, true, 2.0f},  {8, 384, 12, 64, Lengths::Var, true, 2.0f},
    {32, 384, 12, 64, Lengths::Full, true, 2.0f}, {32, 384, 12, 64, Lengths::Var, true, 2.0f},
    {1, 128, 12, 64, Lengths::Full, true, 2.0f},  {1, 128, 12, 64, Lengths::Var, true, 2.0f},
    {32, 512, 12, 64, Lengths::Full, true, 2.0f}, {32, 512, 12, 64, Lengths::Var, true, 2.0f},
};

}  // namespace

int main() {
  cudaDeviceProp props{};
  cuda_ok(cudaGetDeviceProperties(&props, 0), "device properties");
  std::printf("device: %s, %d SMs, L2 %d MB; TFLOP/s = 4·heads·D·Σlen² (valid tokens only) / median time\n",
              props.name, props.multiProcessorCount, props.l2CacheSize >> 20);
  const size_t flush_bytes = std::max<size_t>(256u << 20, 4 * static_cast<size_t>(props.l2CacheSize));
  void* flush;
  cuda_ok(cudaMalloc(&flush, flush_bytes), "malloc flush");
  std::printf("%-22s %-4s %6s %9s %9s %9s %9s %9s %7s %7s %7s\n", "shape", "type", "tokens", "err_old", "err_new",
              "new~old", "old_us", "new_us", "old_TF", "new_TF", "speedup");
  std::mt19937_64 rng(21);
  bool ok = true;
  for (const Shape& shape : kShapes) {
    for (DType dtype : {DType::F16, DType::BF16}) {
      try {
        ok = run_shape(shape, dtype, rng, flush, flush_bytes) && ok;
      } catch (const std::exception& error) {
        std::printf("b%d s%d: %s  FAIL\n", shape.batch, shape.seq, error.what());
        ok = false;
      }
    }
  }
  cuda_ok(cudaFree(flush), "free flush");
  std::printf(ok ? "all correct\n" : "CORRECTNESS FAILURE\n");
  return ok ? 0 : 1;
}
