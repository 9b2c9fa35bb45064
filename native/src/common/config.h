// Model configuration shared by every backend, and its validation. The TypeScript harness validates
// the same rules (src/config.ts) so users get errors before the addon is touched; these checks are
// the last line for callers that reach the engine directly.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ftb {

enum class Path { Encoder, Decoder, Decoding };
enum class Variant { Fused, Unfused, Reference };
// FP8: E4M3 GEMM inputs (per-tensor scales), fp16 everywhere else (native/MODEL.md, "fp8").
enum class Precision { FP32, TF32, FP16, BF16, FP8 };
// The encoder FFN's GELU: tanh form (FasterTransformer's, "gelu_new") or exact erf form (BERT's "gelu").
enum class Activation { GeluTanh, GeluErf };

struct Checkpoint;  // common/checkpoint.h: external weights and token ids of a user's model

// An invalid configuration: the message names the field and its allowed range.
struct ConfigError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct ModelConfig {
  Path path = Path::Encoder;
  Variant variant = Variant::Reference;
  Precision precision = Precision::FP32;
  int layers = 1;
  int heads = 2;
  int head_size = 8;
  int inter_size = 64;
  int vocab = 64;       // decoding only
  int max_seq = 64;     // longest sequence / number of decoder steps the buffers hold
  int mem_len = 0;      // decoder/decoding memory length; 0 means "same as seq"
  int batch = 1;
  int beam = 1;         // decoder/decoding only
  int seq = 16;         // encoder: tokens per sequence; decoder/decoding: number of steps
  int top_k = 0;        // sampling (beam 1): 0 = off
  float top_p = 0.0f;   // sampling (beam 1): 0 = off
  float temperature = 1.0f;
  float length_penalty = 0.0f;  // GNMT alpha used to rank finished beams; 0 = raw log-prob
  int start_id = 1;
  int end_id = 2;
  bool stop_at_end = false;  // decoding: stop once every sentence has finished
  bool full_length = false;  // encoder/memory: every sequence at full length (no padding)
  bool graph = true;         // CUDA fused variants: capture and replay CUDA graphs
  uint64_t seed = 1;
  // Tensor-parallel ranks (1, 2, 4, 8): Megatron-style split of every layer (native/MODEL.md,
  // "Tensor parallelism"). The cpu backend simulates the ranks in one process; cuda runs tp 1 only.
  int tp = 1;
  double layer_norm_eps = 1e-6;  // every LayerNorm's eps (double: the reference adds it in fp64)
  Activation activation = Activation::GeluTanh;
  // A user's model (encoder path): its weights and token ids replace the Philox ones; null for the
  // synthetic model.
  std::shared_ptr<const Checkpoint> checkpoint;

  int hidden() const { return heads * head_size; }
  int rows() const { return batch * beam; }
  int memory_len() const { return mem_len > 0 ? mem_len : seq; }
  // The logits' row width on the GPU: a multiple of 8 values (16-byte rows for vectorised loads and
  // cuBLASLt), of 16 at fp8 (its fp8 matmul wants n a multiple of 16). Padding columns never win.
  int vocab_padded() const {
    const int multiple = precision == Precision::FP8 ? 16 : 8;
    return (vocab + multiple - 1) / multiple * multiple;
  }
  bool sampling() const { return beam == 1 && (top_k > 0 || top_p > 0.0f); }
};

constexpr int kMaxBeam = 32;
constexpr int kMaxTopK = 1024;

// Throws ConfigError for the first invalid field, e.g. "beam must be 1..32, got 64".
void validate(const ModelConfig& config);
// For Backend::sample_row: a valid sampling decoding config and one row of config.vocab finite logits.
void validate_sampling_probe(const ModelConfig& config, const std::vector<float>& logits);

const char* to_string(Path path);
const char* to_string(Variant variant);
const char* to_string(Precision precision);
const char* to_string(Activation activation);
Path parse_path(const std::string& text);
Variant parse_variant(const std::string& text);
Precision parse_precision(const std::string& text);
Activation parse_activation(const std::string& text);

}  // namespace ftb
