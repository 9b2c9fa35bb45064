// Where the persistent decoder step kernel's time goes (kernels/persistent_decoder.h), runnable on a
// GPU machine without Node or cuBLAS: FasterTransformer's decoding layers (6 × 8 heads × 64, inter
// 2048), fp16, random non-zero weights, caches, memory and a random cache indirection table, at 1, 8
// and 32 rows and step 31 of 32 (memory 32, or the second argument). Prints µs a step (CUDA events, 20
// back-to-back launches, median of 30: hot L2, as in a decoding) and block 0's clock64 between grid
// barriers, averaged over the layers: each stage's span, barrier included. Correctness is the GPU
// tests' (test/gpu-persistent).
//   nvcc -std=c++17 -O3 -arch=sm_90 -Inative/src -o /tmp/persistent_bench native/bench/persistent_decoder_bench.cu \
//     native/src/cuda/kernels/persistent_decoder.cu native/src/cuda/check.cc && /tmp/persistent_bench
#include <cuda_fp16.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench_check.h"
#include "cuda/kernels/persistent_decoder.h"

using namespace ftb::cuda;

namespace {

constexpr int kLayers = 6, kHeads = 8, kHead = 64, kHidden = kHeads * kHead, kInter = 2048, kSteps = 32;
constexpr const char* kStages[8] = {"ln+qkv", "self-attn", "self-out", "ln+cross-q", "cross-attn", "cross-out",
                                    "ln+ffn1", "ffn2"};

// Uniform in ±scale·[0.25, 1] with a random sign: never zero.
__global__ void random_fill(__half* out, size_t count, unsigned int seed, float scale) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    unsigned int h = static_cast<unsigned int>(i) * 2654435761u ^ seed * 40503u;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    const float unit = 0.25f + 0.75f * (h & 0xFFFF) / 65535.0f;
    out[i] = __float2half((h & 0x10000) ? unit * scale : -unit * scale);
  }
}

struct Buffers {
  std::vector<void*> owned;
  __half* make(size_t count, float scale) {
    void* p = nullptr;
    cuda_ok(cudaMalloc(&p, count * sizeof(__half)), "malloc");
    random_fill<<<256, 256>>>(static_cast<__half*>(p), count, static_cast<unsigned int>(owned.size()) + 1, scale);
    owned.push_back(p);
    return static_cast<__half*>(p);
  }
  template <typename V>
  V* upload(const std::vector<V>& values) {
    void* p = nullptr;
    cuda_ok(cudaMalloc(&p, values.size() * sizeof(V)), "malloc");
    cuda_ok(cudaMemcpy(p, values.data(), values.size() * sizeof(V), cudaMemcpyHostToDevice), "upload");
    owned.push_back(p);
    return static_cast<V*>(p);
  }
  ~Buffers() {
    for (void* p : owned) cudaFree(p);
  }
};

