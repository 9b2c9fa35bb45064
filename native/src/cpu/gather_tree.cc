// Finish of the decoding path: gather-tree, length penalty, per-sentence sort by score.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "cpu/search.h"

namespace ftb::cpu {
namespace {

// Tokens of final row r, following parent_ids back from the last step. (Finished rows only
// emit end_id, so every token after the first end_id is already end_id.)
std::vector<int> gather_row(const ModelConfig& config, const SearchState& state, int r) {
  const int rows = config.rows();
  const int first = r - r % config.beam;
  std::vector<int> tokens(state.steps);
  for (int t = state.steps - 1, row = r; t >= 0; --t) {
    tokens[t] = state.step_ids[static_cast<size_t>(t) * rows + row];
    row = first + state.parent_ids[static_cast<size_t>(t) * rows + row];
  }
  return tokens;
}

// score = cum / ((5 + length) / 6)^length_penalty (GNMT).
float length_penalised(const ModelConfig& config, float cum, int length) {
  return static_cast<float>(cum / std::pow((5.0 + length) / 6.0, static_cast<double>(config.length_penalty)));
}

// Beams of sentence b, best score first, ties in beam order.
std::vector<int> ranked_rows(const ModelConfig& config, const std::vector<float>& scores, int b) {
  std::vector<int> rows(config.beam);
  std::iota(rows.begin(), rows.end(), b * config.beam);
  std::stable_sort(rows.begin(), rows.end(), [&](int x, int y) { return scores[x] > scores[y]; });
  return rows;
}

}  // namespace

Outputs finish_search(const ModelConfig& config, const SearchState& state) {
  const int rows = config.rows();
  std::vector<float> scores(rows);
  for (int r = 0; r < rows; ++r) scores[r] = length_penalised(config, state.cum_log_probs[r], state.lengths[r]);
  Outputs out;
  out.steps_run = state.steps;
  out.step_ids = state.step_ids;
  out.parent_ids = state.parent_ids;
  for (int b = 0; b < config.batch; ++b) {
    for (int r : ranked_rows(config, scores, b)) {
      const std::vector<int> tokens = gather_row(config, state, r);
      out.output_ids.insert(out.output_ids.end(), tokens.begin(), tokens.end());
      out.lengths.push_back(state.lengths[r]);
      out.cum_log_probs.push_back(state.cum_log_probs[r]);
      out.scores.push_back(scores[r]);
    }
  }
  return out;
}

}  // namespace ftb::cpu
