// 14×32 tile over bf16 pairs for AVX-512 CPUs without AVX512-BF16: the instruction's arithmetic in two FMAs.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "gemm_ukernel_impl.h"
#include "vec_avx512.h"
#include "vec_avx512_bf16_emulated.h"

}  // namespace

void pycnn::bf16_gemm_ukernel_14x32__avx512f(const UkernelArgs& args) {
  gemm_ukernel<Avx512EmulatedBf16Pairs, 14, 32 / 16>(args);
}
