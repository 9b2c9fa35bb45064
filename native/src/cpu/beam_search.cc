#include <algorithm>
#include <cstdint>

#include "cpu/ops.h"
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

// Offers every continuation of the beams of sentence b.
TopCandidates rank_sentence(const ModelConfig& config, const float* logits, int b, const SearchState& state) {
  TopCandidates top(config.beam);
  std::vector<double> lp;
  for (int j = 0; j < config.beam; ++j) {
    const int r = b * config.beam + j;
    const int64_t first = static_cast<int64_t>(j) * config.vocab;
    if (state.finished[r]) {
      top.offer({state.cum_log_probs[r], first + config.end_id});
      continue;
    }
    log_softmax(logits + static_cast<size_t>(r) * config.vocab, config.vocab, lp);
    for (int v = 0; v < config.vocab; ++v) {
      top.offer({static_cast<float>(state.cum_log_probs[r] + lp[v]), first + v});
    }
  }
  return top;
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

void beam_search_step(const ModelConfig& config, const float* logits, SearchState& state) {
  for (int b = 0; b < config.batch; ++b) {
    commit_sentence(config, b, rank_sentence(config, logits, b, state).best(), state);
  }
  state.record_step();
}

}  // namespace ftb::cpu
