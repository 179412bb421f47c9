// BF16 tensor-core convolution: weights stored as bfloat16 once, inputs rounded to bfloat16 (nearest even) as
// they enter shared memory, m16n16k16 fragments, fp32 accumulation.
#include <cuda_bf16.h>

#include "conv_igemm_wmma.cuh"

namespace pycnn::cuda {
namespace {

struct Bf16Math {
  using Weight = uint16_t;  // bfloat16 bits
  using Element = __nv_bfloat16;
  static constexpr int kStep = 16;
  static constexpr int kDepth = 16;
  using AFragment =
      nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 16, __nv_bfloat16, nvcuda::wmma::row_major>;
  using BFragment =
      nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, 16, __nv_bfloat16, nvcuda::wmma::row_major>;
  __device__ static __nv_bfloat16 weight_element(uint16_t bits) { return __ushort_as_bfloat16(bits); }
  __device__ static __nv_bfloat16 input_element(float x) { return __float2bfloat16_rn(x); }
};

}  // namespace

void conv_igemm_bf16(const ConvGemmArgs<uint16_t>& args, int groups, bool large) {
  launch_wmma<Bf16Math>(args, groups, large, "conv2d (bf16)");
}

}  // namespace pycnn::cuda
