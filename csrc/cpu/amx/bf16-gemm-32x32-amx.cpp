// 32×32 tile over bf16 pairs on AMX: 2 × 2 tiles of C, each A and B tile used twice.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "../avx512/vec_avx512.h"
#include "gemm_ukernel_impl.h"
// After the generic tile's epilogue, which it shares.
#include "bf16_gemm_amx_impl.h"

}  // namespace

void pycnn::bf16_gemm_ukernel_32x32__amx(const UkernelArgs& args) { amx_bf16_gemm<32>(args); }

void pycnn::bf16_amx_configure_tiles() { configure_tiles(); }
