// 6×16 tile: 12 ymm accumulators, 2 for B, 1 broadcast of A — within the 16 AVX2 registers.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "gemm_ukernel_impl.h"

struct Avx2 {
  using T = __m256;
  static constexpr int width = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static T set1(float x) { return _mm256_set1_ps(x); }
  static T fmadd(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T relu(T v) { return _mm256_max_ps(_mm256_setzero_ps(), v); }  // max(0, NaN) = NaN
};

}  // namespace

void pycnn::f32_gemm_ukernel_6x16__avx2_fma(const UkernelArgs& args) { gemm_ukernel<Avx2, 6, 16 / 8>(args); }
