// Convolution as one GEMM per (image, group): weights are A (out channels × C·KH·KW), the input is B,
// packed by im2col block by block — or read directly when the convolution is 1×1 with stride 1. On small images
// the GEMM is transposed instead: the positions are its rows, the input its A operand.
// 3×3 stride-1 layers with enough channels and tiles go to Winograd instead (winograd.h). In bf16 both GEMMs take
// the input and the filters as bf16 pairs (bf16.h): Winograd's and direct convolution's float32 kernels are not used.
// The measurements behind each choice below: docs/kernel-rules.md.
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pycnn/direct_conv.h"
#include "pycnn/gemm.h"
#include "pycnn/im2col.h"
#include "pycnn/int_math.h"
#include "pycnn/ops.h"
#include "pycnn/winograd.h"

namespace pycnn {
namespace {

int64_t group_depth(const Conv2dParams& p) {
  return p.in_channels / p.groups * p.window.kernel_h * p.window.kernel_w;
}

bool is_pointwise(const Conv2dParams& p) {
  const Window2d& w = p.window;
  return w.kernel_h == 1 && w.kernel_w == 1 && w.stride_h == 1 && w.stride_w == 1 && w.pad_top == 0 &&
         w.pad_bottom == 0 && w.pad_left == 0 && w.pad_right == 0;
}

}  // namespace

ConvWeights::ConvWeights(const float* w, const Conv2dParams& p, const KernelTable& kernels) : kernels_(&kernels) {
  const int64_t rows = p.out_channels / p.groups, depth = group_depth(p);
  for (int64_t g = 0; g < p.groups; ++g) {
    groups_.push_back(std::make_unique<StridedMatrix>(w + g * rows * depth, rows, depth, 1));
  }
}

ConvWeights ConvWeights::packed(const float* w, const Conv2dParams& p, const KernelTable& kernels,
                                ConvAlgorithm algorithm, Precision precision) {
  ConvWeights out;
  out.kernels_ = &kernels;
  out.algorithm_ = algorithm;
  out.precision_ = precision;
  if (precision == Precision::bf16 && algorithm != ConvAlgorithm::gemm &&
      algorithm != ConvAlgorithm::gemm_transposed) {
    throw std::invalid_argument(std::string("bf16 convolutions run as 'gemm' or 'gemm_transposed', not '") +
                                conv_algorithm_name(algorithm) + "'");
  }
  if (algorithm == ConvAlgorithm::winograd) {
    if (!winograd_supports(p)) throw std::invalid_argument("Winograd F(4x4,3x3) needs a 3x3 convolution with "
                                                           "stride 1, dilation 1 and one group");
    out.winograd_ = std::make_unique<WinogradWeights>(w, p.out_channels, p.in_channels, kernels);
    return out;
  }
  // GEMM reads the filters as A, MR rows wide; the transposed GEMM as B and direct convolution as its vector operand,
  // NR channels wide.
  const GemmKernel& gemm = gemm_kernel(kernels, precision);
  const int width = algorithm == ConvAlgorithm::direct            ? kernels.direct_conv.nr
                    : algorithm == ConvAlgorithm::gemm_transposed ? gemm.nr
                                                                  : gemm.mr;
  const int64_t rows = p.out_channels / p.groups, depth = group_depth(p);
  const GemmOperand role = algorithm == ConvAlgorithm::gemm ? GemmOperand::a : GemmOperand::b;
  for (int64_t g = 0; g < p.groups; ++g) {
    const auto filters = gemm_operand(std::make_unique<StridedMatrix>(w + g * rows * depth, rows, depth, 1), depth,
                                      kernels, precision, role);
    out.groups_.push_back(
        std::make_unique<PackedPanels>(*filters, rows, gemm_depth(depth, kernels, precision), width));
  }
  return out;
}

const char* conv_algorithm_name(ConvAlgorithm a) {
  switch (a) {
    case ConvAlgorithm::winograd:
      return "winograd";
    case ConvAlgorithm::direct:
      return "direct";
    case ConvAlgorithm::gemm_transposed:
      return "gemm_transposed";
    default:
      return "gemm";
  }
}

namespace {

// Winograd when its modelled cost is at most 0.9 of direct convolution's. The model counts in direct multiplies:
// each of Winograd's 36 products per tile (tiles padded to whole NR panels) costs 1.25, and its transforms 50 per
// tile and channel, in or out — they weigh most with few channels, the padding on small images.
bool winograd_pays(const Conv2dParams& p, const KernelTable& kernels) {
  if (!winograd_supports(p)) return false;
  constexpr double kProductCost = 1.25, kTransformCost = 50.0, kMaxRatio = 0.9;
  const int64_t tiles = p.batch * ceil_div(p.out_h, kWinogradTile) * ceil_div(p.out_w, kWinogradTile);
  const double c = static_cast<double>(p.in_channels), k = static_cast<double>(p.out_channels);
  const double padded_tiles = gemm_columns_cost(kernels, gemm_kernel_for_columns(kernels, tiles), tiles);
  const double direct = 9.0 * static_cast<double>(p.batch * p.out_h * p.out_w) * c * k;
  const double winograd =
      kWinogradPoints * (kProductCost * padded_tiles * c * k + kTransformCost * static_cast<double>(tiles) * (c + k));
  return winograd <= kMaxRatio * direct;
}

// Direct convolution for windows larger than 1×1 (a 1×1 convolution is a GEMM on the input as it lies) that are
// at least 27 taps deep (a 3×3 window over RGB), where the tile's FMAs outweigh its transposing store; strided
// windows over many channels included. Its padded copy of the input is capped (256 MB); past it, GEMM's workspace
// stays bounded whatever the input.
bool direct_pays(const Conv2dParams& p) {
  constexpr int64_t kMinDepth = 27;
  constexpr int64_t kMaxPaddedFloats = int64_t{1} << 26;
  const Window2d& w = p.window;
  if (w.kernel_h * w.kernel_w == 1 || group_depth(p) < kMinDepth) return false;
  const int64_t padded = p.batch * p.in_channels * (p.in_h + w.pad_top + w.pad_bottom) *
                         (p.in_w + w.pad_left + w.pad_right);
  return padded <= kMaxPaddedFloats;
}

// The transposed GEMM when its tiles fit the layer better: positions in MR-row tiles and channels in NR-wide panels,
// instead of channels in MR-row tiles and positions in NR-wide panels. With 14×32 tiles a 7×7 image fills 49 of 64
// columns but 49 of 56 rows, a 14×14 one 196 of 224 columns and all its rows; 128 channels fill 128 of 140 rows.
// Its store transposes the register tile, which costs up to 16 k-steps per K block: shallow products feel it most.
// Chosen at 0.975 of GEMM's modelled cost or less.
bool transposed_gemm_pays(const Conv2dParams& p, const KernelTable& kernels, Precision precision) {
  constexpr double kStoreSteps = 16.0, kMaxRatio = 0.975;
  const GemmKernel& g = gemm_kernel(kernels, precision);
  const int64_t channels = p.out_channels / p.groups, positions = p.out_h * p.out_w;
  const int64_t depth = gemm_depth(group_depth(p), kernels, precision);
  const double gemm = static_cast<double>(round_up(channels, g.mr) * round_up(positions, g.nr) * depth);
  const double transposed = static_cast<double>(round_up(positions, g.mr) * round_up(channels, g.nr)) *
                            (static_cast<double>(depth) + kStoreSteps * static_cast<double>(ceil_div(depth, g.kc)));
  return transposed <= kMaxRatio * gemm;
}

}  // namespace

ConvAlgorithm choose_conv_algorithm(const Conv2dParams& p, const KernelTable& kernels, Precision precision) {
  if (precision == Precision::fp32 && winograd_pays(p, kernels)) return ConvAlgorithm::winograd;
  if (precision == Precision::fp32 && direct_pays(p)) return ConvAlgorithm::direct;
  return transposed_gemm_pays(p, kernels, precision) ? ConvAlgorithm::gemm_transposed : ConvAlgorithm::gemm;
}

void conv2d(const Conv2dParams& p, const float* x, const ConvWeights& w, const Conv2dEpilogue& ep, float* y) {
  if (w.algorithm() == ConvAlgorithm::winograd) {
    if (!winograd_supports(p)) throw std::invalid_argument("weights prepared for Winograd F(4x4,3x3) need stride 1 "
                                                           "and dilation 1");
    winograd_conv2d(p, x, w.winograd(), w.kernels(), ep, y);
    return;
  }
  if (w.algorithm() == ConvAlgorithm::direct) {
    direct_conv2d(p, x, w, ep, y);
    return;
  }
  const int64_t cin = p.in_channels / p.groups, cout = p.out_channels / p.groups;
  const int64_t in_plane = p.in_h * p.in_w, out_plane = p.out_h * p.out_w;
  const bool pointwise = is_pointwise(p);
  const Precision precision = w.precision();
  // Y = W·X, or Yᵀ = Xᵀ·Wᵀ: the input's panels then run along the rows, the filters' along the columns, and C is
  // stored transposed, which is Y again.
  const bool transposed = w.algorithm() == ConvAlgorithm::gemm_transposed;
  const int64_t depth = gemm_depth(group_depth(p), w.kernels(), precision);
  const GemmShape shape = transposed ? GemmShape{out_plane, cout, depth} : GemmShape{cout, out_plane, depth};

  std::vector<std::unique_ptr<PanelSource>> inputs;
  std::vector<GemmProblem> problems;
  for (int64_t n = 0; n < p.batch; ++n) {
    for (int64_t g = 0; g < p.groups; ++g) {
      const float* image = x + (n * p.in_channels + g * cin) * in_plane;
      std::unique_ptr<PanelSource> input;
      if (pointwise) {
        input = std::make_unique<StridedMatrix>(image, out_plane, 1, in_plane);
      } else {
        input = std::make_unique<Im2colPanels>(image, cin, p);
      }
      inputs.push_back(gemm_operand(std::move(input), group_depth(p), w.kernels(), precision,
                                    transposed ? GemmOperand::a : GemmOperand::b));
      const int64_t offset = (n * p.out_channels + g * cout) * out_plane;
      const float* bias = ep.bias ? ep.bias + g * cout : nullptr;
      GemmProblem pr{&w.group(g), inputs.back().get(), y + offset, out_plane};
      if (transposed) {
        std::swap(pr.a, pr.b);
        pr.transpose_c = true;
        pr.bias_col = bias;
      } else {
        pr.bias_row = bias;
      }
      pr.residual = ep.residual ? ep.residual + offset : nullptr;
      pr.ldr = out_plane;
      pr.relu = ep.relu;
      problems.push_back(pr);
    }
  }
  // The filters packed as A fix the kernel; as B, any kernel of their NR reads them (few rows: a 1×1 or 2×2 image).
  gemm_batched(transposed ? gemm_kernel_for_rows(w.kernels(), precision, out_plane) : gemm_kernel(w.kernels(), precision),
               shape, problems);
}

}  // namespace pycnn
