// Standalone correctness and timing check of the fused decoder attention kernels (masked_self_attention
// and cross_attention in src/cuda/kernels/decoder_attention.h), runnable on a GPU machine without Node
// or cuBLAS. Inputs are random and never zero: qkv and its bias, the K/V caches before step t, a random
// cache indirection table (beams read their ancestors' entries), the memory K/V and memory lengths in
// [mem_len/2, mem_len]. The reference is a host fp64 computation of native/MODEL.md's attention over
// the same stored values (the new key and value rounded to the storage type, as the cache holds
// them). The context is poisoned (NaN) before every checked run, the cache entry at t is compared
// with the rounded k/v exactly, and the output is checked again after the timed launches (the
// multi-block counters must have been left at zero). Every shape is checked on every path of the
// current kernels: the block-per-(row, head) ("block") and the warp-per-(row, head) ("wide", fp16/bf16
// at head size 64 and 128), self-attention's forced through FTBENCH_WIDE_ATTENTION=0/1 (the bench sets
// it; a value in the environment is ignored), and, for cross-attention, the block-per-(sentence, head)
// kernel ("sent", fp16/bf16 at head size 64 and 128), each cross path launched by cross_attention_on;
// and on the path the rule picks unforced ("auto"; FTBENCH_CROSS_ATTENTION is cleared). Whether the
// sentence kernel's output equals the wide kernel's bit for bit (the same warp routine) is reported;
// sentence 0's memory length is given past mem_len (the current kernels clamp it). Timing: CUDA events around 20
// back-to-back launches, hot L2 (as inside a decoding step), median of 30, µs per call, for the
// version-1 kernels (native/bench/baselines/decoder_attention_v1.cu) and every current path, launched
// plainly;
// FTBENCH_PDL=1 times them as programmatic dependents (launch.cuh): back to back, each one's first-key
// loads overlap the previous one's tail, a little more than behind a GEMM in the model.
// Exits 1 when a relative L2 error exceeds 1e-5 (fp32), 2e-3 (fp16) or 1e-2 (bf16), on a written
// cache entry that differs, or on any CUDA error.
//
// Build and run from the repository root:
//   nvcc -std=c++17 -O3 --expt-relaxed-constexpr -arch=sm_90 -Inative/src -o /tmp/decoder_attention_bench \
//     native/bench/decoder_attention_bench.cu native/src/cuda/kernels/decoder_attention.cu \
//     native/src/cuda/kernels/decoder_attention_wide.cu native/src/cuda/kernels/decoder_cross_attention_sentence.cu \
//     native/bench/baselines/decoder_attention_v1.cu \
//     native/src/cuda/check.cc && /tmp/decoder_attention_bench
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "baselines/decoder_attention_v1.h"
#include "bench_check.h"
#include "bench_tensor.h"
#include "cuda/kernels/decoder_attention.h"
#include "cuda/kernels/decoder_attention_internal.cuh"

using ftb::cuda::AttentionSplits;
using ftb::cuda::CrossAttentionPath;

namespace {

struct Shape {
  const char* name;
  int batch, beam, heads, head_size, t, cache_len, mem_len;
};

double relative_l2(const Tensor& out, const std::vector<double>& ref) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double x = out.at(i);
    if (!std::isfinite(x)) return INFINITY;
    diff += (x - ref[i]) * (x - ref[i]);
    norm += ref[i] * ref[i];
  }
  return std::sqrt(diff / norm);
}

// softmax(q·Kᵀ/√D)·V over n keys in fp64: key(s, d) and value(s, d) give the stored values.
template <typename Key, typename Value>
void attend_reference(const std::vector<double>& q, int n, int D, Key key, Value value, double* out) {
  std::vector<double> p(n);
  double max = -INFINITY, sum = 0.0;
  for (int s = 0; s < n; ++s) {
    double dot = 0.0;
    for (int d = 0; d < D; ++d) dot += q[d] * key(s, d);
    p[s] = dot / std::sqrt(static_cast<double>(D));
    max = std::max(max, p[s]);
  }
  for (int s = 0; s < n; ++s) sum += p[s] = std::exp(p[s] - max);
  for (int d = 0; d < D; ++d) {
    double acc = 0.0;
    for (int s = 0; s < n; ++s) acc += p[s] * value(s, d);
    out[d] = acc / sum;
  }
}

