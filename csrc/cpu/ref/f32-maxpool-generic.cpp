// The max-pooling pass, one float at a time (the portable path).
#include <cstdint>

#include "pycnn/ukernel.h"

namespace {

#include "max_pool_impl.h"
#include "vec_scalar.h"

}  // namespace

void pycnn::f32_maxpool_pass__generic(const MaxPassArgs& args) { max_pass<Scalar>(args); }