void run(int batch, int beam, int mem) {
  const int rows = batch * beam, h = kHidden;
  Buffers b;
  PersistentDecoderArgs a{};
  a.layers = kLayers, a.rows = rows, a.beam = beam, a.heads = kHeads, a.head_size = kHead, a.hidden = h;
  a.inter = kInter, a.cache_len = kSteps, a.mem_len = mem, a.eps = 1e-6f;
  a.step = b.upload(std::vector<int>{kSteps - 1});
  std::vector<int> indir(2 * static_cast<size_t>(rows) * kSteps), lengths(batch);
  for (size_t i = 0; i < indir.size(); ++i) indir[i] = static_cast<int>(i * 7 % beam);
  for (int s = 0; s < batch; ++s) lengths[s] = mem / 2 + s % (mem / 2);
  a.cache_indir = beam > 1 ? b.upload(indir) : nullptr;
  a.memory_lengths = b.upload(lengths);
  a.x = b.make(static_cast<size_t>(rows) * h, 1.0f);
  a.x_alt = b.make(static_cast<size_t>(rows) * h, 1.0f);
  a.qkv = b.make(static_cast<size_t>(rows) * 3 * h, 1.0f);
  a.ctx = b.make(static_cast<size_t>(rows) * h, 1.0f);
  a.query = b.make(static_cast<size_t>(rows) * h, 1.0f);
  a.projected = b.make(static_cast<size_t>(rows) * h, 1.0f);
  a.inter_buf = b.make(static_cast<size_t>(rows) * kInter, 1.0f);
  a.final_gamma = b.make(h, 1.0f);
  a.final_beta = b.make(h, 0.1f);
  a.final_out = b.make(static_cast<size_t>(rows) * h, 1.0f);
  const auto packed = [&](int k, int n) {
    __half* w = b.make(static_cast<size_t>(k) * n, 0.04f);
    __half* p = b.make(static_cast<size_t>(k) * n, 0.0f);
    pack_persistent_weight(DType::F16, w, k, n, p, nullptr);
    return p;
  };
  for (int l = 0; l < kLayers; ++l) {
    PersistentLayer& layer = a.layer[l];
    layer.qkv_w = packed(h, 3 * h), layer.self_out_w = packed(h, h), layer.cross_q_w = packed(h, h);
    layer.cross_out_w = packed(h, h), layer.ffn1_w = packed(h, kInter), layer.ffn2_w = packed(kInter, h);
    layer.qkv_b = b.make(3 * h, 0.1f), layer.self_out_b = b.make(h, 0.1f), layer.cross_q_b = b.make(h, 0.1f);
    layer.cross_out_b = b.make(h, 0.1f), layer.ffn1_b = b.make(kInter, 0.1f), layer.ffn2_b = b.make(h, 0.1f);
    for (int n = 0; n < 3; ++n) layer.ln_gamma[n] = b.make(h, 1.0f), layer.ln_beta[n] = b.make(h, 0.1f);
    layer.k_cache = b.make(static_cast<size_t>(rows) * h * kSteps, 1.0f);
    layer.v_cache = b.make(static_cast<size_t>(rows) * h * kSteps, 1.0f);
    layer.memory_kv = b.make(static_cast<size_t>(batch) * mem * 2 * h, 1.0f);
  }
  cuda_ok(cudaDeviceSynchronize(), "setup");
  if (!persistent_decoder_supported(DType::F16, kLayers, rows, kHeads, kHead, h, kInter, kSteps, mem)) {
    std::printf("rows %d: not supported\n", rows);
    return;
  }
  const double step_us = back_to_back_us([&] { persistent_decoder_step(DType::F16, a, nullptr); });
  const int clocks = 8 * kLayers + 2, gemm_clocks = 6 * 3 * kLayers;
  a.stage_clocks = b.upload(std::vector<long long>(clocks));
  a.gemm_clocks = b.upload(std::vector<long long>(gemm_clocks));
  persistent_decoder_step(DType::F16, a, nullptr);
  std::vector<long long> c(clocks), g(gemm_clocks);
  cuda_ok(cudaMemcpy(c.data(), a.stage_clocks, clocks * sizeof(long long), cudaMemcpyDeviceToHost), "clocks");
  cuda_ok(cudaMemcpy(g.data(), a.gemm_clocks, gemm_clocks * sizeof(long long), cudaMemcpyDeviceToHost), "clocks");
  int rate_khz = 0;
  cuda_ok(cudaDeviceGetAttribute(&rate_khz, cudaDevAttrClockRate, 0), "clock rate");
  const double us_per_clock = 1e3 / rate_khz;
  std::printf("rows %2d (batch %d, beam %d, memory %d): %.1f us a step; stage spans (block 0, mean of %d layers, us):",
              rows, batch, beam, mem, step_us, kLayers);
  for (int s = 0; s < 8; ++s) {
    double sum = 0;
    for (int l = 0; l < kLayers; ++l) sum += c[1 + l * 8 + s] - c[l * 8 + s];
    std::printf(" %s %.2f", kStages[s], sum / kLayers * us_per_clock);
  }
  std::printf(" | final %.2f | total %.1f\n", (c[clocks - 1] - c[clocks - 2]) * us_per_clock,
              (c[clocks - 1] - c[0]) * us_per_clock);
  // Within each GEMM stage, from the barrier before it: input and weights landed, LayerNorm, GEMM.
  constexpr int kGemmStage[6] = {0, 2, 3, 5, 6, 7};  // the GEMM stages among the 8
  std::printf("  block 0 in the GEMM stages (us: waited for input + tile / LayerNorm / GEMM):");
  for (int j = 0; j < 6; ++j) {
    double wait = 0, norm = 0, gemm = 0;
    for (int l = 0; l < kLayers; ++l) {
      const long long* at = &g[(l * 6 + j) * 3];
      wait += at[0] - c[l * 8 + kGemmStage[j]];
      norm += at[1] - at[0];
      gemm += at[2] - at[1];
    }
    std::printf(" %s %.2f/%.2f/%.2f", kStages[kGemmStage[j]], wait / kLayers * us_per_clock,
                norm / kLayers * us_per_clock, gemm / kLayers * us_per_clock);
  }
  std::printf("\n");
}

}  // namespace

// Optional arguments: only the shape of that many rows (1, 8 or 32; 0 all), e.g. under ncu; memory
// positions (default 32; the profiles' FT_DECODER_WITH_MEMORY has 128).
int main(int argc, char** argv) {
  const int only = argc > 1 ? std::atoi(argv[1]) : 0;
  const int mem = argc > 2 ? std::atoi(argv[2]) : kSteps;
  for (const auto& [batch, beam] : {std::pair{1, 1}, std::pair{2, 4}, std::pair{8, 4}}) {
    if (only == 0 || only == batch * beam) run(batch, beam, mem);
  }
  return 0;
}
