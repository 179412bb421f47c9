// 2×16 tile: for products with few rows (a fully connected layer at batch 1–2), where a 6-row tile would
// multiply mostly padding. The B panels are the 6×16 kernel's.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "gemm_ukernel_impl.h"
#include "vec_avx2.h"

}  // namespace

void pycnn::f32_gemm_ukernel_2x16__avx2_fma(const UkernelArgs& args) { gemm_ukernel<Avx2, 2, 16 / 8>(args); }
