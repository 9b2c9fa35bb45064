// quantize_e4m3_probe (fp8_probe.h). The tensor is padded with zeros to the quantize kernel's vector
// width (zeros change no amax) and the padding dropped on the way back.
#include "cuda/fp8_probe.h"

#include <cstdint>

#include "common/e4m3.h"
#include "cuda/buffer.h"
#include "cuda/check.h"
#include "cuda/kernels/fp8_quant.h"

namespace ftb::cuda {

E4m3Tensor quantize_e4m3_probe(const std::vector<float>& values, CudaContext& context) {
  context.activate();
  cudaStream_t stream = context.stream();
  const size_t padded = (values.size() + 7) / 8 * 8;
  DeviceBuffer x(padded * sizeof(float), "fp8 probe input", DeviceBuffer::Owner::Harness);
  DeviceBuffer q(padded, "fp8 probe output", DeviceBuffer::Owner::Harness);
  DeviceBuffer state(2 * sizeof(float), "fp8 probe amax and scale", DeviceBuffer::Owner::Harness);
  check(cudaMemsetAsync(x.get(), 0, x.bytes(), stream), "clearing the fp8 probe input");
  check(cudaMemsetAsync(state.get(), 0, state.bytes(), stream), "clearing the fp8 probe amax");
  check(cudaMemcpyAsync(x.get(), values.data(), values.size() * sizeof(float), cudaMemcpyHostToDevice, stream),
        "uploading the fp8 probe input");
  fp8_amax(DType::F32, x.get(), padded, state.as<float>(), stream);
  fp8_quantize(DType::F32, x.get(), padded, state.as<float>(), state.as<float>() + 1, q.get(), stream);
  std::vector<uint8_t> bytes(values.size());
  E4m3Tensor out;
  check(cudaMemcpyAsync(bytes.data(), q.get(), bytes.size(), cudaMemcpyDeviceToHost, stream),
        "reading the fp8 probe output");
  check(cudaMemcpyAsync(&out.scale, state.as<float>() + 1, sizeof(float), cudaMemcpyDeviceToHost, stream),
        "reading the fp8 probe scale");
  context.synchronize("the fp8 probe");
  out.values.reserve(bytes.size());
  for (uint8_t bits : bytes) out.values.push_back(e4m3_value(bits));
  return out;
}

}  // namespace ftb::cuda
