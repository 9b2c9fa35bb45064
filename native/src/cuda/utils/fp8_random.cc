// fill_random_e4m3 (fp8_random.h). The staging rows are padded to the kernels' vector width with
// zeros, which change no amax; only `cols` bytes a row are copied out.
#include "cuda/utils/fp8_random.h"

#include "common/config.h"
#include "common/tensors.h"
#include "cuda/buffer.h"
#include "cuda/check.h"
#include "cuda/kernels/fill.h"
#include "cuda/kernels/fp8_quant.h"

namespace ftb::cuda {

void fill_random_e4m3(void* dst, int rows, int cols, int layer, float* scales, cudaStream_t stream) {
  const size_t padded_cols = (static_cast<size_t>(cols) + 7) / 8 * 8, padded = rows * padded_cols;
  DeviceBuffer staging(padded * dtype_size(DType::F16), "fp8 random staging", DeviceBuffer::Owner::Harness);
  DeviceBuffer quantized(padded, "fp8 random quantized", DeviceBuffer::Owner::Harness);
  fill_tensor(DType::F16, staging.get(), padded, ModelConfig{}, Tensor::EncoderInput, layer, stream);
  if (padded_cols != static_cast<size_t>(cols)) {
    // Zero the padding columns, which then change no row's amax.
    check(cudaMemset2DAsync(staging.as<char>() + cols * dtype_size(DType::F16), padded_cols * dtype_size(DType::F16), 0,
                            (padded_cols - cols) * dtype_size(DType::F16), rows, stream),
          "clearing the fp8 random padding");
  }
  fp8_quantize_rows(DType::F16, staging.get(), rows, static_cast<int>(padded_cols), scales, quantized.get(), stream);
  check(cudaMemcpy2DAsync(dst, cols, quantized.get(), padded_cols, cols, rows, cudaMemcpyDeviceToDevice, stream),
        "copying the fp8 random data");
  check(cudaStreamSynchronize(stream), "quantizing the fp8 random data");
}

}  // namespace ftb::cuda
