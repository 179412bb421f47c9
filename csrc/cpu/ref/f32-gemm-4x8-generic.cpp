// The portable micro-kernel: plain C++ for any CPU (the compiler vectorises it for the baseline ISA).
#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "gemm_ukernel_impl.h"

struct Scalar {
  using T = float;
  static constexpr int width = 1;
  static T zero() { return 0.0f; }
  static T load(const float* p) { return *p; }
  static void store(float* p, T v) { *p = v; }
  static T set1(float x) { return x; }
  static T fmadd(T a, T b, T c) { return a * b + c; }
  static T add(T a, T b) { return a + b; }
  static T relu(T v) { return v < 0.0f ? 0.0f : v; }
};

}  // namespace

void pycnn::f32_gemm_ukernel_4x8__generic(const UkernelArgs& args) { gemm_ukernel<Scalar, 4, 8>(args); }
