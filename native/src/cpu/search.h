// Token selection of the decoding path (native/MODEL.md, "Beam search", "Sampling", "Finish").
#pragma once
#include <vector>

#include "engine/backend.h"

namespace ftb::cpu {

// Per-row search state (rows = batch·beam) and the raw per-step choices.
struct SearchState {
  std::vector<float> cum_log_probs;
  std::vector<char> finished;
  std::vector<int> lengths;
  std::vector<int> ids;         // tokens chosen at the last step: the next step's inputs
  std::vector<int> parents;     // beam (within its sentence) each row continues after the last step
  std::vector<int> step_ids;    // [steps, rows]
  std::vector<int> parent_ids;  // [steps, rows]
  int steps = 0;

  bool all_finished() const;
  // Appends this step's ids and parents to step_ids / parent_ids.
  void record_step();
};

// Before step 0: every row's input is start_id; beam 0 of a sentence starts at cum 0, the others at −∞.
SearchState start_search(const ModelConfig& config);

// One step of beam search over logits [batch·beam, vocab].
void beam_search_step(const ModelConfig& config, const float* logits, SearchState& state);

// One step of sampling (beam 1) over logits [batch, vocab]; step t picks the draws t·batch + b.
void sampling_step(const ModelConfig& config, const float* logits, int t, SearchState& state);

// Gather-tree, length penalty and per-sentence sort into the decoding outputs.
Outputs finish_search(const ModelConfig& config, const SearchState& state);

}  // namespace ftb::cpu
