// The JS Model class (exported as `Model`): a backend's model built from a point's config (and a
// user's checkpoint), with run, measure, profile, outputs, notes, gemms, memory, measureEnergy and
// release. Each method converts its arguments, calls the engine under guarded() and converts the
// result; release drops the model, after which every other method throws "model was released".
#pragma once
#include <napi.h>

#include <memory>

#include "engine/backend.h"

namespace ftb::addon {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env);

  // Model(backend: string, config: object, checkpoint?: object)
  explicit ModelWrap(const Napi::CallbackInfo& info);

 private:
  ftb::Model& model(Napi::Env env);

  Napi::Value Run(const Napi::CallbackInfo& info);
  // measure(iterations = 1, flushL2 = false) -> { ms, smClockMhz }
  Napi::Value Measure(const Napi::CallbackInfo& info);
  // profile(iterations) -> { iterations, eventMs, note, records: [{ kind, name, stage, startNs, endNs, grid, block }] }
  Napi::Value Profile(const Napi::CallbackInfo& info);
  Napi::Value Outputs(const Napi::CallbackInfo& info);
  Napi::Value Notes(const Napi::CallbackInfo& info);
  Napi::Value Gemms(const Napi::CallbackInfo& info);
  // memory() -> { peakBytes } | { reason }: the model's peak device memory since it was built
  Napi::Value Memory(const Napi::CallbackInfo& info);
  // measureEnergy(minWindowMs) -> { joules, units, windowMs } | { reason }: the device's energy over
  // at least minWindowMs of back-to-back units
  Napi::Value MeasureEnergy(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);

  std::unique_ptr<ftb::Model> model_;
};

}  // namespace ftb::addon
