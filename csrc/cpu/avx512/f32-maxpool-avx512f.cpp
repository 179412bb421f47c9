// The max-pooling pass, 16 floats per AVX-512 vector.
#include <immintrin.h>

#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "max_pool_impl.h"
#include "vec_avx512.h"

}  // namespace

void pycnn::f32_maxpool_pass__avx512f(const MaxPassArgs& args) { max_pass<Avx512>(args); }
