// Fully connected layers and plain matrix products: rows of the input are A, the weights (transposed) B,
// so a batch of one still fills whole NR-wide vectors with output features.
#include <memory>
#include <utility>
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
                                    const KernelTable& kernels, Precision precision) {
  LinearWeights out(w, out_features, in_features, kernels);
  out.precision_ = precision;
  const auto weights = gemm_operand(std::move(out.panels_), in_features, kernels, precision, GemmOperand::b);
  out.panels_ = std::make_unique<PackedPanels>(*weights, out_features, gemm_depth(in_features, kernels, precision),
                                               gemm_kernel(kernels, precision).nr);
  return out;
}

void linear(int64_t rows, const float* x, const LinearWeights& w, const float* bias, bool relu, float* y) {
  const Precision precision = w.precision();
  const auto input = gemm_operand(std::make_unique<StridedMatrix>(x, rows, w.in_features(), 1), w.in_features(),
                                  w.kernels(), precision, GemmOperand::a);
  GemmProblem pr{input.get(), &w.panels(), y, w.out_features()};
  pr.bias_col = bias;
  pr.relu = relu;
  gemm_batched(gemm_kernel_for_rows(w.kernels(), precision, rows),
               {rows, w.out_features(), gemm_depth(w.in_features(), w.kernels(), precision)}, {pr});
}

void gemm(const KernelTable& kernels, int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c,
          Precision precision) {
  const auto lhs = gemm_operand(std::make_unique<StridedMatrix>(a, m, k, 1), k, kernels, precision, GemmOperand::a);
  const auto rhs = gemm_operand(std::make_unique<StridedMatrix>(b, n, 1, n), k, kernels, precision, GemmOperand::b);
  const GemmKernel& kernel = precision == Precision::bf16 ? gemm_kernel_for_rows(kernels, precision, m)
                             : m < kernels.gemm.mr        ? kernels.gemm_few_rows
                                                          : gemm_kernel_for_columns(kernels, n);
  gemm_batched(kernel, {m, n, gemm_depth(k, kernels, precision)}, {GemmProblem{lhs.get(), rhs.get(), c, n}});
}

}  // namespace pycnn
