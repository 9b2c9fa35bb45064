// JS <-> engine conversions of the bindings (marshal.h): field readers that name the bad field,
// the config and checkpoint readers, and the GEMM records.
#include "addon/marshal.h"

#include <cmath>
#include <cstdint>

namespace ftb::addon {

Napi::Error make_error(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

namespace {

int int_field(const Napi::Object& obj, const char* key, int fallback) {
  if (!obj.Has(key) || obj.Get(key).IsUndefined()) return fallback;
  const Napi::Value value = obj.Get(key);
  const double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(number) || std::floor(number) != number || std::fabs(number) > 2147483647.0) {
    throw ftb::ConfigError(std::string(key) + " must be an integer");
  }
  return static_cast<int>(number);
}

float float_field(const Napi::Object& obj, const char* key, float fallback) {
  if (!obj.Has(key) || obj.Get(key).IsUndefined()) return fallback;
  const Napi::Value value = obj.Get(key);
  if (!value.IsNumber()) throw ftb::ConfigError(std::string(key) + " must be a number");
  return value.As<Napi::Number>().FloatValue();
}

bool bool_field(const Napi::Object& obj, const char* key, bool fallback) {
  if (!obj.Has(key) || obj.Get(key).IsUndefined()) return fallback;
  const Napi::Value value = obj.Get(key);
  if (!value.IsBoolean()) throw ftb::ConfigError(std::string(key) + " must be a boolean");
  return value.As<Napi::Boolean>().Value();
}

uint64_t seed_field(const Napi::Object& obj) {
  if (!obj.Has("seed") || obj.Get("seed").IsUndefined()) return 1;
  const Napi::Value value = obj.Get("seed");
  const double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : NAN;
  if (!(number >= 0 && number <= 9007199254740991.0) || std::floor(number) != number) {
    throw ftb::ConfigError("seed must be an integer 0..2^53-1");
  }
  return static_cast<uint64_t>(number);
}

std::string string_field(const Napi::Object& obj, const char* key, const std::string& fallback) {
  if (!obj.Has(key) || obj.Get(key).IsUndefined()) return fallback;
  const Napi::Value value = obj.Get(key);
  if (!value.IsString()) throw ftb::ConfigError(std::string(key) + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

template <typename Array, typename T>
std::vector<T> typed_field(const Napi::Object& obj, const char* key, napi_typedarray_type type, const char* what) {
  const Napi::Value value = obj.Get(key);
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type) {
    throw ftb::ConfigError(std::string("checkpoint ") + key + " must be " + what);
  }
  const Array array = value.As<Array>();
  return std::vector<T>(array.Data(), array.Data() + array.ElementLength());
}

}  // namespace

ftb::ModelConfig to_config(const Napi::Object& obj) {
  ftb::ModelConfig c;
  c.path = ftb::parse_path(string_field(obj, "path", "encoder"));
  c.variant = ftb::parse_variant(string_field(obj, "variant", "reference"));
  c.precision = ftb::parse_precision(string_field(obj, "precision", "fp32"));
  c.layers = int_field(obj, "layers", c.layers);
  c.heads = int_field(obj, "heads", c.heads);
  c.head_size = int_field(obj, "head_size", c.head_size);
  c.inter_size = int_field(obj, "inter_size", c.inter_size);
  c.vocab = int_field(obj, "vocab", c.vocab);
  c.max_seq = int_field(obj, "max_seq", c.max_seq);
  c.mem_len = int_field(obj, "mem_len", c.mem_len);
  c.batch = int_field(obj, "batch", c.batch);
  c.beam = int_field(obj, "beam", c.beam);
  c.seq = int_field(obj, "seq", c.seq);
  c.top_k = int_field(obj, "top_k", c.top_k);
  c.top_p = float_field(obj, "top_p", c.top_p);
  c.temperature = float_field(obj, "temperature", c.temperature);
  c.length_penalty = float_field(obj, "length_penalty", c.length_penalty);
  c.start_id = int_field(obj, "start_id", c.start_id);
  c.end_id = int_field(obj, "end_id", c.end_id);
  c.stop_at_end = bool_field(obj, "stop_at_end", c.stop_at_end);
  c.full_length = bool_field(obj, "full_length", c.full_length);
  c.graph = bool_field(obj, "graph", c.graph);
  c.seed = seed_field(obj);
  c.tp = int_field(obj, "tp", c.tp);
  if (obj.Has("layer_norm_eps") && !obj.Get("layer_norm_eps").IsUndefined()) {
    if (!obj.Get("layer_norm_eps").IsNumber()) throw ftb::ConfigError("layer_norm_eps must be a number");
    c.layer_norm_eps = obj.Get("layer_norm_eps").As<Napi::Number>().DoubleValue();
  }
  c.activation = ftb::parse_activation(string_field(obj, "activation", "gelu_tanh"));
  return c;
}

std::shared_ptr<const ftb::Checkpoint> to_checkpoint(const Napi::Object& obj) {
  auto checkpoint = std::make_shared<ftb::Checkpoint>();
  if (!obj.Get("tensors").IsObject()) throw ftb::ConfigError("checkpoint tensors must be an object");
  const Napi::Object tensors = obj.Get("tensors").As<Napi::Object>();
  const Napi::Array names = tensors.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    checkpoint->tensors[name] =
        typed_field<Napi::Float32Array, float>(tensors, name.c_str(), napi_float32_array, "a Float32Array");
  }
  checkpoint->ids = typed_field<Napi::Int32Array, int>(obj, "ids", napi_int32_array, "an Int32Array");
  checkpoint->lengths = typed_field<Napi::Int32Array, int>(obj, "lengths", napi_int32_array, "an Int32Array");
  checkpoint->position_offset = int_field(obj, "position_offset", 0);
  return checkpoint;
}

// ---- GEMM records: the engine's structs as the results file and the tuning cache spell them ----

namespace {

void set_shape(Napi::Object& obj, const ftb::GemmShape& shape) {
  obj.Set("m", shape.m);
  obj.Set("n", shape.n);
  obj.Set("k", shape.k);
  obj.Set("batch_count", shape.batch);
  obj.Set("trans_a", shape.trans_a);
  obj.Set("trans_b", shape.trans_b);
  obj.Set("dtype", shape.dtype);
  obj.Set("epilogue", shape.epilogue);
}

ftb::GemmShape shape_from(const Napi::Object& obj) {
  ftb::GemmShape shape;
  shape.m = int_field(obj, "m", 0);
  shape.n = int_field(obj, "n", 0);
  shape.k = int_field(obj, "k", 0);
  shape.batch = int_field(obj, "batch_count", 1);
  shape.trans_a = bool_field(obj, "trans_a", false);
  shape.trans_b = bool_field(obj, "trans_b", false);
  shape.dtype = string_field(obj, "dtype", "");
  shape.epilogue = string_field(obj, "epilogue", "none");
  return shape;
}

Napi::Object algo_to_js(Napi::Env env, const ftb::GemmAlgo& algo) {
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("id", algo.id);
  obj.Set("tile", algo.tile);
  obj.Set("stages", algo.stages);
  obj.Set("splitk", algo.splitk);
  obj.Set("reduction", algo.reduction);
  obj.Set("swizzle", algo.swizzle);
  obj.Set("custom", algo.custom);
  obj.Set("inner", algo.inner);
  obj.Set("cluster", algo.cluster);
  obj.Set("workspace", static_cast<double>(algo.workspace));
  return obj;
}

ftb::GemmAlgo algo_from(const Napi::Object& obj) {
  ftb::GemmAlgo algo;
  algo.id = int_field(obj, "id", 0);
  algo.tile = int_field(obj, "tile", 0);
  algo.stages = int_field(obj, "stages", 0);
  algo.splitk = int_field(obj, "splitk", 1);
  algo.reduction = int_field(obj, "reduction", 0);
  algo.swizzle = int_field(obj, "swizzle", 0);
  algo.custom = int_field(obj, "custom", 0);
  algo.inner = int_field(obj, "inner", 0);
  algo.cluster = int_field(obj, "cluster", 0);
  algo.workspace = static_cast<uint64_t>(int_field(obj, "workspace", 0));
  return algo;
}

Napi::Array strings_to_js(Napi::Env env, const std::vector<std::string>& values) {
  Napi::Array array = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) array.Set(static_cast<uint32_t>(i), values[i]);
  return array;
}

Napi::Value optional_ms(Napi::Env env, double ms) { return ms < 0 ? env.Null() : Napi::Number::New(env, ms); }

// A GemmChoice: { role, m, n, k, batch_count, trans_a, trans_b, dtype, epilogue, algo, source, note, tuned_ms,
// heuristic_ms, bench_ms, bench_heuristic_ms }
Napi::Object choice_to_js(Napi::Env env, const ftb::GemmChoice& choice) {
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("role", choice.role);
  set_shape(obj, choice.shape);
  obj.Set("algo", algo_to_js(env, choice.algo));
  obj.Set("source", choice.source);
  if (!choice.note.empty()) obj.Set("note", choice.note);
  obj.Set("tuned_ms", optional_ms(env, choice.tuned_ms));
  obj.Set("heuristic_ms", optional_ms(env, choice.heuristic_ms));
  if (choice.bench_ms >= 0) {
    obj.Set("bench_ms", choice.bench_ms);
    obj.Set("bench_heuristic_ms", choice.bench_heuristic_ms);
  }
  return obj;
}

// A GemmTuned: { shape, algo, heuristic_kept, tuned_ms, heuristic_ms, candidates_tried, rejected, roles }
Napi::Object tuned_to_js(Napi::Env env, const ftb::GemmTuned& entry) {
  Napi::Object shape = Napi::Object::New(env);
  set_shape(shape, entry.shape);
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("shape", shape);
  obj.Set("algo", algo_to_js(env, entry.algo));
  obj.Set("heuristic_kept", entry.heuristic_kept);
  obj.Set("tuned_ms", entry.tuned_ms);
  obj.Set("heuristic_ms", entry.heuristic_ms);
  obj.Set("candidates_tried", entry.tried);
  obj.Set("rejected", strings_to_js(env, entry.rejections));
  obj.Set("roles", strings_to_js(env, entry.roles));
  return obj;
}

// The fields plan() needs of a cache entry (the rest is the harness's record).
ftb::GemmTuned tuned_from(const Napi::Object& obj) {
  if (!obj.Get("shape").IsObject() || !obj.Get("algo").IsObject()) {
    throw ftb::ConfigError("a GEMM table entry needs shape and algo objects");
  }
  ftb::GemmTuned entry;
  entry.shape = shape_from(obj.Get("shape").As<Napi::Object>());
  entry.algo = algo_from(obj.Get("algo").As<Napi::Object>());
  entry.heuristic_kept = bool_field(obj, "heuristic_kept", false);
  entry.tuned_ms = float_field(obj, "tuned_ms", 0);
  entry.heuristic_ms = float_field(obj, "heuristic_ms", 0);
  return entry;
}

}  // namespace

