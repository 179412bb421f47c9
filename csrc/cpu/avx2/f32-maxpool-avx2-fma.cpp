// The max-pooling pass, 8 floats per AVX2 vector.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "max_pool_impl.h"
#include "vec_avx2.h"

}  // namespace

void pycnn::f32_maxpool_pass__avx2_fma(const MaxPassArgs& args) { max_pass<Avx2>(args); }
