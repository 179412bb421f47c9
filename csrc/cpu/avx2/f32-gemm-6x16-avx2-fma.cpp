// 6×16 tile: 12 ymm accumulators, 2 for B, 1 broadcast of A — within the 16 AVX2 registers.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "gemm_ukernel_impl.h"
#include "vec_avx2.h"

}  // namespace

void pycnn::f32_gemm_ukernel_6x16__avx2_fma(const UkernelArgs& args) { gemm_ukernel<Avx2, 6, 16 / 8>(args); }
