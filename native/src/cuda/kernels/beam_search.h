// Token selection of the decoding path on the device (native/MODEL.md, "Beam search", "Finish").
// Logits are [rows, ld] (ld = vocab padded to a multiple of 8; padded columns are never read).
//
// fused:   beam_topk over (row, vocabulary chunk) blocks, so that a few rows still fill the GPU.
//          beam <= 8 (beam_topk_lists.cu): one kernel leaves each chunk's softmax statistics and its
//          best logits (per-thread lists in registers), a second, per sentence, scores those exactly
//          under the rows' log-softmax and ranks them (the sentence's `beam` best, first). Wider
//          beams: the chunks' statistics, then each chunk's `beam` best by score (a radix select).
//          Then beam_commit (the sentence's best `beam` of its candidates, state update and the
//          cache indirection table).
// unfused: log_softmax, beam_scores (cum + log-prob, finished beams masked), a full segmented sort
//          of each sentence's beam·vocab scores (segmented_sort.h), then beam_commit of the first
//          `beam` of each sorted segment; the caches are copied by parents (decoder_attention.h).
#pragma once
#include <cuda_runtime.h>

#include "cuda/dtype.h"

namespace ftb::cuda {

// Per-row search state (rows = batch·beam) and the per-step record, all device pointers.
struct SearchState {
  float* cum_log_probs;
  int* finished;
  int* lengths;
  int* ids;         // tokens chosen at the last step: the next step's inputs
  int* parents;     // beam each row continues after the last step
  int* step_ids;    // [seq, rows]
  int* parent_ids;  // [seq, rows]
};

// Before step 0: ids start_id, cum 0 for beam 0 of a sentence and -inf for the others.
void init_search(const SearchState& state, int rows, int beam, int start_id, cudaStream_t stream);

// Beams up to this take beam_topk's one-pass register lists (up to 16 keys a thread: beam_list_slots);
// wider ones the radix select (lists of 32 or 64 keys per thread would not stay in registers).
constexpr int kTopkListBeam = 8;

// Vocabulary chunks per row of beam_topk: no more than about 1024 (row, chunk) blocks in all nor
// chunks under 4096 logits (beam <= kTopkListBeam, when that still gives every SM a block) or 1024
// (the radix select, and the lists of a few rows), as more only adds per-block overhead and
// candidates, and at most 1024 / (beam · beam_topk_slots) so that a sentence's candidates stay
// within one block (the lists' ranking, beam_commit).
int beam_topk_chunks(int vocab, int rows, int beam);

// Candidate slots per (row, chunk) of beam_topk: the candidate buffers hold rows · chunks · this.
int beam_topk_slots(int beam);

// Where beam_commit finds what beam_topk left: sentence b's `count` candidates at b · stride, ranked
// (the first `beam` are the best, in order) or not.
struct CandidateLayout {
  int stride, count;
  bool ranked;
};
CandidateLayout beam_topk_layout(int chunks, int beam);

// Fused stage 1 over candidate_scores / candidate_ids ([rows, chunks, beam_topk_slots], read as
// beam_topk_layout says): (score, j·vocab + v) of each row j of a sentence; chunk_max / chunk_sum
// ([rows, chunks]) hold the chunks' softmax statistics in between.
void beam_topk(DType dtype, const void* logits, int ld, int rows, int vocab, int beam, int end_id,
               const SearchState& state, int chunks, float* chunk_max, double* chunk_sum, float* candidate_scores,
               int* candidate_ids, cudaStream_t stream);

// Commits step *step: the new beams of sentence b are its `beam` best candidates among `count` at
// candidate_scores/ids + b·stride (ranked: already in rank order, the first `beam` are taken).
// With `cache_indir` (two [rows, cache_len] tables used alternately by step parity), the table of the
// next step is derived from the current one (fused); null for the unfused variant.
void beam_commit(const float* candidate_scores, const int* candidate_ids, int stride, int count, bool ranked,
                 int batch, int beam, int vocab, int end_id, const SearchState& state, const int* step,
                 int* cache_indir, int cache_len, cudaStream_t stream);

// Unfused: lp [rows, vocab] (fp32) = log_softmax(logits), statistics in fp64.
void log_softmax(DType dtype, const void* logits, int ld, int rows, int vocab, float* lp, cudaStream_t stream);

// Unfused: scores [rows, vocab] = fp32(cum + lp), or, for a finished row, cum at end_id and -inf elsewhere.
void beam_scores(const float* lp, int rows, int vocab, int end_id, const SearchState& state, float* scores,
                 cudaStream_t stream);

// Unfused: ids [rows, vocab] = (r % beam)·vocab + v, the candidate ids of the sorted scores.
void candidate_ids(int* ids, int rows, int beam, int vocab, cudaStream_t stream);

// Gather-tree, length penalty and per-sentence sort (best first, ties in beam order) after `steps` steps:
// output_ids [rows, steps], lengths, cum_log_probs and scores [rows].
void finish_search(const SearchState& state, int steps, int batch, int beam, float length_penalty, int* output_ids,
                   int* lengths, float* cum_log_probs, float* scores, cudaStream_t stream);

}  // namespace ftb::cuda
