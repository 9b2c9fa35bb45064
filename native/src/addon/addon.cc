// Node-API bindings: a thin layer that converts JS values to engine types and engine errors to
// JS errors (with a `code`: ERR_FTB_CONFIG, ERR_FTB_OOM, ERR_FTB_ENGINE). No engine logic here.
#include <napi.h>

#include <cmath>
#include <functional>
#include <memory>

#include "common/checkpoint.h"
#include "common/config.h"
#include "common/philox.h"
#include "common/tensors.h"
#include "engine/backend.h"
#include "engine/fault.h"

namespace {

Napi::Error make_error(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

// Runs `body`, turning engine exceptions into JS exceptions that carry a code.
template <typename Body>
auto guarded(Napi::Env env, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const ftb::ConfigError& e) {
    throw make_error(env, e.what(), "ERR_FTB_CONFIG");
  } catch (const ftb::OutOfMemory& e) {
    throw make_error(env, e.what(), "ERR_FTB_OOM");
  } catch (const ftb::EngineError& e) {
    throw make_error(env, e.what(), "ERR_FTB_ENGINE");
  } catch (const std::bad_alloc&) {
    throw make_error(env, "host out of memory", "ERR_FTB_OOM");
  }
}

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
  if (obj.Has("layer_norm_eps") && !obj.Get("layer_norm_eps").IsUndefined()) {
    if (!obj.Get("layer_norm_eps").IsNumber()) throw ftb::ConfigError("layer_norm_eps must be a number");
    c.layer_norm_eps = obj.Get("layer_norm_eps").As<Napi::Number>().DoubleValue();
  }
  c.activation = ftb::parse_activation(string_field(obj, "activation", "gelu_tanh"));
  return c;
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

// { tensors: { name: Float32Array }, ids: Int32Array, lengths: Int32Array, position_offset } ->
// Checkpoint (values copied once; the backend converts them to the point's precision).
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

template <typename T, typename Array>
Array to_typed(Napi::Env env, const std::vector<T>& values) {
  Array array = Array::New(env, values.size());
  std::copy(values.begin(), values.end(), array.Data());
  return array;
}

// ---- GEMM records: the engine's structs as the results file and the tuning cache spell them ----

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

Napi::Array choices_to_js(Napi::Env env, const std::vector<ftb::GemmChoice>& choices) {
  Napi::Array array = Napi::Array::New(env, choices.size());
  for (size_t i = 0; i < choices.size(); ++i) array.Set(static_cast<uint32_t>(i), choice_to_js(env, choices[i]));
  return array;
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

std::string backend_argument(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "the first argument names a backend");
  return info[0].As<Napi::String>().Utf8Value();
}

// setGemmTable(backend, entries: object[], tuning: { enabled, max_candidates, samples, bench })
Napi::Value SetGemmTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[1].IsArray() || !info[2].IsObject()) {
    throw Napi::TypeError::New(env, "setGemmTable(backend: string, entries: object[], tuning: object)");
  }
  guarded(env, [&] {
    const Napi::Array entries = info[1].As<Napi::Array>();
    std::vector<ftb::GemmTuned> table;
    for (uint32_t i = 0; i < entries.Length(); ++i) {
      if (!entries.Get(i).IsObject()) throw ftb::ConfigError("GEMM table entries must be objects");
      table.push_back(tuned_from(entries.Get(i).As<Napi::Object>()));
    }
    const Napi::Object options = info[2].As<Napi::Object>();
    ftb::GemmTuning tuning;
    tuning.enabled = bool_field(options, "enabled", false);
    tuning.max_candidates = int_field(options, "max_candidates", tuning.max_candidates);
    tuning.samples = int_field(options, "samples", tuning.samples);
    tuning.bench = bool_field(options, "bench", false);
    ftb::backend(backend_argument(info)).set_gemm_table(table, tuning);
  });
  return env.Undefined();
}

// gemmTable(backend) -> the table with the shapes tuned since setGemmTable
Napi::Value GemmTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<ftb::GemmTuned> table = guarded(env, [&] { return ftb::backend(backend_argument(info)).gemm_table(); });
  Napi::Array array = Napi::Array::New(env, table.size());
  for (size_t i = 0; i < table.size(); ++i) array.Set(static_cast<uint32_t>(i), tuned_to_js(env, table[i]));
  return array;
}

