// 14×32 tile: 28 zmm accumulators, 2 for B, 1 broadcast of A — within the 32 AVX-512 registers.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "gemm_ukernel_impl.h"

struct Avx512 {
  using T = __m512;
  static constexpr int width = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T fmadd(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T relu(T v) { return _mm512_max_ps(_mm512_setzero_ps(), v); }  // max(0, NaN) = NaN
};

}  // namespace

void pycnn::f32_gemm_ukernel_14x32__avx512f(const UkernelArgs& args) { gemm_ukernel<Avx512, 14, 32 / 16>(args); }