Napi::Array choices_to_js(Napi::Env env, const std::vector<ftb::GemmChoice>& choices) {
  Napi::Array array = Napi::Array::New(env, choices.size());
  for (size_t i = 0; i < choices.size(); ++i) array.Set(static_cast<uint32_t>(i), choice_to_js(env, choices[i]));
  return array;
}

Napi::Array gemm_table_to_js(Napi::Env env, const std::vector<ftb::GemmTuned>& table) {
  Napi::Array array = Napi::Array::New(env, table.size());
  for (size_t i = 0; i < table.size(); ++i) array.Set(static_cast<uint32_t>(i), tuned_to_js(env, table[i]));
  return array;
}

std::vector<ftb::GemmTuned> gemm_table_from(const Napi::Array& entries) {
  std::vector<ftb::GemmTuned> table;
  for (uint32_t i = 0; i < entries.Length(); ++i) {
    if (!entries.Get(i).IsObject()) throw ftb::ConfigError("GEMM table entries must be objects");
    table.push_back(tuned_from(entries.Get(i).As<Napi::Object>()));
  }
  return table;
}

ftb::GemmTuning gemm_tuning_from(const Napi::Object& options) {
  ftb::GemmTuning tuning;
  tuning.enabled = bool_field(options, "enabled", false);
  tuning.max_candidates = int_field(options, "max_candidates", tuning.max_candidates);
  tuning.samples = int_field(options, "samples", tuning.samples);
  tuning.bench = bool_field(options, "bench", false);
  return tuning;
}

}  // namespace ftb::addon