// planGemms(backend, config) -> the GEMM choices of config's model (planned, not run)
Napi::Value PlanGemms(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsObject()) throw Napi::TypeError::New(env, "planGemms(backend: string, config: object)");
  const std::vector<ftb::GemmChoice> choices = guarded(env, [&] {
    return ftb::backend(backend_argument(info)).plan_gemms(to_config(info[1].As<Napi::Object>()));
  });
  return choices_to_js(env, choices);
}

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Model",
                       {InstanceMethod("run", &ModelWrap::Run), InstanceMethod("measure", &ModelWrap::Measure),
                        InstanceMethod("profile", &ModelWrap::Profile), InstanceMethod("outputs", &ModelWrap::Outputs),
                        InstanceMethod("notes", &ModelWrap::Notes), InstanceMethod("gemms", &ModelWrap::Gemms),
                        InstanceMethod("release", &ModelWrap::Release)});
  }

  explicit ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) {
      throw Napi::TypeError::New(env, "Model(backend: string, config: object, checkpoint?: object)");
    }
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    const Napi::Object config = info[1].As<Napi::Object>();
    const bool has_checkpoint = info.Length() > 2 && info[2].IsObject();
    model_ = guarded(env, [&] {
      ftb::ModelConfig c = to_config(config);
      if (has_checkpoint) c.checkpoint = to_checkpoint(info[2].As<Napi::Object>());
      return ftb::with_injected_fault(ftb::backend(name).create_model(c), c);
    });
  }

 private:
  ftb::Model& model(Napi::Env env) {
    if (!model_) throw make_error(env, "model was released", "ERR_FTB_ENGINE");
    return *model_;
  }

  Napi::Value Run(const Napi::CallbackInfo& info) {
    guarded(info.Env(), [&] { model(info.Env()).run(); });
    return info.Env().Undefined();
  }

  // measure(iterations = 1, flushL2 = false) -> { ms, smClockMhz }
  Napi::Value Measure(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ftb::MeasureOptions options;
    if (info.Length() > 0 && info[0].IsNumber()) options.iterations = info[0].As<Napi::Number>().Int32Value();
    if (options.iterations < 1) throw make_error(env, "iterations must be >= 1", "ERR_FTB_CONFIG");
    if (info.Length() > 1 && info[1].IsBoolean()) options.flush_l2 = info[1].As<Napi::Boolean>().Value();
    const ftb::Sample sample = guarded(env, [&] { return model(env).measure(options); });
    Napi::Object obj = Napi::Object::New(env);
    obj.Set("ms", sample.ms);
    obj.Set("smClockMhz", sample.sm_clock_mhz);
    return obj;
  }

  // profile(iterations) -> { iterations, eventMs, note, records: [{ kind, name, stage, startNs, endNs, grid, block }] }
  Napi::Value Profile(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int iterations = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
    if (iterations < 1) throw make_error(env, "iterations must be >= 1", "ERR_FTB_CONFIG");
    const ftb::KernelProfile profile = guarded(env, [&] { return model(env).profile(iterations); });
    Napi::Array records = Napi::Array::New(env, profile.records.size());
    for (size_t i = 0; i < profile.records.size(); ++i) {
      const ftb::TraceRecord& r = profile.records[i];
      Napi::Object obj = Napi::Object::New(env);
      obj.Set("kind", r.kind);
      obj.Set("name", r.name);
      obj.Set("stage", r.stage);
      obj.Set("startNs", static_cast<double>(r.start_ns));
      obj.Set("endNs", static_cast<double>(r.end_ns));
      obj.Set("grid", to_typed<int, Napi::Int32Array>(env, std::vector<int>(r.grid, r.grid + 3)));
      obj.Set("block", to_typed<int, Napi::Int32Array>(env, std::vector<int>(r.block, r.block + 3)));
      records[i] = obj;
    }
    Napi::Object obj = Napi::Object::New(env);
    obj.Set("iterations", profile.iterations);
    obj.Set("eventMs", profile.event_ms);
    obj.Set("note", profile.note);
    obj.Set("records", records);
    return obj;
  }

  Napi::Value Outputs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const ftb::Outputs out = guarded(env, [&] { return model(env).outputs(); });
    Napi::Object obj = Napi::Object::New(env);
    obj.Set("hidden", to_typed<float, Napi::Float32Array>(env, out.hidden));
    obj.Set("lengths", to_typed<int, Napi::Int32Array>(env, out.lengths));
    obj.Set("outputIds", to_typed<int, Napi::Int32Array>(env, out.output_ids));
    obj.Set("stepIds", to_typed<int, Napi::Int32Array>(env, out.step_ids));
    obj.Set("parentIds", to_typed<int, Napi::Int32Array>(env, out.parent_ids));
    obj.Set("cumLogProbs", to_typed<float, Napi::Float32Array>(env, out.cum_log_probs));
    obj.Set("scores", to_typed<float, Napi::Float32Array>(env, out.scores));
    obj.Set("stepsRun", Napi::Number::New(env, out.steps_run));
    return obj;
  }

  Napi::Value Notes(const Napi::CallbackInfo& info) {
    Napi::Object obj = Napi::Object::New(info.Env());
    for (const auto& [key, value] : model(info.Env()).notes()) obj.Set(key, value);
    return obj;
  }

  Napi::Value Gemms(const Napi::CallbackInfo& info) {
    const std::vector<ftb::GemmChoice> choices = guarded(info.Env(), [&] { return model(info.Env()).gemms(); });
    return choices_to_js(info.Env(), choices);
  }

  Napi::Value Release(const Napi::CallbackInfo& info) {
    model_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<ftb::Model> model_;
};

