// The portable micro-kernel: plain C++ for any CPU (the compiler vectorises it for the baseline ISA).
#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "gemm_ukernel_impl.h"
#include "vec_scalar.h"

}  // namespace

void pycnn::f32_gemm_ukernel_4x8__generic(const UkernelArgs& args) { gemm_ukernel<Scalar, 4, 8>(args); }
