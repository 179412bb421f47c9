// The 16-float AVX-512F vector the avx512 kernels are written in.
// Included inside an anonymous namespace of each TU built with this ISA's flags.
#pragma once

struct Avx512 {
  using T = __m512;
  static constexpr int width = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T fmadd(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  // max(0, NaN) = NaN. The maskz form: GCC 12 warns on _mm512_max_ps's undefined pass-through operand.
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T relu(T v) { return _mm512_maskz_max_ps(0xFFFF, _mm512_setzero_ps(), v); }
};
