#include <cstdint>

#include "pycnn/conv_params.h"

namespace pycnn {
namespace {

int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

}  // namespace

// PyTorch's pooling_output_shape: with ceil_mode a window may run past the padded input (even when the kernel is
// larger than it) as long as it starts inside the input or its leading padding.
int64_t window_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_before, int64_t pad_after,
                           int64_t dilation, bool ceil_mode) {
  const int64_t span = in + pad_before + pad_after - dilation * (kernel - 1) - 1;
  int64_t out = floor_div(span + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad_before) --out;
  return out < 0 ? 0 : out;
}

}  // namespace pycnn
