// 4×32 tile: for products with few rows (a fully connected layer at batch 1–4), where a 14-row tile would
// multiply mostly padding. 8 accumulators still cover the FMA latency; the B panels are the 14×32 kernel's.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "gemm_ukernel_impl.h"
#include "vec_avx512.h"

}  // namespace

void pycnn::f32_gemm_ukernel_4x32__avx512f(const UkernelArgs& args) { gemm_ukernel<Avx512, 4, 32 / 16>(args); }
