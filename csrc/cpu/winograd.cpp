// The Winograd F(4×4, 3×3) driver: filter transform at load, then per call the three passes of winograd.h.
#include "pycnn/winograd.h"

#include <algorithm>
#include <cstring>

#include "pycnn/dispatch.h"
#include "pycnn/gemm.h"
#include "pycnn/int_math.h"
#include "pycnn/ops.h"
#include "pycnn/threadpool.h"

namespace pycnn {
namespace {

constexpr int kT = kWinogradTile, kP = kWinogradPatch, kPoints = kWinogradPoints;

// G of F(4×4, 3×3): U = G g Gᵀ maps a 3×3 filter to the 6×6 Winograd domain.
constexpr double kG[kP][3] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1},
};

// Where each tile of a chunk lies: its image and the input coordinates of its patch's corner.
struct TileOrigin {
  int64_t image, ih, iw;  // ih, iw: top-left of the 6×6 patch, padding subtracted (may be negative)
  int64_t oh, ow;         // top-left of its 4×4 output block
};

struct Geometry {
  const Conv2dParams& p;
  int64_t tiles_h, tiles_w;

  TileOrigin origin(int64_t tile) const {
    const int64_t per_image = tiles_h * tiles_w, rest = tile % per_image;
    const int64_t oh = rest / tiles_w * kT, ow = rest % tiles_w * kT;
    return {tile / per_image, oh - p.window.pad_top, ow - p.window.pad_left, oh, ow};
  }
};

// Where the input patches and output blocks of the `valid` tiles from `first` lie, as offsets from channel 0 of
// image 0 (of the input and of the output); the lanes past `valid` hold no tile.
struct PanelLanes {
  WinogradLanes in, out;
};

PanelLanes panel_lanes(const Geometry& geo, int64_t first, int valid) {
  const Conv2dParams& p = geo.p;
  PanelLanes lanes{};
  lanes.in.row = p.in_w;
  lanes.out.row = p.out_w;
  for (int l = 0; l < valid; ++l) {
    const TileOrigin o = geo.origin(first + l);
    const uint32_t bit = 1u << l;
    lanes.in.offset[l] = (o.image * p.in_channels * p.in_h + o.ih) * p.in_w + o.iw;
    for (int r = 0; r < kP; ++r) {
      if (o.ih + r >= 0 && o.ih + r < p.in_h) lanes.in.rows[r] |= bit;
      if (o.iw + r >= 0 && o.iw + r < p.in_w) lanes.in.cols[r] |= bit;
    }
    lanes.out.offset[l] = (o.image * p.out_channels * p.out_h + o.oh) * p.out_w + o.ow;
    for (int i = 0; i < kT; ++i) {
      if (o.oh + i < p.out_h) lanes.out.rows[i] |= bit;
      if (o.ow + i < p.out_w) lanes.out.cols[i] |= bit;
    }
  }
  return lanes;
}

// Tiles per chunk: V and M of a chunk hold 36·(C + K) floats per tile; keep them near 8 MiB (the L2 of
// both cores and then some), but never below four panels, which the GEMM needs to run at full speed.
int64_t chunk_tiles(int64_t channels_in, int64_t channels_out, int64_t tiles, int nr) {
  constexpr int64_t kBudgetFloats = int64_t{2} << 20;
  const int64_t per_tile = kPoints * (channels_in + channels_out);
  const int64_t fit = std::max<int64_t>(4, kBudgetFloats / per_tile / nr) * nr;
  return std::min(fit, ceil_div(tiles, nr) * nr);
}

// Scratch for one call's V and M, kept per calling thread: reallocating megabytes every call costs page faults.
struct Scratch {
  AlignedBuffer v, m;
};
thread_local Scratch t_scratch;

}  // namespace

bool winograd_supports(const Conv2dParams& p) {
  const Window2d& w = p.window;
  return w.kernel_h == 3 && w.kernel_w == 3 && w.stride_h == 1 && w.stride_w == 1 && w.dilation_h == 1 &&
         w.dilation_w == 1 && p.groups == 1;
}

