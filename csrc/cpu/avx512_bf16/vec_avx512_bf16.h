// The AVX-512 vector of the bf16 GEMM kernels: float32 lanes, each multiply-add one vdpbf16ps over bf16 pairs.
// Included inside an anonymous namespace of each TU built with this ISA's flags, after vec_avx512.h.
#pragma once

struct Avx512Bf16Pairs : Avx512 {
  // c + a.high·b.high + a.low·b.low in each lane, a and b holding a bf16 pair per lane (bf16.h).
  static T fmadd(T a, T b, T c) {
    return _mm512_dpbf16_ps(c, reinterpret_cast<__m512bh>(a), reinterpret_cast<__m512bh>(b));
  }
};
