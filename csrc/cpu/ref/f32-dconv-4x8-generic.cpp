// Direct convolution tile of 4 output positions × 8 output channels (see direct_conv_ukernel_impl.h).
#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "direct_conv_ukernel_impl.h"
#include "vec_scalar.h"

}  // namespace

void pycnn::f32_dconv_ukernel_4x8__generic(const DirectConvArgs& args) {
  direct_conv_ukernel<Scalar, 4, 8 / 1>(args);
}
