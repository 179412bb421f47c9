// The portable FMA-throughput loop: 8 accumulators.
#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "fma_peak_impl.h"
#include "vec_scalar.h"

}  // namespace

int64_t pycnn::f32_fma_peak__generic(int64_t iterations, float* sink) {
  return fma_peak_loop<Scalar, 8>(iterations, sink);
}
