#pragma once
// The BLIS-style GEMM driver: cache blocking and packing around the register-tile micro-kernels.
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "pycnn/dispatch.h"
#include "pycnn/int_math.h"
#include "pycnn/panels.h"

namespace pycnn {

// C[M×N] = A[M×K]·B[K×N] with the fused epilogue of ukernel.h. A's panels run along M, B's along N.
struct GemmProblem {
  const PanelSource* a;
  const PanelSource* b;
  float* c;  // element (i, j) at c[i * ldc + j], or at c[j * ldc + i] when transpose_c (the residual likewise)
  int64_t ldc;
  bool transpose_c = false;
  const float* bias_row = nullptr;
  const float* bias_col = nullptr;
  const float* residual = nullptr;
  int64_t ldr = 0;
  bool relu = false;
};

struct GemmShape {
  int64_t m, n, k;
};

// Solves independent problems of one shape (a batch, the groups of a convolution) on the thread pool,
// each cut into tiles so that even a single problem keeps every thread busy. Every element of C is
// summed in the same order whatever the thread count, so results do not depend on it.
void gemm_batched(const GemmKernel& kernel, GemmShape shape, const std::vector<GemmProblem>& problems);

// The kernel for products of `rows` rows whose A is packed per call: the few-rows tile when a full tile would
// mostly multiply padding. (Prepacked A operands are packed for kernels.gemm and must use it.)
inline const GemmKernel& gemm_kernel_for_rows(const KernelTable& kernels, int64_t rows) {
  return rows < kernels.gemm.mr ? kernels.gemm_few_rows : kernels.gemm;
}

// What `columns` columns of a product cost with `kernel` (kernels.gemm or kernels.gemm_narrow), in columns of the
// main kernel: its panels' columns, padding included, a narrower kernel's at 1.1 each (one broadcast per FMA
// instead of one per two).
inline double gemm_columns_cost(const KernelTable& kernels, const GemmKernel& kernel, int64_t columns) {
  constexpr double kNarrowCost = 1.1;
  const double rate = kernel.nr < kernels.gemm.nr ? kNarrowCost : 1.0;
  return rate * static_cast<double>(round_up(columns, kernel.nr));
}

// The kernel for products of `columns` columns whose B is packed per call, A packed for kernels.gemm (its MR): the
// narrow tile when the columns fill its panels enough better (1–16 columns and 33–48 on AVX-512).
inline const GemmKernel& gemm_kernel_for_columns(const KernelTable& kernels, int64_t columns) {
  const bool narrow = gemm_columns_cost(kernels, kernels.gemm_narrow, columns) <
                      gemm_columns_cost(kernels, kernels.gemm, columns);
  return narrow ? kernels.gemm_narrow : kernels.gemm;
}

// The elements a GEMM's kernels step along K: floats, or bf16 pairs (padded as the ISA's bf16 kernels need).
inline int64_t gemm_depth(int64_t depth, const KernelTable& kernels, Precision precision) {
  return precision == Precision::bf16 ? round_up(ceil_div(depth, 2), kernels.bf16.k_align) : depth;
}

// The main kernel of a precision: prepacked A operands are packed for it.
inline const GemmKernel& gemm_kernel(const KernelTable& kernels, Precision precision) {
  return precision == Precision::bf16 ? kernels.bf16.gemm : kernels.gemm;
}

// gemm_kernel_for_rows in either precision.
inline const GemmKernel& gemm_kernel_for_rows(const KernelTable& kernels, Precision precision, int64_t rows) {
  if (precision == Precision::fp32) return gemm_kernel_for_rows(kernels, rows);
  return rows < kernels.bf16.gemm.mr ? kernels.bf16.gemm_few_rows : kernels.bf16.gemm;
}

enum class GemmOperand { a, b };

// A float32 source of depth `depth` as operand A or B of a GEMM in `precision`: itself, or rounded to bf16 pairs.
inline std::unique_ptr<PanelSource> gemm_operand(std::unique_ptr<PanelSource> source, int64_t depth,
                                                 const KernelTable& kernels, Precision precision,
                                                 GemmOperand role) {
  if (precision == Precision::fp32) return source;
  const int chunk = role == GemmOperand::a ? kernels.bf16.a_chunk : 0;
  return std::make_unique<Bf16PairPanels>(std::move(source), depth, kernels.bf16.pack_pairs, chunk);
}

}  // namespace pycnn