WinogradWeights::WinogradWeights(const float* w, int64_t out_channels, int64_t in_channels,
                                 const KernelTable& kernels)
    : out_channels_(out_channels), in_channels_(in_channels) {
  const int64_t pairs = out_channels * in_channels;
  AlignedBuffer u(static_cast<size_t>(std::max<int64_t>(1, kPoints * pairs)));  // u[ξ][k][c]
  parallel_for(pairs, [&](int64_t kc) {
    const float* g = w + kc * 9;
    double gg[kP][3];  // G g
    for (int i = 0; i < kP; ++i) {
      for (int j = 0; j < 3; ++j) gg[i][j] = kG[i][0] * g[j] + kG[i][1] * g[3 + j] + kG[i][2] * g[6 + j];
    }
    for (int i = 0; i < kP; ++i) {
      for (int j = 0; j < kP; ++j) {
        const double v = gg[i][0] * kG[j][0] + gg[i][1] * kG[j][1] + gg[i][2] * kG[j][2];
        u.data()[(i * kP + j) * pairs + kc] = static_cast<float>(v);
      }
    }
  });
  for (int xi = 0; xi < kPoints; ++xi) {
    const StridedMatrix view(u.data() + xi * pairs, out_channels, in_channels, 1);
    points_.push_back(std::make_unique<PackedPanels>(view, out_channels, in_channels, kernels.gemm.mr));
  }
}

void winograd_conv2d(const Conv2dParams& p, const float* x, const WinogradWeights& w, const KernelTable& kernels,
                     const Conv2dEpilogue& ep, float* y) {
  const Geometry geo{p, ceil_div(p.out_h, kT), ceil_div(p.out_w, kT)};
  const int64_t tiles = p.batch * geo.tiles_h * geo.tiles_w;
  if (tiles == 0 || p.out_channels == 0) return;
  const int64_t C = p.in_channels, K = p.out_channels, H = p.in_h, W = p.in_w;
  const int64_t OH = p.out_h, OW = p.out_w;
  // The tiles are the products' columns: a small image's few fill the narrow kernel's panels better.
  const GemmKernel& gemm = gemm_kernel_for_columns(kernels, tiles);
  const int nr = gemm.nr;
  const int64_t chunk = chunk_tiles(C, K, tiles, nr);
  const int64_t v_stride = C * chunk, m_stride = K * chunk;  // floats from one ξ to the next
  float* v = t_scratch.v.reserve(static_cast<size_t>(std::max<int64_t>(1, kPoints * v_stride)));
  float* m = t_scratch.m.reserve(static_cast<size_t>(kPoints * m_stride));
  const WinogradTransforms& wk = kernels.winograd_transforms;

  std::vector<std::unique_ptr<PackedPanelsView>> v_panels;
  std::vector<GemmProblem> problems;
  for (int xi = 0; xi < kPoints; ++xi) {
    v_panels.push_back(std::make_unique<PackedPanelsView>(v + xi * v_stride, C, nr));
    problems.push_back({&w.point(xi), v_panels.back().get(), m + xi * m_stride, chunk});
  }

  constexpr int64_t kChannelBlock = 16;
  std::vector<PanelLanes> lanes;
  for (int64_t t0 = 0; t0 < tiles; t0 += chunk) {
    const int64_t count = std::min(chunk, tiles - t0), panels = ceil_div(count, nr);
    lanes.clear();
    for (int64_t panel = 0; panel < panels; ++panel) {
      const int64_t first = t0 + panel * nr;
      lanes.push_back(panel_lanes(geo, first, static_cast<int>(std::min<int64_t>(nr, t0 + count - first))));
    }

    // 1. Input transform: one task per (panel of nr tiles, block of channels).
    const int64_t channel_blocks = ceil_div(C, kChannelBlock);
    parallel_for(panels * channel_blocks, [&](int64_t task) {
      const int64_t panel = task / channel_blocks, c0 = task % channel_blocks * kChannelBlock;
      for (int64_t c = c0; c < std::min(C, c0 + kChannelBlock); ++c) {
        wk.input_transform(x + c * H * W, lanes[panel].in, nr, v + panel * C * nr + c * nr, v_stride);
      }
    });

    // 2. The 36 products M[ξ] = U[ξ]·V[ξ]: K × count, depth C.
    gemm_batched(gemm, {K, count, C}, problems);

    // 3. Output transform: one task per (output channel, panel of tiles).
    parallel_for(K * panels, [&](int64_t task) {
      const int64_t k = task / panels, panel = task % panels;
      const float bias = ep.bias ? ep.bias[k] : 0.0f;
      const float* residual = ep.residual ? ep.residual + k * OH * OW : nullptr;
      wk.output_transform(m + k * chunk + panel * nr, m_stride, nr, bias, residual, ep.relu, y + k * OH * OW,
                lanes[panel].out);
    });
  }
}

}  // namespace pycnn
