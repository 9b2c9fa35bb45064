// A user's encoder model (Hugging Face BERT family, read and converted by src/checkpoints/): its
// weights in the engine's fp32 layouts (common/tensors.h) and the token ids it runs on. Backends
// take their tensors from here instead of the Philox streams, converting each once to the point's
// precision, and run the embedding layer first (native/MODEL.md, "Checkpoints").
//
// Tensor names: embeddings.word [vocab, h], embeddings.position [positions, h],
// embeddings.token_type [types, h] (optional: row 0 is added to every token, as Hugging Face does
// without token_type_ids), embeddings.ln_gamma / ln_beta [h], and per layer N
// "layer.N.<name>" with <name> from layer_tensor_name (qkv_w [h, 3h], ..., ffn_ln_beta [h]).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/tensors.h"

namespace ftb {

struct Checkpoint {
  std::map<std::string, std::vector<float>> tensors;
  std::vector<int> ids;      // [batch, seq] token ids (positions past a sequence's length are ignored)
  std::vector<int> lengths;  // [batch], each 1..seq
  int position_offset = 0;   // position id of token s is s + position_offset (RoBERTa: padding_idx + 1)
};

// "qkv_w", ..., "ffn_ln_beta" for EncQkvW .. EncFfnLnBeta.
const char* layer_tensor_name(Tensor tensor);

// The values of a tensor; throws ConfigError when it is missing.
const std::vector<float>& checkpoint_tensor(const Checkpoint& checkpoint, const std::string& name);
const std::vector<float>& checkpoint_tensor(const Checkpoint& checkpoint, Tensor tensor, int layer);

// Rows of an embedding table ([rows, h]); 0 for an absent optional one.
int embedding_rows(const Checkpoint& checkpoint, const std::string& name, int hidden);

// Throws ConfigError unless config's checkpoint is on the encoder path and holds every tensor with
// the size config's dims imply, ids within the vocabulary, lengths 1..seq and enough positions.
void validate_checkpoint(const ModelConfig& config);

}  // namespace ftb
