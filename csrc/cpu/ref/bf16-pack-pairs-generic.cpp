// Float32 rows to bf16 pair rows (bf16.h), one element at a time.
#include <cstdint>

#include "pycnn/bf16.h"

void pycnn::bf16_pack_pairs__generic(const float* src, int64_t src_stride, int64_t rows, int valid, int r,
                                     uint32_t* dst) {
  for (int64_t k = 0; 2 * k < rows; ++k) {
    const float* low = src + 2 * k * src_stride;
    const bool has_high = 2 * k + 1 < rows;
    for (int x = 0; x < r; ++x) {
      const uint32_t lo = x < valid ? bf16_from_float(low[x]) : 0u;
      const uint32_t hi = x < valid && has_high ? bf16_from_float(low[src_stride + x]) : 0u;
      dst[k * r + x] = lo | (hi << 16);
    }
  }
}
