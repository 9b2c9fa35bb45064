// Conversions between JS values and engine types for the Node-API bindings (addon.cc, model_wrap.cc):
// engine exceptions to JS errors with a `code` (ERR_FTB_CONFIG, ERR_FTB_OOM, ERR_FTB_ENGINE), a
// point's config and a user's checkpoint from JS objects, and the GEMM records as the results file
// and the tuning cache spell them. A bad field is a ConfigError naming it.
#pragma once
#include <napi.h>

#include <algorithm>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "common/checkpoint.h"
#include "common/config.h"
#include "engine/backend.h"
#include "engine/gemm_choice.h"

namespace ftb::addon {

Napi::Error make_error(Napi::Env env, const std::string& message, const char* code);

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

// The engine's view of a point: snake_case fields, absent ones at their defaults.
ftb::ModelConfig to_config(const Napi::Object& obj);

// { tensors: { name: Float32Array }, ids: Int32Array, lengths: Int32Array, position_offset } ->
// Checkpoint (values copied once; the backend converts them to the point's precision).
std::shared_ptr<const ftb::Checkpoint> to_checkpoint(const Napi::Object& obj);

template <typename T, typename Array>
Array to_typed(Napi::Env env, const std::vector<T>& values) {
  Array array = Array::New(env, values.size());
  std::copy(values.begin(), values.end(), array.Data());
  return array;
}

// GemmChoice records: { role, m, n, k, batch_count, trans_a, trans_b, dtype, epilogue, algo, source,
// note, tuned_ms, heuristic_ms, bench_ms, bench_heuristic_ms }
Napi::Array choices_to_js(Napi::Env env, const std::vector<ftb::GemmChoice>& choices);

// The tuning cache: GemmTuned records { shape, algo, heuristic_kept, tuned_ms, heuristic_ms,
// candidates_tried, rejected, roles } out; in, the fields plan() needs of each entry.
Napi::Array gemm_table_to_js(Napi::Env env, const std::vector<ftb::GemmTuned>& table);
std::vector<ftb::GemmTuned> gemm_table_from(const Napi::Array& entries);
// { enabled, max_candidates, samples, bench }
ftb::GemmTuning gemm_tuning_from(const Napi::Object& options);

}  // namespace ftb::addon
