// 14×32 tile: 28 zmm accumulators, 2 for B, 1 broadcast of A — within the 32 AVX-512 registers.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "gemm_ukernel_impl.h"
#include "vec_avx512.h"

}  // namespace

void pycnn::f32_gemm_ukernel_14x32__avx512f(const UkernelArgs& args) { gemm_ukernel<Avx512, 14, 32 / 16>(args); }
