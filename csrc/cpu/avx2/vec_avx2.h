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
  // max(a, b), NaN if either is (_mm256_max_ps alone returns b when either is NaN).
  static T max_nan(T a, T b) { return _mm256_blendv_ps(_mm256_max_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q)); }
  // Lanes below n (all when n ≥ 8, none when n ≤ 0): the others are not read, and load as zero.
  static __m256i first(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n < width ? n : width)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static T load_first(const float* p, int64_t n) { return _mm256_maskload_ps(p, first(n)); }
  static void store_first(float* p, T v, int64_t n) { _mm256_maskstore_ps(p, first(n), v); }
  // Lane l: base[offset[l]] where bit l of mask is set, else 0 (and nothing read); scatter writes those lanes only
  // (AVX2 has no scatter instruction: one store per lane).
  // 64-bit offsets, four lanes per instruction: a batch of large images spans more than 2^31 floats.
  static T gather(const float* base, const int64_t* offset, uint32_t mask) {
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i on = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int>(mask)), bit), bit);
    const __m256 on_ps = _mm256_castsi256_ps(on);
    const __m128 low = _mm256_mask_i64gather_ps(_mm_setzero_ps(), base,
                                                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(offset)),
                                                _mm256_castps256_ps128(on_ps), 4);
    const __m128 high = _mm256_mask_i64gather_ps(_mm_setzero_ps(), base,
                                                 _mm256_loadu_si256(reinterpret_cast<const __m256i*>(offset + 4)),
                                                 _mm256_extractf128_ps(on_ps, 1), 4);
    return _mm256_insertf128_ps(_mm256_castps128_ps256(low), high, 1);
  }
  static void scatter(float* base, const int64_t* offset, uint32_t mask, T v) {
    alignas(32) float lanes[width];
    _mm256_store_ps(lanes, v);
    for (int l = 0; l < width; ++l) {
      if (mask >> l & 1u) base[offset[l]] = lanes[l];
    }
  }
  // In place: r[c] becomes column c of the 8×8 matrix whose rows were r[0..7] (as Avx512::transpose, two lanes).
  static void transpose(T r[width]) {
    T t[width];
    for (int k = 0; k < width; k += 2) {
      t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
      t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
    }
    auto lo = [](T a, T b) { return _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(a), _mm256_castps_pd(b))); };
    auto hi = [](T a, T b) { return _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(a), _mm256_castps_pd(b))); };
    T u[width];  // u[4k + c], lane l: column 4l + c of rows 4k..4k+3
    for (int k = 0; k < width; k += 4) {
      u[k] = lo(t[k], t[k + 2]);
      u[k + 1] = hi(t[k], t[k + 2]);
      u[k + 2] = lo(t[k + 1], t[k + 3]);
      u[k + 3] = hi(t[k + 1], t[k + 3]);
    }
    for (int c = 0; c < 4; ++c) {
      r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
      r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
  }
  // p[0], p[stride], ... of which the first n exist.
  static T load_strided(const float* p, int64_t stride, int64_t n) {
    if (stride == 1) return load_first(p, n);
    const __m256i index = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                             _mm256_set1_epi32(static_cast<int>(stride)));
    return _mm256_mask_i32gather_ps(zero(), p, index, _mm256_castsi256_ps(first(n)), 4);
  }
};
