#include "cpu/cpu_backend.h"
#include "engine/backend.h"
#if FTB_WITH_CUDA
#include "cuda/cuda_backend.h"
#endif

namespace ftb {

std::vector<std::string> backend_names() {
#if FTB_WITH_CUDA
  return {"cpu", "cuda"};
#else
  return {"cpu"};
#endif
}

Backend& backend(const std::string& name) {
  if (name == "cpu") {
    static const std::unique_ptr<Backend> cpu = make_cpu_backend();
    return *cpu;
  }
#if FTB_WITH_CUDA
  if (name == "cuda") {
    static const std::unique_ptr<Backend> cuda = make_cuda_backend();
    return *cuda;
  }
#endif
  throw EngineError("backend '" + name + "' is not built into this addon (built: cpu" +
                    std::string(backend_names().size() > 1 ? ", cuda" : "") + ")");
}

}  // namespace ftb
