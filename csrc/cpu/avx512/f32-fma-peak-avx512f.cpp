// The AVX-512F FMA-throughput loop: 24 accumulators.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "fma_peak_impl.h"
#include "vec_avx512.h"

}  // namespace

int64_t pycnn::f32_fma_peak__avx512f(int64_t iterations, float* sink) {
  return fma_peak_loop<Avx512, 24>(iterations, sink);
}