Napi::Value Backends(const Napi::CallbackInfo& info) {
  const auto names = ftb::backend_names();
  Napi::Array array = Napi::Array::New(info.Env(), names.size());
  for (size_t i = 0; i < names.size(); ++i) array.Set(static_cast<uint32_t>(i), names[i]);
  return array;
}

Napi::Value DeviceInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "cpu";
  const ftb::DeviceInfo device = guarded(env, [&] { return ftb::backend(name).device_info(); });
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("backend", device.backend);
  for (const auto& [key, value] : device.fields) obj.Set(key, value);
  return obj;
}

// calibrate(backend) -> { peak_gbps, peak_tflops_<precision>, ... } (empty for the cpu backend)
Napi::Value Calibrate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "cpu";
  const std::map<std::string, double> peaks = guarded(env, [&] { return ftb::backend(name).calibrate(); });
  Napi::Object obj = Napi::Object::New(env);
  for (const auto& [key, value] : peaks) obj.Set(key, value);
  return obj;
}

uint32_t u32(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Uint32Value(); }

// philox(c0, c1, c2, c3, k0, k1) -> [w0, w1, w2, w3]: exposes the generator for known-answer tests.
Napi::Value Philox(const Napi::CallbackInfo& info) {
  if (info.Length() < 6) throw Napi::TypeError::New(info.Env(), "philox(c0, c1, c2, c3, k0, k1)");
  const ftb::PhiloxWords words = ftb::philox4x32_10(u32(info, 0), u32(info, 1), u32(info, 2), u32(info, 3),
                                                     u32(info, 4), u32(info, 5));
  Napi::Array array = Napi::Array::New(info.Env(), 4);
  for (uint32_t i = 0; i < 4; ++i) array.Set(i, words.w[i]);
  return array;
}

// tensor(config, id, layer, count) -> Float32Array: the first `count` values of a model tensor,
// so the TypeScript float64 reference runs on exactly the engine's weights and inputs.
Napi::Value TensorValues(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsObject()) throw Napi::TypeError::New(env, "tensor(config, id, layer, count)");
  const ftb::ModelConfig config = guarded(env, [&] { return to_config(info[0].As<Napi::Object>()); });
  const auto tensor = static_cast<ftb::Tensor>(u32(info, 1));
  const int layer = info[2].As<Napi::Number>().Int32Value();
  const uint32_t count = u32(info, 3);
  Napi::Float32Array array = Napi::Float32Array::New(env, count);
  for (uint32_t i = 0; i < count; ++i) array[i] = ftb::tensor_value(config, tensor, layer, i);
  return array;
}

// sequenceLength(config, lengthsTensorId, sentence, len) -> the generated length of one sequence.
Napi::Value SequenceLength(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ftb::ModelConfig config = guarded(env, [&] { return to_config(info[0].As<Napi::Object>()); });
  return Napi::Number::New(env, ftb::sequence_length(config, static_cast<ftb::Tensor>(u32(info, 1)),
                                                     info[2].As<Napi::Number>().Int32Value(),
                                                     info[3].As<Napi::Number>().Int32Value()));
}

// sampleRow(backend, config, logits: Float32Array) -> Int32Array of config.batch draws from that one
// row (Backend::sample_row), for sampling-frequency tests.
Napi::Value SampleRow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsObject() || !info[2].IsTypedArray() ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, "sampleRow(backend: string, config: object, logits: Float32Array)");
  }
  const Napi::Float32Array array = info[2].As<Napi::Float32Array>();
  const std::vector<float> logits(array.Data(), array.Data() + array.ElementLength());
  const std::vector<int> ids = guarded(env, [&] {
    return ftb::backend(info[0].As<Napi::String>().Utf8Value()).sample_row(to_config(info[1].As<Napi::Object>()), logits);
  });
  return to_typed<int, Napi::Int32Array>(env, ids);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Model", ModelWrap::Define(env));
  exports.Set("backends", Napi::Function::New(env, Backends));
  exports.Set("deviceInfo", Napi::Function::New(env, DeviceInfo));
  exports.Set("calibrate", Napi::Function::New(env, Calibrate));
  exports.Set("philox", Napi::Function::New(env, Philox));
  exports.Set("tensor", Napi::Function::New(env, TensorValues));
  exports.Set("sequenceLength", Napi::Function::New(env, SequenceLength));
  exports.Set("sampleRow", Napi::Function::New(env, SampleRow));
  exports.Set("setGemmTable", Napi::Function::New(env, SetGemmTable));
  exports.Set("gemmTable", Napi::Function::New(env, GemmTable));
  exports.Set("planGemms", Napi::Function::New(env, PlanGemms));
  return exports;
}

}  // namespace

NODE_API_MODULE(ftbench, Init)
