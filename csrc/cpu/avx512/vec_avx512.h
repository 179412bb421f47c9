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
  // max(a, b), NaN if either is (the max instruction alone returns b when either is NaN).
  static T max_nan(T a, T b) {
    return _mm512_mask_mov_ps(_mm512_maskz_max_ps(0xFFFF, a, b), _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a);
  }
  // In place: r[c] becomes column c of the 16×16 matrix whose rows were r[0..15]. Pairs of rows interleave, then
  // pairs of pairs (each 128-bit lane then holds a 4×4 block, transposed), then the 4×4 grid of lanes transposes.
  // The maskz forms, all lanes on: GCC 12 warns on the plain forms' undefined pass-through operands.
  static void transpose(T r[width]) {
    T t[width];
    for (int k = 0; k < width; k += 2) {
      t[k] = _mm512_maskz_unpacklo_ps(0xFFFF, r[k], r[k + 1]);
      t[k + 1] = _mm512_maskz_unpackhi_ps(0xFFFF, r[k], r[k + 1]);
    }
    auto lo = [](T a, T b) {
      return _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, _mm512_castps_pd(a), _mm512_castps_pd(b)));
    };
    auto hi = [](T a, T b) {
      return _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, _mm512_castps_pd(a), _mm512_castps_pd(b)));
    };
    T u[width];  // u[4k + c], lane l: column 4l + c of rows 4k..4k+3
    for (int k = 0; k < width; k += 4) {
      u[k] = lo(t[k], t[k + 2]);
      u[k + 1] = hi(t[k], t[k + 2]);
      u[k + 2] = lo(t[k + 1], t[k + 3]);
      u[k + 3] = hi(t[k + 1], t[k + 3]);
    }
    for (int c = 0; c < 4; ++c) {
      const T v0 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[c], u[4 + c], _MM_SHUFFLE(1, 0, 1, 0));
      const T v1 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[c], u[4 + c], _MM_SHUFFLE(3, 2, 3, 2));
      const T v2 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[8 + c], u[12 + c], _MM_SHUFFLE(1, 0, 1, 0));
      const T v3 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[8 + c], u[12 + c], _MM_SHUFFLE(3, 2, 3, 2));
      r[c] = _mm512_maskz_shuffle_f32x4(0xFFFF, v0, v2, _MM_SHUFFLE(2, 0, 2, 0));
      r[4 + c] = _mm512_maskz_shuffle_f32x4(0xFFFF, v0, v2, _MM_SHUFFLE(3, 1, 3, 1));
      r[8 + c] = _mm512_maskz_shuffle_f32x4(0xFFFF, v1, v3, _MM_SHUFFLE(2, 0, 2, 0));
      r[12 + c] = _mm512_maskz_shuffle_f32x4(0xFFFF, v1, v3, _MM_SHUFFLE(3, 1, 3, 1));
    }
  }
  // Lanes below n (all when n ≥ 16, none when n ≤ 0): the others are not read, and load as zero.
  static __mmask16 first(int64_t n) {
    return n >= width ? 0xFFFF : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1);
  }
  static T load_first(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(first(n), p); }
  static void store_first(float* p, T v, int64_t n) { _mm512_mask_storeu_ps(p, first(n), v); }
  // Lane l: base[offset[l]] where bit l of mask is set, else 0 (and nothing read); scatter writes those lanes only.
  // 64-bit offsets, eight lanes per instruction: a batch of large images spans more than 2^31 floats.
  static T gather(const float* base, const int64_t* offset, uint32_t mask) {
    const __m256 low = _mm512_mask_i64gather_ps(_mm256_setzero_ps(), static_cast<__mmask8>(mask),
                                                _mm512_loadu_si512(offset), base, 4);
    const __m256 high = _mm512_mask_i64gather_ps(_mm256_setzero_ps(), static_cast<__mmask8>(mask >> 8),
                                                 _mm512_loadu_si512(offset + 8), base, 4);
    // The mask forms: GCC 12 warns on the plain forms' undefined pass-through operands.
    const __m512d low_half = _mm512_castps_pd(_mm512_maskz_mov_ps(0x00FF, _mm512_castps256_ps512(low)));
    return _mm512_castpd_ps(_mm512_mask_insertf64x4(low_half, 0xFF, low_half, _mm256_castps_pd(high), 1));
  }
  static void scatter(float* base, const int64_t* offset, uint32_t mask, T v) {
    alignas(64) float lanes[width];  // halves through memory: GCC 12 warns on the 512-to-256-bit casts
    _mm512_store_ps(lanes, v);
    _mm512_mask_i64scatter_ps(base, static_cast<__mmask8>(mask), _mm512_loadu_si512(offset), _mm256_load_ps(lanes),
                              4);
    _mm512_mask_i64scatter_ps(base, static_cast<__mmask8>(mask >> 8), _mm512_loadu_si512(offset + 8),
                              _mm256_load_ps(lanes + 8), 4);
  }
  // p[0], p[stride], ... of which the first n exist. Stride 2 (pooling's usual) picks the even lanes of two loads.
  static T load_strided(const float* p, int64_t stride, int64_t n) {
    if (stride == 1) return load_first(p, n);
    if (stride == 2) {
      const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
      const int64_t last = 2 * (n < width ? n : width) - 1;  // floats p[0..last) are needed
      const int64_t high = last > width ? last - width : 0;
      return _mm512_permutex2var_ps(load_first(p, last), even, load_first(p + width, high));
    }
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i index = _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int>(stride)));
    return _mm512_mask_i32gather_ps(zero(), first(n), index, p, 4);
  }
};
