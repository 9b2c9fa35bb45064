#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/tensors.h"
#include "cpu/search.h"

namespace ftb::cpu {
namespace {

// Candidate ids by logit, descending, ties lower id first; only the first top_k when top_k > 0.
std::vector<int> ranked_candidates(const ModelConfig& config, const float* logits) {
  std::vector<int> ids(config.vocab);
  std::iota(ids.begin(), ids.end(), 0);
  const auto higher = [logits](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  const int count = config.top_k > 0 ? config.top_k : config.vocab;
  std::partial_sort(ids.begin(), ids.begin() + count, ids.end(), higher);
  ids.resize(count);
  return ids;
}

// Unnormalised probability of candidate i: exp((l_i − l_0) / temperature).
double weight(const ModelConfig& config, const float* logits, const std::vector<int>& ids, size_t i) {
  return std::exp((static_cast<double>(logits[ids[i]]) - logits[ids[0]]) / config.temperature);
}

// Σ_{≤i} weight(i), in candidate order.
std::vector<double> cumulative_weights(const ModelConfig& config, const float* logits, const std::vector<int>& ids) {
  std::vector<double> prefix(ids.size());
  double total = 0.0;
  for (size_t i = 0; i < ids.size(); ++i) prefix[i] = total += weight(config, logits, ids, i);
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
void sample_row(const ModelConfig& config, const float* logits, int t, int b, SearchState& state) {
  const std::vector<int> ids = ranked_candidates(config, logits);
  const std::vector<double> prefix = cumulative_weights(config, logits, ids);
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
  const double p = weight(config, logits, ids, pick) / kept_total;
  state.cum_log_probs[b] = static_cast<float>(state.cum_log_probs[b] + std::log(p));
  state.ids[b] = ids[pick];
  state.finished[b] = ids[pick] == config.end_id;
  ++state.lengths[b];
}

}  // namespace

void sampling_step(const ModelConfig& config, const float* logits, int t, SearchState& state) {
  for (int b = 0; b < config.batch; ++b) {
    if (state.finished[b]) {
      state.ids[b] = config.end_id;
    } else {
      sample_row(config, logits + static_cast<size_t>(b) * config.vocab, t, b, state);
    }
  }
  state.record_step();
}

}  // namespace ftb::cpu
