// The portable bf16 "vector": one float32 lane whose multiply-add is vdpbf16ps's, in plain C++ — the high pair
// first, then the low one, each product exact (8-bit significands) and each sum rounded to float32.
// Included inside an anonymous namespace of each TU built with this ISA's flags, after vec_scalar.h.
#pragma once

struct ScalarBf16Pairs : Scalar {
  static float high(float pair) {
    uint32_t u;
    std::memcpy(&u, &pair, sizeof u);
    u &= 0xFFFF0000u;
    float x;
    std::memcpy(&x, &u, sizeof x);
    return x;
  }
  static float low(float pair) {
    uint32_t u;
    std::memcpy(&u, &pair, sizeof u);
    u <<= 16;
    float x;
    std::memcpy(&x, &u, sizeof x);
    return x;
  }
  static T fmadd(T a, T b, T c) {
    c += high(a) * high(b);
    return c + low(a) * low(b);
  }
};
