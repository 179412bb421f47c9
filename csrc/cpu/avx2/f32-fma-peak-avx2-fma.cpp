// The AVX2+FMA FMA-throughput loop: 12 accumulators.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "fma_peak_impl.h"
#include "vec_avx2.h"

}  // namespace

int64_t pycnn::f32_fma_peak__avx2_fma(int64_t iterations, float* sink) {
  return fma_peak_loop<Avx2, 12>(iterations, sink);
}
