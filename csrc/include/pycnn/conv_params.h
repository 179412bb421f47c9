#pragma once
// Plain shape and hyper-parameter structs, validated in Python and re-checked by the bindings.
#include <cstdint>

namespace pycnn {

struct Window2d {
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w;
  int64_t pad_top, pad_bottom, pad_left, pad_right;
  int64_t dilation_h, dilation_w;
};

struct Conv2dParams {
  int64_t batch, in_channels, in_h, in_w;
  int64_t out_channels, out_h, out_w;
  int64_t groups;
  Window2d window;
};

struct Pool2dParams {
  int64_t batch, channels, in_h, in_w;
  int64_t out_h, out_w;
  Window2d window;
};

// PyTorch's output size along one axis: floor((in + pads - dilation*(kernel-1) - 1) / stride) + 1,
// or ceil with ceil_mode, where the last window must start inside the input or its leading padding.
int64_t window_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_before, int64_t pad_after,
                           int64_t dilation, bool ceil_mode);

}  // namespace pycnn
