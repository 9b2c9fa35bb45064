#include <algorithm>
#include <cmath>

#include "cpu/search.h"

namespace ftb::cpu {

bool SearchState::all_finished() const {
  return std::all_of(finished.begin(), finished.end(), [](char done) { return done != 0; });
}

void SearchState::record_step() {
  step_ids.insert(step_ids.end(), ids.begin(), ids.end());
  parent_ids.insert(parent_ids.end(), parents.begin(), parents.end());
  ++steps;
}

SearchState start_search(const ModelConfig& config) {
  const int rows = config.rows();
  SearchState state;
  state.cum_log_probs.assign(rows, 0.0f);
  for (int r = 0; r < rows; ++r) {
    if (r % config.beam != 0) state.cum_log_probs[r] = -INFINITY;
  }
  state.finished.assign(rows, 0);
  state.lengths.assign(rows, 0);
  state.ids.assign(rows, config.start_id);
  state.parents.assign(rows, 0);
  return state;
}

}  // namespace ftb::cpu
