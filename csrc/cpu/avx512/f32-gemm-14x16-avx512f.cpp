// 14×16 tile: for products with few columns (Winograd on a small image: 16 tiles at batch 1 on 14×14), where a
// 32-wide tile would multiply mostly padding. One broadcast per FMA instead of one per two, so a column costs more
// than the 14×32 tile's (gemm.h: gemm_columns_cost). The A panels are the 14×32 kernel's.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "gemm_ukernel_impl.h"
#include "vec_avx512.h"

}  // namespace

void pycnn::f32_gemm_ukernel_14x16__avx512f(const UkernelArgs& args) { gemm_ukernel<Avx512, 14, 16 / 16>(args); }
