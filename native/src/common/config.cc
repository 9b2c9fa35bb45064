#include "common/config.h"

#include <algorithm>
#include <cmath>

#include "common/checkpoint.h"

namespace ftb {
namespace {

void require_range(const char* field, long long value, long long lo, long long hi) {
  if (value < lo || value > hi) {
    throw ConfigError(std::string(field) + " must be " + std::to_string(lo) + ".." + std::to_string(hi) +
                      ", got " + std::to_string(value));
  }
}

std::string format_float(float value) {
  std::string text = std::to_string(value);
  while (text.size() > 1 && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

// tp is 1, 2, 4 or 8, and divides what the split shares out: heads (attention), inter_size (FFN)
// and, on the decoding path, vocab (the logits GEMM).
void validate_tensor_parallel(const ModelConfig& c) {
  if (c.tp != 1 && c.tp != 2 && c.tp != 4 && c.tp != 8) {
    throw ConfigError("tp must be one of 1, 2, 4, 8, got " + std::to_string(c.tp));
  }
  const auto require_divisible = [&c](const char* field, int value) {
    if (value % c.tp != 0) {
      throw ConfigError(std::string(field) + " must be divisible by tp " + std::to_string(c.tp) + ", got " +
                        std::to_string(value));
    }
  };
  require_divisible("heads", c.heads);
  require_divisible("inter_size", c.inter_size);
  if (c.path == Path::Decoding) require_divisible("vocab", c.vocab);
}

}  // namespace

void validate(const ModelConfig& c) {
  require_range("layers", c.layers, 1, 64);
  require_range("heads", c.heads, 1, 128);
  require_range("head_size", c.head_size, 1, 256);
  require_range("inter_size", c.inter_size, 1, 65536);
  require_range("max_seq", c.max_seq, 1, 4096);
  require_range("batch", c.batch, 1, 4096);
  require_range("seq", c.seq, 1, c.max_seq);
  require_range("mem_len", c.mem_len, 0, 4096);
  if (c.path == Path::Encoder) {
    require_range("beam", c.beam, 1, 1);
  } else {
    require_range("beam", c.beam, 1, kMaxBeam);
  }
  if (!(c.layer_norm_eps > 0.0 && c.layer_norm_eps < 1.0)) {
    throw ConfigError("layer_norm_eps must be in (0, 1), got " + std::to_string(c.layer_norm_eps));
  }
  if (c.path != Path::Encoder && (c.layer_norm_eps != 1e-6 || c.activation != Activation::GeluTanh)) {
    throw ConfigError("layer_norm_eps and activation are encoder settings");
  }
  validate_tensor_parallel(c);
  validate_checkpoint(c);
  if (c.path == Path::Decoding) {
    require_range("vocab", c.vocab, 2, 1 << 20);
    require_range("beam", c.beam, 1, std::min(kMaxBeam, c.vocab / 2));
    require_range("top_k", c.top_k, 0, std::min(kMaxTopK, c.vocab));
    require_range("start_id", c.start_id, 0, c.vocab - 1);
    require_range("end_id", c.end_id, 0, c.vocab - 1);
    if (!(c.top_p >= 0.0f && c.top_p <= 1.0f)) {
      throw ConfigError("top_p must be 0..1, got " + format_float(c.top_p));
    }
    if (!(c.temperature > 0.0f) || !std::isfinite(c.temperature)) {
      throw ConfigError("temperature must be > 0, got " + format_float(c.temperature));
    }
    if (c.beam > 1 && (c.top_k > 0 || c.top_p > 0.0f)) {
      throw ConfigError("top_k/top_p need beam 1 (sampling), got beam " + std::to_string(c.beam));
    }
    if (!std::isfinite(c.length_penalty) || c.length_penalty < 0.0f) {
      throw ConfigError("length_penalty must be >= 0, got " + format_float(c.length_penalty));
    }
  }
}

void validate_sampling_probe(const ModelConfig& config, const std::vector<float>& logits) {
  validate(config);
  if (config.path != Path::Decoding || !config.sampling()) {
    throw ConfigError("sample_row needs a decoding config with top_k or top_p (beam 1)");
  }
  if (logits.size() != static_cast<size_t>(config.vocab)) {
    throw ConfigError("logits must hold vocab = " + std::to_string(config.vocab) + " values, got " +
                      std::to_string(logits.size()));
  }
  if (!std::all_of(logits.begin(), logits.end(), [](float l) { return std::isfinite(l); })) {
    throw ConfigError("logits must be finite");
  }
}

const char* to_string(Path path) {
  switch (path) {
    case Path::Encoder: return "encoder";
    case Path::Decoder: return "decoder";
    case Path::Decoding: return "decoding";
  }
  return "?";
}

const char* to_string(Variant variant) {
  switch (variant) {
    case Variant::Fused: return "fused";
    case Variant::Unfused: return "unfused";
    case Variant::Reference: return "reference";
  }
  return "?";
}

const char* to_string(Precision precision) {
  switch (precision) {
    case Precision::FP32: return "fp32";
    case Precision::TF32: return "tf32";
    case Precision::FP16: return "fp16";
    case Precision::BF16: return "bf16";
    case Precision::FP8: return "fp8";
  }
  return "?";
}

const char* to_string(Activation activation) {
  return activation == Activation::GeluErf ? "gelu_erf" : "gelu_tanh";
}

Activation parse_activation(const std::string& text) {
  for (Activation a : {Activation::GeluTanh, Activation::GeluErf}) {
    if (text == to_string(a)) return a;
  }
  throw ConfigError("activation must be one of gelu_tanh, gelu_erf, got " + text);
}

Path parse_path(const std::string& text) {
  for (Path p : {Path::Encoder, Path::Decoder, Path::Decoding}) {
    if (text == to_string(p)) return p;
  }
  throw ConfigError("path must be one of encoder, decoder, decoding, got " + text);
}

Variant parse_variant(const std::string& text) {
  for (Variant v : {Variant::Fused, Variant::Unfused, Variant::Reference}) {
    if (text == to_string(v)) return v;
  }
  throw ConfigError("variant must be one of fused, unfused, reference, got " + text);
}

Precision parse_precision(const std::string& text) {
  for (Precision p : {Precision::FP32, Precision::TF32, Precision::FP16, Precision::BF16, Precision::FP8}) {
    if (text == to_string(p)) return p;
  }
  throw ConfigError("precision must be one of fp32, tf32, fp16, bf16, fp8, got " + text);
}

}  // namespace ftb
