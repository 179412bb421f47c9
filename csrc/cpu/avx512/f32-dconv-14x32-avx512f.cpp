// Direct convolution tile of 14 output positions × 32 output channels (see direct_conv_ukernel_impl.h).
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "direct_conv_ukernel_impl.h"
#include "vec_avx512.h"

}  // namespace

void pycnn::f32_dconv_ukernel_14x32__avx512f(const DirectConvArgs& args) {
  direct_conv_ukernel<Avx512, 14, 32 / 16>(args);
}
