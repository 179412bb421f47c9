// Winograd F(4×4, 3×3) tile transforms, 8 tiles per AVX2 vector.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/winograd.h"

namespace {

#include "vec_avx2.h"
#include "winograd_transforms_impl.h"

}  // namespace

void pycnn::f32_winograd_4x4_3x3_input__avx2_fma(const float* x, const WinogradLanes& at, int lanes, float* v,
                                                 int64_t v_stride) {
  winograd_input_transform<Avx2>(x, at, lanes, v, v_stride);
}

void pycnn::f32_winograd_4x4_3x3_output__avx2_fma(const float* m, int64_t m_stride, int lanes, float bias,
                                                  const float* residual, bool relu, float* y, const WinogradLanes& at) {
  winograd_output_transform<Avx2>(m, m_stride, lanes, bias, residual, relu, y, at);
}