// The fused kernels' path for what `body` launches: "0" the block kernels, "1" the wide ones, nullptr
// the rule's choice (decoder_attention.cu, use_wide_attention).
template <typename Body>
auto on_path(const char* path, Body body) {
  if (path != nullptr) {
    setenv("FTBENCH_WIDE_ATTENTION", path, 1);
  } else {
    unsetenv("FTBENCH_WIDE_ATTENTION");
  }
  return body();
}

bool run_shape(const Storage& st, const Shape& sh, int sms) {
  const int rows = sh.batch * sh.beam, H = sh.heads * sh.head_size, D = sh.head_size, X = 16 / static_cast<int>(st.size);
  const int chunks = D / X, L = sh.cache_len, M = sh.mem_len, t = sh.t;
  std::mt19937 rng(1234u + static_cast<unsigned>(rows * 31 + t));
  Tensor qkv(st, static_cast<size_t>(rows) * 3 * H), bias(st, 3 * H), q(st, static_cast<size_t>(rows) * H),
      q_bias(st, H), k_cache(st, static_cast<size_t>(rows) * H * L), v_cache(st, static_cast<size_t>(rows) * H * L),
      memory_kv(st, static_cast<size_t>(sh.batch) * M * 2 * H), ctx(st, static_cast<size_t>(rows) * H);
  qkv.fill(rng, -2.0f, 2.0f);
  bias.fill(rng, -0.5f, 0.5f);
  q.fill(rng, -2.0f, 2.0f);
  q_bias.fill(rng, -0.5f, 0.5f);
  k_cache.fill(rng, -2.0f, 2.0f);
  v_cache.fill(rng, -1.0f, 1.0f);
  memory_kv.fill(rng, -2.0f, 2.0f);
  // Indirection tables [2, rows, L]: the kernels read the one of step t (t % 2); the other is garbage.
  std::vector<int> indir(2 * static_cast<size_t>(rows) * L), lengths(sh.batch);
  for (int& x : indir) x = static_cast<int>(rng() % sh.beam);
  for (int b = 0; b < sh.batch; ++b) lengths[b] = b == 0 ? M : M / 2 + static_cast<int>(rng() % (M - M / 2 + 1));
  for (int& x : lengths) x = std::max(x, 1);
  // The current kernels see sentence 0's length past mem_len (a bad caller: they clamp it to mem_len,
  // the reference's); v1 does not clamp and gets the lengths in range.
  std::vector<int> bad_lengths = lengths;
  bad_lengths[0] = M + 7;
  int *indir_dev, *lengths_dev, *bad_lengths_dev, *step_dev;
  cuda_ok(cudaMalloc(&indir_dev, indir.size() * 4), "cudaMalloc");
  cuda_ok(cudaMalloc(&lengths_dev, lengths.size() * 4), "cudaMalloc");
  cuda_ok(cudaMalloc(&bad_lengths_dev, lengths.size() * 4), "cudaMalloc");
  cuda_ok(cudaMemcpy(bad_lengths_dev, bad_lengths.data(), lengths.size() * 4, cudaMemcpyHostToDevice), "upload");
  cuda_ok(cudaMalloc(&step_dev, 4), "cudaMalloc");
  cuda_ok(cudaMemcpy(indir_dev, indir.data(), indir.size() * 4, cudaMemcpyHostToDevice), "upload");
  cuda_ok(cudaMemcpy(lengths_dev, lengths.data(), lengths.size() * 4, cudaMemcpyHostToDevice), "upload");
  cuda_ok(cudaMemcpy(step_dev, &t, 4, cudaMemcpyHostToDevice), "upload");

  const int self_splits = ftb::cuda::attention_max_splits(rows, sh.heads, L, sms);
  const int cross_splits = ftb::cuda::attention_max_splits(rows, sh.heads, M, sms);
  void* workspace;
  const size_t ws_bytes = ftb::cuda::attention_splits_bytes(rows, sh.heads, D, std::max(self_splits, cross_splits));
  cuda_ok(cudaMalloc(&workspace, ws_bytes), "cudaMalloc");
  cuda_ok(cudaMemset(workspace, 0, ws_bytes), "memset");
  const AttentionSplits self_ws = ftb::cuda::attention_splits(workspace, rows, sh.heads, self_splits);
  const AttentionSplits cross_ws = ftb::cuda::attention_splits(workspace, rows, sh.heads, cross_splits);

  // Host references (fp64) over the stored values.
  std::vector<double> self_ref(static_cast<size_t>(rows) * H), cross_ref(static_cast<size_t>(rows) * H);
  std::vector<char> new_k(static_cast<size_t>(rows) * H * st.size), new_v(new_k.size());
  std::vector<double> new_kd(static_cast<size_t>(rows) * H), new_vd(new_kd.size());
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < H; ++c) {
      const size_t i = static_cast<size_t>(r) * H + c, in = static_cast<size_t>(r) * 3 * H + c;
      new_kd[i] = store(st, &new_k[i * st.size], static_cast<float>(qkv.at(in + H) + bias.at(H + c)));
      new_vd[i] = store(st, &new_v[i * st.size], static_cast<float>(qkv.at(in + 2 * H) + bias.at(2 * H + c)));
    }
  }
  const int* table = indir.data() + static_cast<size_t>(t & 1) * rows * L;
  for (int r = 0; r < rows; ++r) {
    const int first = r - r % sh.beam, b = r / sh.beam;
    for (int h = 0; h < sh.heads; ++h) {
      std::vector<double> qv(D), qc(D);
      for (int d = 0; d < D; ++d) {
        qv[d] = qkv.at(static_cast<size_t>(r) * 3 * H + h * D + d) + bias.at(h * D + d);
        qc[d] = q.at(static_cast<size_t>(r) * H + h * D + d) + q_bias.at(h * D + d);
      }
      const auto slot = [&](int s) { return static_cast<size_t>(first + table[static_cast<size_t>(r) * L + s]) * sh.heads + h; };
      const auto key = [&](int s, int d) {
        if (s == t) return new_kd[static_cast<size_t>(r) * H + h * D + d];
        return k_cache.at(((slot(s) * chunks + d / X) * L + s) * X + d % X);
      };
      const auto value = [&](int s, int d) {
        if (s == t) return new_vd[static_cast<size_t>(r) * H + h * D + d];
        return v_cache.at((slot(s) * L + s) * D + d);
      };
      attend_reference(qv, t + 1, D, key, value, &self_ref[static_cast<size_t>(r) * H + h * D]);
      const auto entry = [&](int s) { return (static_cast<size_t>(b) * M + s) * 2 * H + h * D; };
      const auto mkey = [&](int s, int d) { return memory_kv.at(entry(s) + d); };
      const auto mvalue = [&](int s, int d) { return memory_kv.at(entry(s) + H + d); };
      attend_reference(qc, lengths[b], D, mkey, mvalue, &cross_ref[static_cast<size_t>(r) * H + h * D]);
    }
  }

  const auto self_new = [&] {
    ftb::cuda::masked_self_attention(st.dtype, qkv.dev, bias.dev, k_cache.dev, v_cache.dev, indir_dev, step_dev,
                                     ctx.dev, rows, sh.beam, sh.heads, D, L, self_ws, nullptr);
  };
  const auto self_old = [&] {
    ftb::cuda::v1::masked_self_attention(st.dtype, qkv.dev, bias.dev, k_cache.dev, v_cache.dev, indir_dev, step_dev,
                                         ctx.dev, rows, sh.beam, sh.heads, D, L, nullptr);
  };
  const auto cross_new = [&] {
    ftb::cuda::cross_attention(st.dtype, q.dev, q_bias.dev, memory_kv.dev, bad_lengths_dev, ctx.dev, rows, sh.beam,
                               sh.heads, D, M, cross_ws, nullptr);
  };
  const auto cross_on = [&](CrossAttentionPath path) {
    return [&, path] {
      ftb::cuda::cross_attention_on(path, st.dtype, q.dev, q_bias.dev, memory_kv.dev, bad_lengths_dev, ctx.dev, rows,
                                    sh.beam, sh.heads, D, M, cross_ws, nullptr);
    };
  };
  const auto cross_old = [&] {
    ftb::cuda::v1::cross_attention(st.dtype, q.dev, q_bias.dev, memory_kv.dev, lengths_dev, ctx.dev, rows, sh.beam,
                                   sh.heads, D, M, nullptr);
  };
  bool ok = true;
  const auto check = [&](const auto& launch, const std::vector<double>& ref) {
    ctx.poison();
    launch();
    cuda_ok(cudaDeviceSynchronize(), "kernel");
    ctx.download();
    const double error = relative_l2(ctx, ref);
    if (!(error <= st.tolerance)) ok = false;
    return error;
  };
  // The entry at t of every (row, head) holds the rounded new k and v.
  const auto check_cache = [&](const char* path) {
    k_cache.download();
    v_cache.download();
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < H; ++c) {
        const size_t i = static_cast<size_t>(r) * H + c, slot = static_cast<size_t>(r) * sh.heads + c / D;
        const int d = c % D;
        const char* k = &k_cache.host[(((slot * chunks + d / X) * L + t) * X + d % X) * st.size];
        const char* v = &v_cache.host[((slot * L + t) * D + d) * st.size];
        if (std::memcmp(k, &new_k[i * st.size], st.size) != 0 || std::memcmp(v, &new_v[i * st.size], st.size) != 0) {
          if (ok) std::printf("  %s path: cache entry at t differs (row %d, column %d)\n", path, r, c);
          ok = false;
          return;
        }
      }
    }
  };
  const bool self_wide = ftb::cuda::wide_attention_supported(st.dtype, D, L);
  const bool cross_wide = ftb::cuda::wide_attention_supported(st.dtype, D, M);
  const bool cross_sentence = ftb::cuda::sentence_attention_supported(st.dtype, D, M, sh.beam);
  // Relative L2 per path [self, cross]: auto before the timed launches, auto after, block, wide, sentence.
  double errors[2][5] = {{NAN, NAN, NAN, NAN, NAN}, {NAN, NAN, NAN, NAN, NAN}};
  for (const char* path : {"0", "1"}) {
    const int column = path[0] == '0' ? 2 : 3;
    if (column == 3 && !self_wide) continue;
    errors[0][column] = on_path(path, [&] { return check(self_new, self_ref); });
    check_cache(column == 2 ? "block" : "wide");
  }
  errors[1][2] = check(cross_on(CrossAttentionPath::Block), cross_ref);
  if (cross_wide) errors[1][3] = check(cross_on(CrossAttentionPath::Wide), cross_ref);
  const char* same_bits = "";
  if (cross_sentence) {
    const std::vector<char> wide_out = ctx.host;
    errors[1][4] = check(cross_on(CrossAttentionPath::Sentence), cross_ref);
    // Same warp routine, same order of sums: expected to equal the wide kernel's output bit for bit
    // (reported, not required: the compiler may contract the two instantiations differently).
    if (cross_wide) same_bits = ctx.host == wide_out ? "  sent == wide bits" : "  sent != wide bits";
  }
  errors[0][0] = on_path(nullptr, [&] { return check(self_new, self_ref); });
  errors[1][0] = on_path(nullptr, [&] { return check(cross_new, cross_ref); });
  check_cache("auto");
  const double self_v1 = back_to_back_us(self_old), cross_v1 = back_to_back_us(cross_old);
  const double self_block = on_path("0", [&] { return back_to_back_us(self_new); });
  const double self_wide_us = self_wide ? on_path("1", [&] { return back_to_back_us(self_new); }) : NAN;
  const double cross_us[3] = {back_to_back_us(cross_on(CrossAttentionPath::Block)),
                              cross_wide ? back_to_back_us(cross_on(CrossAttentionPath::Wide)) : NAN,
                              cross_sentence ? back_to_back_us(cross_on(CrossAttentionPath::Sentence)) : NAN};
  errors[0][1] = on_path(nullptr, [&] { return check(self_new, self_ref); });
  errors[1][1] = on_path(nullptr, [&] { return check(cross_new, cross_ref); });
  const int self_auto = ftb::cuda::use_wide_attention(st.dtype, rows, sh.heads, D, L) ? 1 : 0;
  const int cross_auto = static_cast<int>(on_path(nullptr, [&] {
    return ftb::cuda::cross_attention_path(st.dtype, rows, sh.beam, sh.heads, D, M);
  }));
  // µs per call (path order block, wide, sentence) and the speed-up over v1 of the path the rule picks;
  // "nan" where a path does not apply (self-attention has no sentence path).
  const auto line = [&](const char* label, const char* kind, double v1, const double* us, int auto_path,
                        const double* error, const char* tail) {
    const char* names[] = {"block", "wide", "sent"};
    std::printf("%-5s %-32s %-5s v1 %7.2f  block %7.2f  wide %7.2f  sent %7.2f us  auto %-5s %5.2fx | rel L2 auto "
                "%.1e/%.1e block %.1e wide %.1e sent %.1e%s\n",
                st.name, label, kind, v1, us[0], us[1], us[2], names[auto_path], v1 / us[auto_path], error[0],
                error[1], error[2], error[3], error[4], tail);
  };
  char label[64];
  std::snprintf(label, sizeof label, "%s, splits %d/%d", sh.name, self_splits, cross_splits);
  const double self_us[3] = {self_block, self_wide_us, NAN};
  line(label, "self", self_v1, self_us, self_auto, errors[0], "");
  char tail[64];
  std::snprintf(tail, sizeof tail, "%s%s", same_bits, ok ? "" : "  FAIL");
  line("", "cross", cross_v1, cross_us, cross_auto, errors[1], tail);
  cudaFree(indir_dev);
  cudaFree(lengths_dev);
  cudaFree(bad_lengths_dev);
  cudaFree(step_dev);
  cudaFree(workspace);
  return ok;
}

}  // namespace

