// Float32 rows to bf16 pair rows (bf16.h): two rows rounded by one vcvtne2ps2bf16, then interleaved.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/bf16.h"

namespace {

__mmask16 lanes_below(int n) {
  return n >= 16 ? __mmask16{0xFFFF} : n <= 0 ? __mmask16{0} : static_cast<__mmask16>((1u << n) - 1);
}

}  // namespace

void pycnn::bf16_pack_pairs__avx512bf16(const float* src, int64_t src_stride, int64_t rows, int valid, int r,
                                        uint32_t* dst) {
  // 16-bit lane 2x takes lane x (row 2k), lane 2x + 1 takes lane 16 + x (row 2k + 1).
  alignas(64) static constexpr uint16_t kInterleave[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,
                                                           21, 6, 22, 7, 23, 8,  24, 9,  25, 10, 26,
                                                           11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i interleave = _mm512_load_si512(kInterleave);
  for (int64_t k = 0; 2 * k < rows; ++k) {
    const float* low = src + 2 * k * src_stride;
    const bool has_high = 2 * k + 1 < rows;
    for (int x = 0; x < r; x += 16) {
      const __mmask16 read = lanes_below(valid - x), write = lanes_below(r - x);
      const __m512 lo = _mm512_maskz_loadu_ps(read, low + x);
      const __m512 hi = has_high ? _mm512_maskz_loadu_ps(read, low + src_stride + x) : _mm512_setzero_ps();
      const __m512i both = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));  // lo in lanes 0–15
      _mm512_mask_storeu_epi32(dst + k * r + x, write, _mm512_permutexvar_epi16(interleave, both));
    }
  }
}
