// fill_random_e4m3 (fp8_random.h). The staging is padded to the kernels' vector width with zeros,
// which change no amax; only `count` bytes are copied out.
#include "cuda/utils/fp8_random.h"

#include "common/config.h"
#include "common/tensors.h"
#include "cuda/buffer.h"
#include "cuda/check.h"
#include "cuda/kernels/fill.h"
#include "cuda/kernels/fp8_quant.h"

namespace ftb::cuda {

void fill_random_e4m3(void* dst, size_t count, int layer, float* state, cudaStream_t stream) {
  const size_t padded = (count + 7) / 8 * 8;
  DeviceBuffer staging(padded * dtype_size(DType::F16), "fp8 random staging", DeviceBuffer::Owner::Harness);
  DeviceBuffer quantized(padded, "fp8 random quantized", DeviceBuffer::Owner::Harness);
  check(cudaMemsetAsync(staging.get(), 0, staging.bytes(), stream), "clearing the fp8 random staging");
  check(cudaMemsetAsync(state, 0, sizeof(float), stream), "clearing the fp8 random amax");
  fill_tensor(DType::F16, staging.get(), count, ModelConfig{}, Tensor::EncoderInput, layer, stream);
  fp8_amax(DType::F16, staging.get(), padded, state, stream);
  fp8_quantize(DType::F16, staging.get(), padded, state, state + 1, quantized.get(), stream);
  check(cudaMemcpyAsync(dst, quantized.get(), count, cudaMemcpyDeviceToDevice, stream), "copying the fp8 random data");
  check(cudaStreamSynchronize(stream), "quantizing the fp8 random data");
}

}  // namespace ftb::cuda
