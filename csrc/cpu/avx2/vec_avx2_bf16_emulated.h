// The AVX2 vector of the bf16 kernels: vdpbf16ps's arithmetic in two FMAs.
// Included inside an anonymous namespace of each TU built with this ISA's flags, after vec_avx2.h.
#pragma once

struct Avx2EmulatedBf16Pairs : Avx2 {
  // c + a.high·b.high + a.low·b.low in each lane: the products are exact, so each FMA rounds what the
  // instruction's sums round.
  static T fmadd(T a, T b, T c) {
    const __m256i ai = _mm256_castps_si256(a), bi = _mm256_castps_si256(b);
    const __m256i high = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
    c = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(ai, high)),
                        _mm256_castsi256_ps(_mm256_and_si256(bi, high)), c);
    return _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(ai, 16)),
                           _mm256_castsi256_ps(_mm256_slli_epi32(bi, 16)), c);
  }
};
