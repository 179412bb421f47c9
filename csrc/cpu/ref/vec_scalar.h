// One float as the "vector" of the portable kernels.
// Included inside an anonymous namespace of each TU built with this ISA's flags.
#pragma once

struct Scalar {
  using T = float;
  static constexpr int width = 1;
  static T zero() { return 0.0f; }
  static T load(const float* p) { return *p; }
  static void store(float* p, T v) { *p = v; }
  static T set1(float x) { return x; }
  static T fmadd(T a, T b, T c) { return a * b + c; }
  static T add(T a, T b) { return a + b; }
  static T sub(T a, T b) { return a - b; }
  static T mul(T a, T b) { return a * b; }
  static T relu(T v) { return v < 0.0f ? 0.0f : v; }
  static T max_nan(T a, T b) { return (a > b || a != a) ? a : b; }
  static T load_first(const float* p, int64_t n) { return n > 0 ? *p : 0.0f; }
  static void store_first(float* p, T v, int64_t n) {
    if (n > 0) *p = v;
  }
  static T gather(const float* base, const int64_t* offset, uint32_t mask) { return mask & 1u ? base[*offset] : 0.0f; }
  static void scatter(float* base, const int64_t* offset, uint32_t mask, T v) {
    if (mask & 1u) base[*offset] = v;
  }
  static void transpose(T* /*r*/) {}  // a 1×1 matrix
  static T load_strided(const float* p, int64_t /*stride*/, int64_t n) { return load_first(p, n); }
};
