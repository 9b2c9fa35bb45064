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

// One tensor-parallel rank's logits (the logits GEMM split by vocabulary): ids first..first+count−1
// of every row, [rows, count]. The unsplit logits are one shard {logits, 0, vocab}.
struct VocabShard {
  const float* logits;
  int first;
  int count;
};

// Before step 0: every row's input is start_id; beam 0 of a sentence starts at cum 0, the others at −∞.
SearchState start_search(const ModelConfig& config);

// One step of beam search over rows batch·beam. Distributed over the shards: the log-softmax's max
// and Σ exp are all-reduced, each shard ranks its own candidates, and the shards' best are merged.
void beam_search_step(const ModelConfig& config, const std::vector<VocabShard>& shards, SearchState& state);

// One step of sampling (beam 1) over rows batch; step t picks the draws t·batch + b. Each shard
// ranks its own top candidates; the merged list is the unsplit one, so the draw picks the same id.
void sampling_step(const ModelConfig& config, const std::vector<VocabShard>& shards, int t, SearchState& state);

// Gather-tree, length penalty and per-sentence sort into the decoding outputs.
Outputs finish_search(const ModelConfig& config, const SearchState& state);

}  // namespace ftb::cpu
