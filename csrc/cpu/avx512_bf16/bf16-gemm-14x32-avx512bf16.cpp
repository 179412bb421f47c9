// 14×32 tile over bf16 pairs: the f32 14×32 tile's registers, one vdpbf16ps (two multiply-adds per lane) per FMA.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "../avx512/vec_avx512.h"
#include "gemm_ukernel_impl.h"
#include "vec_avx512_bf16.h"

}  // namespace

void pycnn::bf16_gemm_ukernel_14x32__avx512bf16(const UkernelArgs& args) {
  gemm_ukernel<Avx512Bf16Pairs, 14, 32 / 16>(args);
}
