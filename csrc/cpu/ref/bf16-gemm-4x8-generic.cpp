// The portable bf16 micro-kernel: vdpbf16ps's arithmetic in plain C++, so any CPU computes bf16 results.
#include <cstdint>
#include <cstring>

#include "pycnn/ukernel.h"

namespace {

#include "gemm_ukernel_impl.h"
#include "vec_scalar.h"
#include "vec_scalar_bf16.h"

}  // namespace

void pycnn::bf16_gemm_ukernel_4x8__generic(const UkernelArgs& args) { gemm_ukernel<ScalarBf16Pairs, 4, 8>(args); }
