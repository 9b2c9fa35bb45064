// The CPU reference backend: fp32 storage, fp64 accumulation, the oracle for every GPU kernel.
#pragma once
#include <memory>

#include "engine/backend.h"

namespace ftb {

std::unique_ptr<Backend> make_cpu_backend();

}  // namespace ftb
