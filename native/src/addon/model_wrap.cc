// ModelWrap (model_wrap.h): the JS Model class over an engine model.
#include "addon/model_wrap.h"

#include <string>
#include <vector>

#include "addon/marshal.h"
#include "engine/fault.h"

namespace ftb::addon {

Napi::Function ModelWrap::Define(Napi::Env env) {
  return DefineClass(env, "Model",
                     {InstanceMethod("run", &ModelWrap::Run), InstanceMethod("measure", &ModelWrap::Measure),
                      InstanceMethod("profile", &ModelWrap::Profile), InstanceMethod("outputs", &ModelWrap::Outputs),
                      InstanceMethod("notes", &ModelWrap::Notes), InstanceMethod("gemms", &ModelWrap::Gemms),
                      InstanceMethod("memory", &ModelWrap::Memory),
                      InstanceMethod("measureEnergy", &ModelWrap::MeasureEnergy),
                      InstanceMethod("release", &ModelWrap::Release)});
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
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

ftb::Model& ModelWrap::model(Napi::Env env) {
  if (!model_) throw make_error(env, "model was released", "ERR_FTB_ENGINE");
  return *model_;
}

Napi::Value ModelWrap::Run(const Napi::CallbackInfo& info) {
  guarded(info.Env(), [&] { model(info.Env()).run(); });
  return info.Env().Undefined();
}

Napi::Value ModelWrap::Measure(const Napi::CallbackInfo& info) {
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

Napi::Value ModelWrap::Profile(const Napi::CallbackInfo& info) {
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

Napi::Value ModelWrap::Outputs(const Napi::CallbackInfo& info) {
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

Napi::Value ModelWrap::Notes(const Napi::CallbackInfo& info) {
  Napi::Object obj = Napi::Object::New(info.Env());
  for (const auto& [key, value] : model(info.Env()).notes()) obj.Set(key, value);
  return obj;
}

Napi::Value ModelWrap::Gemms(const Napi::CallbackInfo& info) {
  const std::vector<ftb::GemmChoice> choices = guarded(info.Env(), [&] { return model(info.Env()).gemms(); });
  return choices_to_js(info.Env(), choices);
}

Napi::Value ModelWrap::Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ftb::MemoryUse use = guarded(env, [&] { return model(env).memory(); });
  Napi::Object obj = Napi::Object::New(env);
  if (use.measured) {
    obj.Set("peakBytes", Napi::Number::New(env, static_cast<double>(use.peak_bytes)));
  } else {
    obj.Set("reason", use.reason);
  }
  return obj;
}

Napi::Value ModelWrap::MeasureEnergy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber() || !(info[0].As<Napi::Number>().DoubleValue() > 0)) {
    throw Napi::TypeError::New(env, "measureEnergy(minWindowMs: number > 0)");
  }
  const double window = info[0].As<Napi::Number>().DoubleValue();
  const ftb::EnergyUse use = guarded(env, [&] { return model(env).measure_energy(window); });
  Napi::Object obj = Napi::Object::New(env);
  if (use.measured) {
    obj.Set("joules", Napi::Number::New(env, use.joules));
    obj.Set("units", Napi::Number::New(env, use.units));
    obj.Set("windowMs", Napi::Number::New(env, use.window_ms));
  } else {
    obj.Set("reason", use.reason);
  }
  return obj;
}

Napi::Value ModelWrap::Release(const Napi::CallbackInfo& info) {
  model_.reset();
  return info.Env().Undefined();
}

}  // namespace ftb::addon
