// 4×32 tile over bf16 pairs, for products with few rows (a fully connected layer at batch 1–4).
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "../avx512/vec_avx512.h"
#include "gemm_ukernel_impl.h"
#include "vec_avx512_bf16.h"

}  // namespace

void pycnn::bf16_gemm_ukernel_4x32__avx512bf16(const UkernelArgs& args) {
  gemm_ukernel<Avx512Bf16Pairs, 4, 32 / 16>(args);
}
