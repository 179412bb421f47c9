// The AVX-512F vector of the bf16 kernels on CPUs without AVX512-BF16: vdpbf16ps's arithmetic in two FMAs.
// Included inside an anonymous namespace of each TU built with this ISA's flags, after vec_avx512.h.
#pragma once

struct Avx512EmulatedBf16Pairs : Avx512 {
  // c + a.high·b.high + a.low·b.low in each lane: the products are exact, so each FMA rounds what the
  // instruction's sums round.
  static T fmadd(T a, T b, T c) {
    const __m512i ai = _mm512_castps_si512(a), bi = _mm512_castps_si512(b);
    const __m512i high = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
    c = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(ai, high)),
                        _mm512_castsi512_ps(_mm512_and_si512(bi, high)), c);
    // The maskz form, all lanes on: GCC 12 warns on the plain form's undefined pass-through operand.
    return _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xFFFF, ai, 16)),
                           _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xFFFF, bi, 16)), c);
  }
};
