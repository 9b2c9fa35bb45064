// quantize_e4m3_probe (fp8_probe.h). Each row is padded with zeros to the quantize kernel's vector
// width (zeros change no amax) and the padding dropped on the way back.
#include "cuda/fp8_probe.h"

#include <cstdint>

#include "common/e4m3.h"
#include "cuda/buffer.h"
#include "cuda/check.h"
#include "cuda/kernels/fp8_quant.h"

namespace ftb::cuda {

E4m3Tensor quantize_e4m3_probe(const std::vector<float>& values, int cols, CudaContext& context) {
  context.activate();
  cudaStream_t stream = context.stream();
  const size_t rows = values.size() / cols, padded_cols = (static_cast<size_t>(cols) + 3) / 4 * 4;
  DeviceBuffer x(rows * padded_cols * sizeof(float), "fp8 probe input", DeviceBuffer::Owner::Harness);
  DeviceBuffer q(rows * padded_cols, "fp8 probe output", DeviceBuffer::Owner::Harness);
  DeviceBuffer scales(rows * sizeof(float), "fp8 probe scales", DeviceBuffer::Owner::Harness);
  check(cudaMemsetAsync(x.get(), 0, x.bytes(), stream), "clearing the fp8 probe input");
  check(cudaMemcpy2DAsync(x.get(), padded_cols * sizeof(float), values.data(), cols * sizeof(float), cols * sizeof(float),
                          rows, cudaMemcpyHostToDevice, stream),
        "uploading the fp8 probe input");
  fp8_quantize_rows(DType::F32, x.get(), static_cast<int>(rows), static_cast<int>(padded_cols), scales.as<float>(),
                    q.get(), stream);
  std::vector<uint8_t> bytes(values.size());
  E4m3Tensor out{{}, std::vector<float>(rows)};
  check(cudaMemcpy2DAsync(bytes.data(), cols, q.get(), padded_cols, cols, rows, cudaMemcpyDeviceToHost, stream),
        "reading the fp8 probe output");
  check(cudaMemcpyAsync(out.scales.data(), scales.get(), rows * sizeof(float), cudaMemcpyDeviceToHost, stream),
        "reading the fp8 probe scales");
  context.synchronize("the fp8 probe");
  out.values.reserve(bytes.size());
  for (uint8_t bits : bytes) out.values.push_back(e4m3_value(bits));
  return out;
}

}  // namespace ftb::cuda
