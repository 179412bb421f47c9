// 16×32 tile over bf16 pairs on AMX: 1 × 2 tiles of C, for products
// with few rows (a fully connected layer at small batches).
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "../avx512/vec_avx512.h"
#include "gemm_ukernel_impl.h"
// After the generic tile's epilogue, which it shares.
#include "bf16_gemm_amx_impl.h"

}  // namespace

void pycnn::bf16_gemm_ukernel_16x32__amx(const UkernelArgs& args) { amx_bf16_gemm<16>(args); }
