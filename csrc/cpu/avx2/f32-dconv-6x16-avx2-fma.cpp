// Direct convolution tile of 6 output positions × 16 output channels (see direct_conv_ukernel_impl.h).
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "direct_conv_ukernel_impl.h"
#include "vec_avx2.h"

}  // namespace

void pycnn::f32_dconv_ukernel_6x16__avx2_fma(const DirectConvArgs& args) {
  direct_conv_ukernel<Avx2, 6, 16 / 8>(args);
}
