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

// The 6×6 patch of one channel plane at `o` into lane `lane` of d (36 rows of `lanes`), zero outside.
void gather_patch(const float* plane, int64_t H, int64_t W, const TileOrigin& o, int lane, int lanes, float* d) {
  const bool inside = o.ih >= 0 && o.iw >= 0 && o.ih + kP <= H && o.iw + kP <= W;
  for (int r = 0; r < kP; ++r) {
    const int64_t ih = o.ih + r;
    float* row = d + r * kP * lanes + lane;
    if (inside) {
      const float* src = plane + ih * W + o.iw;
      for (int c = 0; c < kP; ++c) row[c * lanes] = src[c];
    } else if (ih < 0 || ih >= H) {
      for (int c = 0; c < kP; ++c) row[c * lanes] = 0.0f;
    } else {
      for (int c = 0; c < kP; ++c) {
        const int64_t iw = o.iw + c;
        row[c * lanes] = iw >= 0 && iw < W ? plane[ih * W + iw] : 0.0f;
      }
    }
  }
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
  const int nr = kernels.gemm.nr;
  const int64_t chunk = chunk_tiles(C, K, tiles, nr);
  const int64_t v_stride = C * chunk, m_stride = K * chunk;  // floats from one ξ to the next
  float* v = t_scratch.v.reserve(static_cast<size_t>(std::max<int64_t>(1, kPoints * v_stride)));
  float* m = t_scratch.m.reserve(static_cast<size_t>(kPoints * m_stride));
  const WinogradKernels& wk = kernels.winograd;

  std::vector<std::unique_ptr<PackedPanelsView>> v_panels;
  std::vector<GemmProblem> problems;
  for (int xi = 0; xi < kPoints; ++xi) {
    v_panels.push_back(std::make_unique<PackedPanelsView>(v + xi * v_stride, C, nr));
    problems.push_back({&w.point(xi), v_panels.back().get(), m + xi * m_stride, chunk});
  }

  constexpr int64_t kChannelBlock = 16;
  for (int64_t t0 = 0; t0 < tiles; t0 += chunk) {
    const int64_t count = std::min(chunk, tiles - t0), panels = ceil_div(count, nr);

    // 1. Input transform: one task per (panel of nr tiles, block of channels).
    const int64_t channel_blocks = ceil_div(C, kChannelBlock);
    parallel_for(panels * channel_blocks, [&](int64_t task) {
      const int64_t panel = task / channel_blocks, c0 = task % channel_blocks * kChannelBlock;
      const int64_t first = t0 + panel * nr;
      const int valid = static_cast<int>(std::min<int64_t>(nr, t0 + count - first));
      TileOrigin origins[kMaxNR];
      for (int l = 0; l < valid; ++l) origins[l] = geo.origin(first + l);
      alignas(64) float d[kPoints * kMaxNR];
      if (valid < nr) std::fill(d, d + kPoints * nr, 0.0f);
      for (int64_t c = c0; c < std::min(C, c0 + kChannelBlock); ++c) {
        for (int l = 0; l < valid; ++l) {
          const float* plane = x + (origins[l].image * C + c) * H * W;
          gather_patch(plane, H, W, origins[l], l, nr, d);
        }
        wk.input(d, nr, v + panel * C * nr + c * nr, v_stride);
      }
    });

    // 2. The 36 products M[ξ] = U[ξ]·V[ξ]: K × count, depth C.
    gemm_batched(kernels.gemm, {K, count, C}, problems);

    // 3. Output transform: one task per (output channel, panel of tiles).
    parallel_for(K * panels, [&](int64_t task) {
      const int64_t k = task / panels, panel = task % panels;
      const int64_t first = t0 + panel * nr;
      const int valid = static_cast<int>(std::min<int64_t>(nr, t0 + count - first));
      alignas(64) float out[kT * kT * kMaxNR];
      alignas(64) float residual[kT * kT * kMaxNR];  // the residual in out's layout, for the vector epilogue
      TileOrigin origins[kMaxNR];
      for (int l = 0; l < valid; ++l) origins[l] = geo.origin(first + l);
      auto for_each_output = [&](auto fn) {  // fn(position in out, position in y) of every output that exists
        for (int l = 0; l < valid; ++l) {
          const TileOrigin& o = origins[l];
          const int64_t plane = (o.image * K + k) * OH * OW;
          const int rows = static_cast<int>(std::min<int64_t>(kT, OH - o.oh));
          const int cols = static_cast<int>(std::min<int64_t>(kT, OW - o.ow));
          for (int i = 0; i < rows; ++i) {
            for (int j = 0; j < cols; ++j) fn((i * kT + j) * nr + l, plane + (o.oh + i) * OW + o.ow + j);
          }
        }
      };
      if (ep.residual) {
        if (valid < nr) std::fill(residual, residual + kT * kT * nr, 0.0f);
        for_each_output([&](int64_t t, int64_t at) { residual[t] = ep.residual[at]; });
      }
      const float bias = ep.bias ? ep.bias[k] : 0.0f;
      wk.output(m + k * chunk + panel * nr, m_stride, nr, bias, ep.residual ? residual : nullptr, ep.relu, out);
      for_each_output([&](int64_t t, int64_t at) { y[at] = out[t]; });
    });
  }
}

}  // namespace pycnn
