// Fault injection for the harness's tests of crash isolation (a point that aborts, segfaults, hangs
// or runs out of memory must be recorded and the sweep go on). Honoured only behind an explicit
// switch that the harness never sets itself:
//   FTBENCH_ENABLE_FAULTS=1 FTBENCH_FAULT=<kind>@<field>=<value>
// kind: abort (SIGABRT), segv (SIGSEGV), hang (never returns), oom (OutOfMemory), error (EngineError);
// field: batch, beam, seq, path, variant or precision. The fault fires in Model::measure of every
// model whose config has that value, e.g. FTBENCH_FAULT=segv@batch=4.
#pragma once
#include <memory>

#include "engine/backend.h"

namespace ftb {

// `model`, wrapped so that measure() fails as FTBENCH_FAULT asks when the fault targets `config`;
// `model` itself when faults are not enabled or the fault targets other configs. A malformed
// FTBENCH_FAULT (with faults enabled) is a ConfigError naming it.
std::unique_ptr<Model> with_injected_fault(std::unique_ptr<Model> model, const ModelConfig& config);

}  // namespace ftb
