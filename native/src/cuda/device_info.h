// What the results file records about the GPU: name, size, clocks and software versions.
#pragma once
#include "cuda/context.h"
#include "engine/backend.h"

namespace ftb::cuda {

DeviceInfo describe_device(CudaContext& context);

}  // namespace ftb::cuda
