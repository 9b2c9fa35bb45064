#include <algorithm>
#include <cmath>

#include "common/tensors.h"
#include "cpu/search.h"

namespace ftb::cpu {
namespace {

struct Ranked {
  int id;
  float logit;
};

bool higher(const Ranked& a, const Ranked& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); }

// One shard's best `count` candidates of row b by logit, descending, ties lower id first.
std::vector<Ranked> rank_shard(const VocabShard& shard, int b, int count) {
  const float* row = shard.logits + static_cast<size_t>(b) * shard.count;
  std::vector<Ranked> ranked(shard.count);
  for (int v = 0; v < shard.count; ++v) ranked[v] = {shard.first + v, row[v]};
  const int kept = std::min(count, shard.count);
  std::partial_sort(ranked.begin(), ranked.begin() + kept, ranked.end(), higher);
  ranked.resize(kept);
  return ranked;
}

// Row b's candidates by logit, descending, ties lower id first; only the first top_k when top_k > 0.
// Each shard ranks its own; merging them in rank order gives the unsplit ranking (the global first
// top_k are each among their own shard's first top_k).
std::vector<Ranked> ranked_candidates(const ModelConfig& config, const std::vector<VocabShard>& shards, int b) {
  const int count = config.top_k > 0 ? config.top_k : config.vocab;
  std::vector<Ranked> merged;
  for (const VocabShard& shard : shards) {
    const std::vector<Ranked> local = rank_shard(shard, b, count);
    std::vector<Ranked> both(merged.size() + local.size());
    std::merge(merged.begin(), merged.end(), local.begin(), local.end(), both.begin(), higher);
    merged.swap(both);
  }
  merged.resize(std::min<size_t>(count, merged.size()));
  return merged;
}

// Unnormalised probability of candidate i: exp((l_i − l_0) / temperature).
double weight(const ModelConfig& config, const std::vector<Ranked>& ranked, size_t i) {
  return std::exp((static_cast<double>(ranked[i].logit) - ranked[0].logit) / config.temperature);
}

// Σ_{≤i} weight(i), in candidate order.
std::vector<double> cumulative_weights(const ModelConfig& config, const std::vector<Ranked>& ranked) {
  std::vector<double> prefix(ranked.size());
  double total = 0.0;
  for (size_t i = 0; i < ranked.size(); ++i) prefix[i] = total += weight(config, ranked, i);
  return prefix;
}

// Candidates kept by top_p: the shortest prefix whose normalised mass reaches top_p (at least one).
size_t nucleus_size(const ModelConfig& config, const std::vector<double>& prefix) {
  if (config.top_p <= 0.0f) return prefix.size();
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (prefix[i] / prefix.back() >= config.top_p) return i + 1;
  }
  return prefix.size();
}

// Row b's token at step t: the first kept candidate whose cumulative weight exceeds u · Σ kept.
void sample_row(const ModelConfig& config, const std::vector<VocabShard>& shards, int t, int b, SearchState& state) {
  const std::vector<Ranked> ranked = ranked_candidates(config, shards, b);
  const std::vector<double> prefix = cumulative_weights(config, ranked);
  const size_t kept = nucleus_size(config, prefix);
  const double kept_total = prefix[kept - 1];
  const double u = random_unit(config.seed, stream_of(Tensor::SamplingDraw),
                               static_cast<uint64_t>(t) * config.batch + b);
  size_t pick = kept - 1;
  for (size_t i = 0; i < kept; ++i) {
    if (prefix[i] > u * kept_total) {
      pick = i;
      break;
    }
  }
  const double p = weight(config, ranked, pick) / kept_total;
  state.cum_log_probs[b] = static_cast<float>(state.cum_log_probs[b] + std::log(p));
  state.ids[b] = ranked[pick].id;
  state.finished[b] = ranked[pick].id == config.end_id;
  ++state.lengths[b];
}

}  // namespace

void sampling_step(const ModelConfig& config, const std::vector<VocabShard>& shards, int t, SearchState& state) {
  for (int b = 0; b < config.batch; ++b) {
    if (state.finished[b]) {
      state.ids[b] = config.end_id;
    } else {
      sample_row(config, shards, t, b, state);
    }
  }
  state.record_step();
}

}  // namespace ftb::cpu
