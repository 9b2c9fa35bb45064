#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "cpu/search.h"

namespace ftb::cpu {
namespace {

// A continuation of beam j with token v: index = j·vocab + v; score = the new cum log-prob (fp32).
struct Candidate {
  float score;
  int64_t index;
};

bool better(const Candidate& a, const Candidate& b) {
  return a.score > b.score || (a.score == b.score && a.index < b.index);
}

// The `width` best candidates offered so far, best first.
class TopCandidates {
 public:
  explicit TopCandidates(int width) : width_(width) {}

  void offer(const Candidate& candidate) {
    if (static_cast<int>(best_.size()) == width_ && !better(candidate, best_.back())) return;
    best_.insert(std::upper_bound(best_.begin(), best_.end(), candidate, better), candidate);
    if (static_cast<int>(best_.size()) > width_) best_.pop_back();
  }

  const std::vector<Candidate>& best() const { return best_; }

 private:
  int width_;
  std::vector<Candidate> best_;
};

// log Σ exp(logits) of row r over every shard, in fp64 (log-prob = logit − this): the max
// all-reduced first, then each shard's Σ exp(l − max) in id order, all-reduced in rank order (one
// shard: the plain sum over the vocabulary).
double log_total(const std::vector<VocabShard>& shards, int r) {
  double max_logit = -std::numeric_limits<double>::infinity();
  for (const VocabShard& shard : shards) {
    const float* row = shard.logits + static_cast<size_t>(r) * shard.count;
    max_logit = std::max<double>(max_logit, *std::max_element(row, row + shard.count));
  }
  double total = 0.0;
  for (const VocabShard& shard : shards) {
    const float* row = shard.logits + static_cast<size_t>(r) * shard.count;
    double local = 0.0;
    for (int v = 0; v < shard.count; ++v) local += std::exp(row[v] - max_logit);
    total += local;
  }
  return max_logit + std::log(total);
}

// One shard's best continuations of the beams of sentence b (a finished beam's one continuation,
// end_id, is offered by the shard that holds end_id).
TopCandidates rank_shard(const ModelConfig& config, const VocabShard& shard, const std::vector<double>& totals, int b,
                         const SearchState& state) {
  TopCandidates top(config.beam);
  for (int j = 0; j < config.beam; ++j) {
    const int r = b * config.beam + j;
    const int64_t first = static_cast<int64_t>(j) * config.vocab;
    if (state.finished[r]) {
      if (config.end_id >= shard.first && config.end_id < shard.first + shard.count) {
        top.offer({state.cum_log_probs[r], first + config.end_id});
      }
      continue;
    }
    const float* row = shard.logits + static_cast<size_t>(r) * shard.count;
    for (int v = 0; v < shard.count; ++v) {
      const double lp = row[v] - totals[j];
      top.offer({static_cast<float>(state.cum_log_probs[r] + lp), first + shard.first + v});
    }
  }
  return top;
}

// Every continuation of the beams of sentence b, ranked: each shard's best, merged in rank order.
// The merge keeps the global best, as each of them is among its own shard's best.
TopCandidates rank_sentence(const ModelConfig& config, const std::vector<VocabShard>& shards, int b,
                            const SearchState& state) {
  std::vector<double> totals(config.beam);
  for (int j = 0; j < config.beam; ++j) totals[j] = log_total(shards, b * config.beam + j);
  TopCandidates merged(config.beam);
  for (const VocabShard& shard : shards) {
    const TopCandidates local = rank_shard(config, shard, totals, b, state);
    for (const Candidate& candidate : local.best()) merged.offer(candidate);
  }
  return merged;
}

// The sentence's beams become its `beam` best candidates, in rank order.
void commit_sentence(const ModelConfig& config, int b, const std::vector<Candidate>& best, SearchState& state) {
  const int first = b * config.beam;
  const std::vector<char> finished(state.finished.begin() + first, state.finished.begin() + first + config.beam);
  const std::vector<int> lengths(state.lengths.begin() + first, state.lengths.begin() + first + config.beam);
  for (int i = 0; i < config.beam; ++i) {
    const int j = static_cast<int>(best[i].index / config.vocab);
    const int v = static_cast<int>(best[i].index % config.vocab);
    state.cum_log_probs[first + i] = best[i].score;
    state.finished[first + i] = finished[j] || v == config.end_id;
    state.lengths[first + i] = lengths[j] + (finished[j] ? 0 : 1);
    state.ids[first + i] = v;
    state.parents[first + i] = j;
  }
}

}  // namespace

void beam_search_step(const ModelConfig& config, const std::vector<VocabShard>& shards, SearchState& state) {
  for (int b = 0; b < config.batch; ++b) {
    commit_sentence(config, b, rank_sentence(config, shards, b, state).best(), state);
  }
  state.record_step();
}

}  // namespace ftb::cpu
