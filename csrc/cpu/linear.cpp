// Fully connected layers and plain matrix products: rows of the input are A, the weights (transposed) B,
// so a batch of one still fills whole NR-wide vectors with output features.
#include <memory>
#include <vector>

#include "pycnn/gemm.h"
#include "pycnn/ops.h"

namespace pycnn {

LinearWeights::LinearWeights(const float* w, int64_t out_features, int64_t in_features, const KernelTable& kernels)
    : kernels_(&kernels),
      panels_(std::make_unique<StridedMatrix>(w, out_features, in_features, 1)),
      out_features_(out_features),
      in_features_(in_features) {}

LinearWeights LinearWeights::packed(const float* w, int64_t out_features, int64_t in_features,
                                    const KernelTable& kernels) {
  LinearWeights out(w, out_features, in_features, kernels);
  out.panels_ = std::make_unique<PackedPanels>(*out.panels_, out_features, in_features, kernels.gemm.nr);
  return out;
}

void linear(int64_t rows, const float* x, const LinearWeights& w, const float* bias, bool relu, float* y) {
  const StridedMatrix input(x, rows, w.in_features(), 1);
  GemmProblem pr{&input, &w.panels(), y, w.out_features()};
  pr.bias_col = bias;
  pr.relu = relu;
  gemm_batched(gemm_kernel_for_rows(w.kernels(), rows), {rows, w.out_features(), w.in_features()}, {pr});
}

void gemm(const KernelTable& kernels, int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c) {
  const StridedMatrix lhs(a, m, k, 1), rhs(b, n, 1, n);
  const GemmKernel& kernel = m < kernels.gemm.mr ? kernels.gemm_few_rows : gemm_kernel_for_columns(kernels, n);
  gemm_batched(kernel, {m, n, k}, {GemmProblem{&lhs, &rhs, c, n}});
}

}  // namespace pycnn
