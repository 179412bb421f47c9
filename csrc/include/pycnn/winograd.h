#pragma once
// Winograd F(4×4, 3×3) convolution (Lavin & Gray, 2016): each 4×4 block of output comes from a 6×6 patch of
// input with 36 multiplies per (input channel, output channel) instead of the 144 of direct convolution.
//
// A call works through the output tiles a chunk at a time, in three passes that each use every thread:
//   1. input transform   V[ξ] = Bᵀ d B of every (tile, channel), written straight into packed GEMM B panels
//   2. 36 GEMMs          M[ξ] = U[ξ] · V[ξ]   (U: the filters transformed once, out × in channels)
//   3. output transform  y = Aᵀ M A + bias (+ residual), ReLU
// Chunks keep V and M to a few megabytes whatever the layer size.
#include <cstdint>
#include <memory>
#include <vector>

#include "pycnn/conv_params.h"
#include "pycnn/panels.h"
#include "pycnn/ukernel.h"

namespace pycnn {

struct KernelTable;
struct Conv2dEpilogue;

constexpr int kWinogradTile = 4;                          // output block
constexpr int kWinogradPatch = kWinogradTile + 3 - 1;      // input patch: 6
constexpr int kWinogradPoints = kWinogradPatch * kWinogradPatch;  // 36

// Where the tiles of the lanes lie: element (r, c) of lane l's input patch (or output block) is at
// base[offset[l] + r * row + c], and exists when bit l is set in both rows[r] and cols[c]. Lanes without a
// tile have no bits set.
struct WinogradLanes {
  int64_t offset[kMaxNR];
  uint32_t rows[kWinogradPatch], cols[kWinogradPatch];
  int64_t row;
};

// The tile transforms of one ISA, on `lanes` tiles (a multiple of the vector width), gathering their inputs and
// scattering their outputs through a WinogradLanes:
// input:  the 6×6 patches at `x` (zero where absent) → v, 36 rows of lanes floats, row ξ at v + ξ·v_stride
// output: m (36 rows, row ξ at m + ξ·m_stride) → the 4×4 blocks at `y`, + bias, + the residual at the same
//         places (unless null), then ReLU if asked
using WinogradInputFn = void (*)(const float* x, const WinogradLanes& at, int lanes, float* v, int64_t v_stride);
using WinogradOutputFn = void (*)(const float* m, int64_t m_stride, int lanes, float bias, const float* residual,
                                  bool relu, float* y, const WinogradLanes& at);

struct WinogradTransforms {
  WinogradInputFn input_transform;
  WinogradOutputFn output_transform;
};

void f32_winograd_4x4_3x3_input__generic(const float* x, const WinogradLanes& at, int lanes, float* v,
                                         int64_t v_stride);
void f32_winograd_4x4_3x3_output__generic(const float* m, int64_t m_stride, int lanes, float bias,
                                          const float* residual, bool relu, float* y, const WinogradLanes& at);
#if defined(PYCNN_X86)
void f32_winograd_4x4_3x3_input__avx2_fma(const float* x, const WinogradLanes& at, int lanes, float* v,
                                          int64_t v_stride);
void f32_winograd_4x4_3x3_output__avx2_fma(const float* m, int64_t m_stride, int lanes, float bias,
                                           const float* residual, bool relu, float* y, const WinogradLanes& at);
void f32_winograd_4x4_3x3_input__avx512f(const float* x, const WinogradLanes& at, int lanes, float* v,
                                         int64_t v_stride);
void f32_winograd_4x4_3x3_output__avx512f(const float* m, int64_t m_stride, int lanes, float bias,
                                          const float* residual, bool relu, float* y, const WinogradLanes& at);
#endif

// 3×3, stride 1, dilation 1, one group: the convolutions F(4×4, 3×3) computes.
bool winograd_supports(const Conv2dParams& p);

// The filters transformed once: U[ξ] = G g Gᵀ for each (out, in) channel pair, as 36 packed GEMM A operands.
class WinogradWeights {
 public:
  // w: out_channels × in_channels × 3 × 3.
  WinogradWeights(const float* w, int64_t out_channels, int64_t in_channels, const KernelTable& kernels);
  const PanelSource& point(int p) const { return *points_[static_cast<size_t>(p)]; }
  int64_t out_channels() const { return out_channels_; }
  int64_t in_channels() const { return in_channels_; }

 private:
  std::vector<std::unique_ptr<PackedPanels>> points_;
  int64_t out_channels_, in_channels_;
};

void winograd_conv2d(const Conv2dParams& p, const float* x, const WinogradWeights& w, const KernelTable& kernels,
                     const Conv2dEpilogue& ep, float* y);

}  // namespace pycnn
