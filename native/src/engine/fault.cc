#include "engine/fault.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>

namespace ftb {
namespace {

enum class FaultKind { Abort, Segv, Hang, Oom, Error };

struct Fault {
  FaultKind kind;
  std::string field, value;
};

FaultKind parse_kind(const std::string& text, const std::string& spec) {
  if (text == "abort") return FaultKind::Abort;
  if (text == "segv") return FaultKind::Segv;
  if (text == "hang") return FaultKind::Hang;
  if (text == "oom") return FaultKind::Oom;
  if (text == "error") return FaultKind::Error;
  throw ConfigError("FTBENCH_FAULT kind must be abort, segv, hang, oom or error, got '" + spec + "'");
}

Fault parse_fault(const std::string& spec) {
  const auto at = spec.find('@');
  const auto equals = spec.find('=', at == std::string::npos ? 0 : at);
  if (at == std::string::npos || equals == std::string::npos) {
    throw ConfigError("FTBENCH_FAULT must be <kind>@<field>=<value>, got '" + spec + "'");
  }
  return {parse_kind(spec.substr(0, at), spec), spec.substr(at + 1, equals - at - 1), spec.substr(equals + 1)};
}

std::string field_value(const ModelConfig& c, const std::string& field) {
  if (field == "batch") return std::to_string(c.batch);
  if (field == "beam") return std::to_string(c.beam);
  if (field == "seq") return std::to_string(c.seq);
  if (field == "path") return to_string(c.path);
  if (field == "variant") return to_string(c.variant);
  if (field == "precision") return to_string(c.precision);
  throw ConfigError("FTBENCH_FAULT field must be batch, beam, seq, path, variant or precision, got '" + field + "'");
}

[[noreturn]] void fail(FaultKind kind) {
  switch (kind) {
    case FaultKind::Abort:
      std::abort();
    case FaultKind::Segv:
      std::raise(SIGSEGV);
      std::abort();  // SIGSEGV handled or ignored: still never return
    case FaultKind::Hang:
      for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    case FaultKind::Oom:
      throw OutOfMemory("injected fault: out of memory (FTBENCH_FAULT)");
    case FaultKind::Error:
      break;
  }
  throw EngineError("injected fault (FTBENCH_FAULT)");
}

class FaultyModel final : public Model {
 public:
  FaultyModel(std::unique_ptr<Model> model, FaultKind kind) : model_(std::move(model)), kind_(kind) {}
  void run() override { model_->run(); }
  Sample measure(const MeasureOptions&) override { fail(kind_); }
  KernelProfile profile(int iterations) override { return model_->profile(iterations); }
  Outputs outputs() override { return model_->outputs(); }
  std::map<std::string, std::string> notes() const override { return model_->notes(); }
  std::vector<GemmChoice> gemms() const override { return model_->gemms(); }

 private:
  std::unique_ptr<Model> model_;
  FaultKind kind_;
};

}  // namespace

std::unique_ptr<Model> with_injected_fault(std::unique_ptr<Model> model, const ModelConfig& config) {
  const char* enabled = std::getenv("FTBENCH_ENABLE_FAULTS");
  const char* spec = std::getenv("FTBENCH_FAULT");
  if (!enabled || std::string(enabled) != "1" || !spec || !*spec) return model;
  const Fault fault = parse_fault(spec);
  if (field_value(config, fault.field) != fault.value) return model;
  return std::make_unique<FaultyModel>(std::move(model), fault.kind);
}

}  // namespace ftb
