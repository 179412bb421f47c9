#pragma once
// Direct convolution: output channels along the vectors, each input value broadcast straight from a
// zero-padded copy of the input (direct_conv_ukernel_impl.h). No im2col, and tiles run along output rows, so
// small images (batch 1, 7×7 to 28×28) fill the registers that im2col's few columns leave idle in a GEMM.
#include "pycnn/conv_params.h"

namespace pycnn {

class ConvWeights;
struct Conv2dEpilogue;

// `w` comes from ConvWeights::packed(..., ConvAlgorithm::direct): each group's filters in panels of
// kernels.direct_conv.nr channels.
void direct_conv2d(const Conv2dParams& p, const float* x, const ConvWeights& w, const Conv2dEpilogue& ep, float* y);

}  // namespace pycnn
