#include "common/checkpoint.h"

namespace ftb {
namespace {

void require_size(const Checkpoint& checkpoint, const std::string& name, size_t expected) {
  const size_t got = checkpoint_tensor(checkpoint, name).size();
  if (got != expected) {
    throw ConfigError("checkpoint tensor " + name + " must hold " + std::to_string(expected) + " values, got " +
                      std::to_string(got));
  }
}

}  // namespace

const char* layer_tensor_name(Tensor tensor) {
  switch (tensor) {
    case Tensor::EncQkvW: return "qkv_w";
    case Tensor::EncQkvB: return "qkv_b";
    case Tensor::EncAttnOutW: return "attn_out_w";
    case Tensor::EncAttnOutB: return "attn_out_b";
    case Tensor::EncAttnLnGamma: return "attn_ln_gamma";
    case Tensor::EncAttnLnBeta: return "attn_ln_beta";
    case Tensor::EncFfn1W: return "ffn1_w";
    case Tensor::EncFfn1B: return "ffn1_b";
    case Tensor::EncFfn2W: return "ffn2_w";
    case Tensor::EncFfn2B: return "ffn2_b";
    case Tensor::EncFfnLnGamma: return "ffn_ln_gamma";
    case Tensor::EncFfnLnBeta: return "ffn_ln_beta";
    default: throw ConfigError("not an encoder layer tensor");
  }
}

const std::vector<float>& checkpoint_tensor(const Checkpoint& checkpoint, const std::string& name) {
  const auto found = checkpoint.tensors.find(name);
  if (found == checkpoint.tensors.end()) throw ConfigError("checkpoint tensor " + name + " is missing");
  return found->second;
}

const std::vector<float>& checkpoint_tensor(const Checkpoint& checkpoint, Tensor tensor, int layer) {
  return checkpoint_tensor(checkpoint, "layer." + std::to_string(layer) + "." + layer_tensor_name(tensor));
}

int embedding_rows(const Checkpoint& checkpoint, const std::string& name, int hidden) {
  const auto found = checkpoint.tensors.find(name);
  return found == checkpoint.tensors.end() ? 0 : static_cast<int>(found->second.size() / hidden);
}

void validate_checkpoint(const ModelConfig& config) {
  if (!config.checkpoint) return;
  if (config.path != Path::Encoder) throw ConfigError("checkpoints run on the encoder path only");
  const Checkpoint& c = *config.checkpoint;
  const size_t h = config.hidden();
  for (int layer = 0; layer < config.layers; ++layer) {
    for (int id = static_cast<int>(Tensor::EncQkvW); id <= static_cast<int>(Tensor::EncFfnLnBeta); ++id) {
      const auto tensor = static_cast<Tensor>(id);
      require_size(c, "layer." + std::to_string(layer) + "." + layer_tensor_name(tensor),
                   encoder_layer_tensor_size(tensor, h, config.inter_size));
    }
  }
  const int vocab = embedding_rows(c, "embeddings.word", config.hidden());
  const int positions = embedding_rows(c, "embeddings.position", config.hidden());
  require_size(c, "embeddings.word", static_cast<size_t>(vocab) * h);
  require_size(c, "embeddings.position", static_cast<size_t>(positions) * h);
  if (c.tensors.count("embeddings.token_type") > 0) {
    const int types = embedding_rows(c, "embeddings.token_type", config.hidden());
    if (types < 1) throw ConfigError("checkpoint tensor embeddings.token_type must have at least one row");
    require_size(c, "embeddings.token_type", static_cast<size_t>(types) * h);
  }
  require_size(c, "embeddings.ln_gamma", h);
  require_size(c, "embeddings.ln_beta", h);
  if (vocab < 1) throw ConfigError("checkpoint tensor embeddings.word must have at least one row");
  if (c.position_offset < 0 || config.seq + c.position_offset > positions) {
    throw ConfigError("seq must be at most " + std::to_string(positions - c.position_offset) +
                      " (the checkpoint's positions), got " + std::to_string(config.seq));
  }
  if (c.lengths.size() != static_cast<size_t>(config.batch)) throw ConfigError("checkpoint lengths must hold batch values");
  for (int length : c.lengths) {
    if (length < 1 || length > config.seq) throw ConfigError("lengths must be 1..seq, got " + std::to_string(length));
  }
  if (c.ids.size() != static_cast<size_t>(config.batch) * config.seq) {
    throw ConfigError("checkpoint ids must hold batch × seq values");
  }
  for (int id : c.ids) {
    if (id < 0 || id >= vocab) {
      throw ConfigError("token ids must be 0.." + std::to_string(vocab - 1) + ", got " + std::to_string(id));
    }
  }
}

}  // namespace ftb
