// TF32 tensor-core convolution: fp32 operands rounded to TF32 (round to nearest, ties away from zero) as they
// enter shared memory, m16n16k8 fragments, fp32 accumulation.
#include "conv_igemm_wmma.cuh"

namespace pycnn::cuda {
namespace {

struct Tf32Math {
  using Weight = float;
  using Element = float;
  static constexpr int kStep = 8;
  static constexpr int kDepth = 16;
  using AFragment = nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 8, nvcuda::wmma::precision::tf32,
                                           nvcuda::wmma::row_major>;
  using BFragment = nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, 8, nvcuda::wmma::precision::tf32,
                                           nvcuda::wmma::row_major>;
  __device__ static float weight_element(float w) { return nvcuda::wmma::__float_to_tf32(w); }
  __device__ static float input_element(float x) { return nvcuda::wmma::__float_to_tf32(x); }
};

}  // namespace

void conv_igemm_tf32(const ConvGemmArgs<float>& args, int groups, bool large) {
  launch_wmma<Tf32Math>(args, groups, large, "conv2d (tf32)");
}

}  // namespace pycnn::cuda
