// The CUDA backend: the encoder, decoder and decoding paths in two variants (fused,
// FasterTransformer-style; unfused, one kernel per operation) at fp32, tf32, fp16 and bf16.
//
// Infrastructure for other paths (all under native/src/cuda):
//   context.h        device (FTBENCH_CUDA_DEVICE, default 0), the one stream, the GEMM engine
//   check.h          check(cudaError_t, stage) / check_launch(kernel): CUDA errors -> EngineError/OutOfMemory
//   buffer.h         DeviceBuffer: RAII cudaMalloc/cudaFree, counting the models' bytes and their peak
//   nvml.h           NVML loaded at run time: SM clock, driver version, the energy counter
//   measured_model.h MeasuredModel: every model's peak memory and energy per unit (MODEL.md)
//   gemm/gemm.h      GemmEngine::plan(GemmSpec) -> Gemm::run(): cuBLASLt, the only cuBLAS user
//   kernels/fill.h   fill_tensor(): the generator's exact values on the device, in the storage type
//   timing/          ModelTiming: every model's Model::measure (CUDA events) and Model::profile (CUPTI);
//                    EnergyMeter: NVML's energy counter over a window between two of its ticks
//   utils/graph.h    CapturedGraph: capture a forward once, replay it (models and the GEMM tuner)
//   utils/gemm_specs.h  the GEMM specs of the models and the calibration
#pragma once
#include <memory>

#include "engine/backend.h"

namespace ftb {

std::unique_ptr<Backend> make_cuda_backend();

}  // namespace ftb
