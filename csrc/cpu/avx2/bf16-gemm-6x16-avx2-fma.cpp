// 6×16 tile over bf16 pairs for AVX2 CPUs: vdpbf16ps's arithmetic in two FMAs.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "gemm_ukernel_impl.h"
#include "vec_avx2.h"
#include "vec_avx2_bf16_emulated.h"

}  // namespace

void pycnn::bf16_gemm_ukernel_6x16__avx2_fma(const UkernelArgs& args) {
  gemm_ukernel<Avx2EmulatedBf16Pairs, 6, 16 / 8>(args);
}