int main() {
  unsetenv("FTBENCH_CROSS_ATTENTION");  // the rule's choice is "auto"; read once, so before any launch
  int device = 0, sms = 0;
  cuda_ok(cudaGetDevice(&device), "device");
  cuda_ok(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "attribute");
  cudaDeviceProp prop;
  cuda_ok(cudaGetDeviceProperties(&prop, device), "properties");
  std::printf("%s, %d SMs; step t reads t + 1 keys; splits = most blocks per (row, head), self/cross\n", prop.name, sms);
  const Storage f16{DType::F16, 2, "fp16", 2e-3f}, bf16{DType::BF16, 2, "bf16", 1e-2f}, f32{DType::F32, 4, "fp32", 1e-5f};
  // FasterTransformer's decoding config (8 heads × 64) at the issue's points, then longer sequences
  // (multi-block), and odd head sizes (fp16 head 24: 3 chunks; fp32 head 256: 64 chunks). The large
  // batches (b16 to b128 beam 4: 512 to 4096 (row, head) pairs, around the rule's threshold of 4 per SM)
  // time both paths; b128 beam 4 t63 is the 128-step run's average step, head 128 the wide kernels' other size.
  const Shape shapes[] = {
      {"b1 beam1 t31 (32 steps)", 1, 1, 8, 64, 31, 32, 32},
      {"b1 beam1 t127 (128 steps)", 1, 1, 8, 64, 127, 128, 128},
      {"b1 beam1 t1000 cache/mem 1024", 1, 1, 8, 64, 1000, 1024, 1024},
      {"b8 beam4 t31 (32 steps)", 8, 4, 8, 64, 31, 32, 32},
      {"b8 beam4 t127 (128 steps)", 8, 4, 8, 64, 127, 128, 128},
      {"b8 beam4 t300 cache/mem 512", 8, 4, 8, 64, 300, 512, 512},
      {"b128 beam4 t127 (128 steps)", 128, 4, 8, 64, 127, 128, 128},
      {"b128 beam4 t0", 128, 4, 8, 64, 0, 128, 128},
      {"b128 beam4 t63 (128 steps)", 128, 4, 8, 64, 63, 128, 128},
      {"b64 beam4 t127 (128 steps)", 64, 4, 8, 64, 127, 128, 128},
      {"b32 beam4 t127 (128 steps)", 32, 4, 8, 64, 127, 128, 128},
      {"b16 beam4 t127 (128 steps)", 16, 4, 8, 64, 127, 128, 128},
  };
  bool ok = true;
  for (const Shape& shape : shapes) ok = run_shape(f16, shape, sms) && ok;
  ok = run_shape(bf16, shapes[4], sms) && ok;
  ok = run_shape(bf16, shapes[5], sms) && ok;
  ok = run_shape(f32, shapes[4], sms) && ok;
  ok = run_shape(f32, shapes[2], sms) && ok;
  ok = run_shape(bf16, shapes[6], sms) && ok;
  ok = run_shape(f16, {"b32 beam4 4 heads x 128 t100 mem 96", 32, 4, 4, 128, 100, 128, 96}, sms) && ok;
  ok = run_shape(f16, {"b128 beam4 8 heads x 128 t63 mem 128", 128, 4, 8, 128, 63, 128, 128}, sms) && ok;
  ok = run_shape(bf16, {"b128 beam4 4 heads x 128 t63 mem 160", 128, 4, 4, 128, 63, 128, 160}, sms) && ok;
  ok = run_shape(f16, {"b128 beam4 t63 mem 256", 128, 4, 8, 64, 63, 128, 256}, sms) && ok;
  ok = run_shape(f16, {"b3 beam2 head 24 t140", 3, 2, 4, 24, 140, 150, 200}, sms) && ok;
  ok = run_shape(f32, {"b2 beam1 head 256 t200", 2, 1, 2, 256, 200, 256, 300}, sms) && ok;
  std::printf(ok ? "all checks passed\n" : "FAILED\n");
  return ok ? 0 : 1;
}
