// Node-API bindings: a thin layer that converts JS values to engine types and engine errors to
// JS errors (with a `code`: ERR_FTB_CONFIG, ERR_FTB_OOM, ERR_FTB_ENGINE). No engine logic here.
// This file holds the module functions and the registration; the conversions are in marshal.{h,cc},
// the Model class in model_wrap.{h,cc}.
#include <napi.h>

#include <map>
#include <string>
#include <vector>

#include "addon/marshal.h"
#include "addon/model_wrap.h"
#include "common/config.h"
#include "common/e4m3.h"
#include "common/philox.h"
#include "common/tensors.h"
#include "engine/backend.h"

namespace {

using namespace ftb::addon;

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
    const std::vector<ftb::GemmTuned> table = gemm_table_from(info[1].As<Napi::Array>());
    const ftb::GemmTuning tuning = gemm_tuning_from(info[2].As<Napi::Object>());
    ftb::backend(backend_argument(info)).set_gemm_table(table, tuning);
  });
  return env.Undefined();
}

// gemmTable(backend) -> the table with the shapes tuned since setGemmTable
Napi::Value GemmTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<ftb::GemmTuned> table = guarded(env, [&] { return ftb::backend(backend_argument(info)).gemm_table(); });
  return gemm_table_to_js(env, table);
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

// deviceCount(backend) -> how many devices a tensor-parallel point may spread over (cuda: the
// visible GPUs; cpu: any number, as it simulates the ranks in one process).
Napi::Value DeviceCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int count = guarded(env, [&] { return ftb::backend(backend_argument(info)).device_count(); });
  return Napi::Number::New(env, count);
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

// e4m3(values: Float32Array) -> Float32Array of each value rounded to E4M3 (common/e4m3.h), and
// e4m3Scale(amax) -> the per-tensor scale: test hooks of the fp8 emulation the CPU reference runs.
Napi::Value E4m3(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, "e4m3(values: Float32Array)");
  }
  const Napi::Float32Array values = info[0].As<Napi::Float32Array>();
  Napi::Float32Array rounded = Napi::Float32Array::New(env, values.ElementLength());
  for (size_t i = 0; i < values.ElementLength(); ++i) rounded[i] = ftb::round_e4m3(values[i]);
  return rounded;
}

Napi::Value E4m3Scale(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "e4m3Scale(amax: number)");
  return Napi::Number::New(env, ftb::e4m3_scale(info[0].As<Napi::Number>().FloatValue()));
}

// quantizeE4m3(backend, values: Float32Array, cols) -> {values: Float32Array, scales: Float32Array}:
// the fp8 dynamic quantization of a tensor of rows of `cols` values, a scale per row, as `backend`
// computes it (Backend::quantize_e4m3).
Napi::Value QuantizeE4m3(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "quantizeE4m3(backend: string, values: Float32Array, cols: number), values.length a multiple of cols";
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, usage);
  }
  const Napi::Float32Array array = info[1].As<Napi::Float32Array>();
  const int cols = info[2].As<Napi::Number>().Int32Value();
  if (cols <= 0 || array.ElementLength() % cols != 0) throw Napi::RangeError::New(env, usage);
  const std::vector<float> values(array.Data(), array.Data() + array.ElementLength());
  const ftb::E4m3Tensor tensor =
      guarded(env, [&] { return ftb::backend(info[0].As<Napi::String>().Utf8Value()).quantize_e4m3(values, cols); });
  Napi::Object out = Napi::Object::New(env);
  out.Set("values", to_typed<float, Napi::Float32Array>(env, tensor.values));
  out.Set("scales", to_typed<float, Napi::Float32Array>(env, tensor.scales));
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Model", ModelWrap::Define(env));
  exports.Set("backends", Napi::Function::New(env, Backends));
  exports.Set("deviceInfo", Napi::Function::New(env, DeviceInfo));
  exports.Set("deviceCount", Napi::Function::New(env, DeviceCount));
  exports.Set("calibrate", Napi::Function::New(env, Calibrate));
  exports.Set("philox", Napi::Function::New(env, Philox));
  exports.Set("tensor", Napi::Function::New(env, TensorValues));
  exports.Set("sequenceLength", Napi::Function::New(env, SequenceLength));
  exports.Set("sampleRow", Napi::Function::New(env, SampleRow));
  exports.Set("e4m3", Napi::Function::New(env, E4m3));
  exports.Set("e4m3Scale", Napi::Function::New(env, E4m3Scale));
  exports.Set("quantizeE4m3", Napi::Function::New(env, QuantizeE4m3));
  exports.Set("setGemmTable", Napi::Function::New(env, SetGemmTable));
  exports.Set("gemmTable", Napi::Function::New(env, GemmTable));
  exports.Set("planGemms", Napi::Function::New(env, PlanGemms));
  return exports;
}

}  // namespace

NODE_API_MODULE(ftbench, Init)
