// What the engine reports of its GEMMs, and the tuning table the harness hands it (the cache file's
// entries, src/gemm-cache.ts). Plain data: no cuBLAS, no Node.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ftb {

// What a tuned algorithm is keyed by: batch count, m, n, k, transposes, types and epilogue
// (row-major C[m, n] = op(A)[m, k] · op(B)[k, n]; cuda/gemm/gemm.h).
struct GemmShape {
  int m = 0, n = 0, k = 0, batch = 1;
  bool trans_a = false, trans_b = false;
  std::string dtype;     // storage / math: "f32", "f32/tf32", "f16", "bf16"; fp8: "e4m3/f16" (inputs / output)
  std::string epilogue;  // "none", "bias", "bias_gelu", "bias_relu"

  bool operator==(const GemmShape& other) const {
    return m == other.m && n == other.n && k == other.k && batch == other.batch && trans_a == other.trans_a &&
           trans_b == other.trans_b && dtype == other.dtype && epilogue == other.epilogue;
  }
};

// A cuBLASLt algorithm's whole configuration: enough to rebuild it in another process.
struct GemmAlgo {
  int id = 0, tile = 0, stages = 0, splitk = 1, reduction = 0, swizzle = 0, custom = 0, inner = 0, cluster = 0;
  uint64_t workspace = 0;  // bytes it needs (of the engine's 32 MiB)

  bool operator==(const GemmAlgo& o) const {
    return id == o.id && tile == o.tile && stages == o.stages && splitk == o.splitk && reduction == o.reduction &&
           swizzle == o.swizzle && custom == o.custom && inner == o.inner && cluster == o.cluster;
  }
};

// One tuned shape: the algorithm to run and what tuning found.
struct GemmTuned {
  GemmShape shape;
  GemmAlgo algo;             // the winner, or the heuristic's when nothing beat it (heuristic_kept)
  bool heuristic_kept = false;
  double tuned_ms = 0;       // confirmed medians of the chosen and the heuristic algorithm
  double heuristic_ms = 0;
  int tried = 0;             // candidates timed
  std::vector<std::string> rejections;  // candidates whose output differed: algorithm and error
  std::vector<std::string> roles;       // the roles that planned this shape while it was tuned
};

// A GEMM a model planned, for its results: role, shape, the algorithm and where it came from.
struct GemmChoice {
  std::string role;
  GemmShape shape;
  GemmAlgo algo;
  // "tuned" (from the table), "heuristic" (cuBLASLt's first choice) or "skinny" (ftbench's few-row
  // kernel, cuda/kernels/skinny_gemm.h, measured faster than the cuBLASLt algorithm it replaced)
  std::string source;
  std::string note;          // why the heuristic ran though the table had the shape; the skinny timing
  double tuned_ms = -1;      // from the table (skinny: the skinny kernel's); < 0: not known
  double heuristic_ms = -1;  // from the table (skinny: the cuBLASLt algorithm it replaced)
  // Timed when planned under GemmTuning::bench (the GEMM suite): medians of the chosen and the
  // heuristic algorithm, interleaved; < 0: not timed.
  double bench_ms = -1;
  double bench_heuristic_ms = -1;
};

// How the engine tunes shapes missing from its table (GemmEngine::plan).
struct GemmTuning {
  bool enabled = false;
  int max_candidates = 48;  // timed per shape, heuristic results first
  int samples = 20;         // timed runs per candidate (median)
  bool bench = false;       // time each planned shape's chosen algorithm against the heuristic's
};

}  // namespace ftb
