#pragma once
// The CPU operators. Pointers are to C-contiguous float32 NCHW data whose shapes the caller has checked.
#include <cstdint>
#include <memory>
#include <vector>

#include "pycnn/bf16.h"
#include "pycnn/conv_params.h"
#include "pycnn/dispatch.h"
#include "pycnn/panels.h"
#include "pycnn/winograd.h"

namespace pycnn {

// How a convolution is computed: im2col + GEMM (any convolution), the same GEMM transposed — output positions as its
// rows, channels as its columns —, Winograd F(4×4, 3×3) (winograd.h), or direct (direct_conv.h).
enum class ConvAlgorithm : int { gemm = 0, winograd = 1, direct = 2, gemm_transposed = 3 };

const char* conv_algorithm_name(ConvAlgorithm a);
// The faster algorithm for this layer shape (conv2d.cpp explains the rule); in bf16, one of the GEMMs.
ConvAlgorithm choose_conv_algorithm(const Conv2dParams& p, const KernelTable& kernels,
                                    Precision precision = Precision::fp32);

// Convolution weights prepared for one algorithm: for GEMM, one A operand per group (views of the caller's
// array, or packed once); for the transposed GEMM and direct convolution, each group's filters packed NR output
// channels wide; for Winograd, the transformed filters. In bf16, the GEMMs' filters are packed as bf16 pairs and the
// input is rounded to bf16 as it is packed.
class ConvWeights {
 public:
  // Views `w` (out_channels × in_channels/groups × KH × KW) for one GEMM call.
  ConvWeights(const float* w, const Conv2dParams& p, const KernelTable& kernels);
  // Prepares `w` once for repeated calls; winograd requires winograd_supports(p), bf16 one of the GEMMs.
  static ConvWeights packed(const float* w, const Conv2dParams& p, const KernelTable& kernels,
                            ConvAlgorithm algorithm = ConvAlgorithm::gemm, Precision precision = Precision::fp32);

  const KernelTable& kernels() const { return *kernels_; }
  ConvAlgorithm algorithm() const { return algorithm_; }
  Precision precision() const { return precision_; }
  const PanelSource& group(int64_t g) const { return *groups_[g]; }
  const WinogradWeights& winograd() const { return *winograd_; }

 private:
  ConvWeights() = default;
  const KernelTable* kernels_ = nullptr;
  ConvAlgorithm algorithm_ = ConvAlgorithm::gemm;
  Precision precision_ = Precision::fp32;
  std::vector<std::unique_ptr<PanelSource>> groups_;
  std::unique_ptr<WinogradWeights> winograd_;
};

struct Conv2dEpilogue {
  const float* bias = nullptr;      // out_channels values
  const float* residual = nullptr;  // same shape as the output, added before ReLU
  bool relu = false;
};

// Runs the algorithm `w` was prepared for; throws std::invalid_argument if Winograd weights meet a convolution
// Winograd cannot compute.
void conv2d(const Conv2dParams& p, const float* x, const ConvWeights& w, const Conv2dEpilogue& ep, float* y);

// Linear-layer weights (out_features × in_features) as the GEMM B operand: a view, or packed once (in bf16, as
// bf16 pairs).
class LinearWeights {
 public:
  LinearWeights(const float* w, int64_t out_features, int64_t in_features, const KernelTable& kernels);
  static LinearWeights packed(const float* w, int64_t out_features, int64_t in_features,
                              const KernelTable& kernels, Precision precision = Precision::fp32);

  const KernelTable& kernels() const { return *kernels_; }
  Precision precision() const { return precision_; }
  const PanelSource& panels() const { return *panels_; }
  int64_t out_features() const { return out_features_; }
  int64_t in_features() const { return in_features_; }

 private:
  const KernelTable* kernels_;
  Precision precision_ = Precision::fp32;
  std::unique_ptr<PanelSource> panels_;
  int64_t out_features_, in_features_;
};

// y[rows×out] = x[rows×in] · wᵀ + bias, then ReLU if asked.
void linear(int64_t rows, const float* x, const LinearWeights& w, const float* bias, bool relu, float* y);

void max_pool2d(const Pool2dParams& p, const float* x, float* y);
// divisor_override = 0: divide by the window size (count_include_pad) or the valid count.
void avg_pool2d(const Pool2dParams& p, bool count_include_pad, int64_t divisor_override, const float* x,
                float* y);
void adaptive_avg_pool2d(int64_t planes, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
                         const float* x, float* y);

void relu(int64_t count, const float* x, float* y);
// Whether |x[i]| ≤ limit for every i (a positive, finite limit): false for any NaN or Inf.
bool all_within(int64_t count, const float* x, float limit);
// y[n][c][i] = x[n][c][i] * scale[c] + shift[c]  (inference BatchNorm, folded)
void channel_affine(int64_t batch, int64_t channels, int64_t inner, const float* x, const float* scale,
                    const float* shift, float* y);
// AlexNet's cross-channel LRN, PyTorch's definition: y = x / (k + alpha/size · Σ x²)^beta over a window of
// `size` channels starting size/2 before c.
void local_response_norm(int64_t batch, int64_t channels, int64_t inner, int64_t size, double alpha,
                         double beta, double k, const float* x, float* y);
// Softmax along the middle axis of an outer × dim × inner array.
void softmax(int64_t outer, int64_t dim, int64_t inner, const float* x, float* y);

// Plain C = A·B (A: m×k, B: k×n, row-major) through the blocked driver, for tests of the micro-kernels; in bf16,
// A and B are rounded to bf16 as they are packed.
void gemm(const KernelTable& kernels, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
          float* c, Precision precision = Precision::fp32);

// GFLOP/s of independent FMAs on get_num_threads() threads with the kernels in use: the best of ten rounds
// of about `milliseconds` / 10 each.
double measure_fma_peak_gflops(int milliseconds);

}  // namespace pycnn
