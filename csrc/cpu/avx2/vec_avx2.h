// The 8-float AVX2+FMA vector the avx2 kernels are written in.
// Included inside an anonymous namespace of each TU built with this ISA's flags.
#pragma once

struct Avx2 {
  using T = __m256;
  static constexpr int width = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static T set1(float x) { return _mm256_set1_ps(x); }
  static T fmadd(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T relu(T v) { return _mm256_max_ps(_mm256_setzero_ps(), v); }  // max(0, NaN) = NaN
};
