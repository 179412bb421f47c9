// Pooling, one plane (image, channel) per task.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "pycnn/ops.h"
#include "pycnn/threadpool.h"

namespace pycnn {
namespace {

// The taps of a window along one axis that fall inside the input: [first, last) in tap units,
// for a window whose first tap sits at `origin` and whose taps are `dilation` apart.
struct TapRange {
  int64_t first, last;
};

TapRange taps_inside(int64_t origin, int64_t kernel, int64_t dilation, int64_t in) {
  int64_t first = origin >= 0 ? 0 : (-origin + dilation - 1) / dilation;
  int64_t last = origin < in ? std::min(kernel, (in - 1 - origin) / dilation + 1) : 0;
  return {std::min(first, kernel), std::max(first, last)};
}

// max(a, b), or NaN if either is NaN (as PyTorch's max pooling). Branch-free, so loops of it vectorise.
inline float max_or_nan(float a, float b) { return (a > b || a != a) ? a : b; }

// out[ow] for ow in [first, last) = max over kw of row[ow·stride + kw·dilation − pad], every tap inside the row:
// one pass per tap over all columns, so the loop vectorises (and has no data-dependent branch to mispredict).
// STRIDE > 0 fixes the stride at compile time (strided loads vectorise); 0 takes it at run time.
template <int STRIDE>
void max_along_row(const float* row, const Window2d& w, int64_t first, int64_t last, float* out) {
  const int64_t s = STRIDE > 0 ? STRIDE : w.stride_w;
  std::fill(out + first, out + last, -std::numeric_limits<float>::infinity());
  for (int64_t kw = 0; kw < w.kernel_w; ++kw) {
    const int64_t shift = kw * w.dilation_w - w.pad_left;
    for (int64_t ow = first; ow < last; ++ow) out[ow] = max_or_nan(row[ow * s + shift], out[ow]);
  }
}

template <class PlaneFn>
void for_each_plane(int64_t planes, PlaneFn fn) {
  parallel_for(planes, [&](int64_t i) { fn(i); });
}

}  // namespace

// Separable, so that both passes run as vector loops: each output row first takes the elementwise max of its
// window's input rows over the whole width, then each output the max of its window's taps along that row.
// Which taps lie inside the input depends only on the output column: worked out once per call.
void max_pool2d(const Pool2dParams& p, const float* x, float* y) {
  const Window2d& w = p.window;
  std::vector<TapRange> cols(static_cast<size_t>(p.out_w));
  int64_t full_first = p.out_w, full_last = p.out_w;  // [full_first, full_last): columns whose taps all fit
  for (int64_t ow = 0; ow < p.out_w; ++ow) {
    cols[ow] = taps_inside(ow * w.stride_w - w.pad_left, w.kernel_w, w.dilation_w, p.in_w);
    const bool full = cols[ow].first == 0 && cols[ow].last == w.kernel_w;
    if (full && full_first == p.out_w) full_first = ow;
    if (full) full_last = ow + 1;
  }
  const auto row_pass = w.stride_w == 1 ? max_along_row<1> : w.stride_w == 2 ? max_along_row<2> : max_along_row<0>;
  for_each_plane(p.batch * p.channels, [&](int64_t plane) {
    thread_local std::vector<float> row_max;
    row_max.resize(static_cast<size_t>(p.in_w));
    float* rm = row_max.data();
    const float* in = x + plane * p.in_h * p.in_w;
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      const int64_t h0 = oh * w.stride_h - w.pad_top;
      const TapRange th = taps_inside(h0, w.kernel_h, w.dilation_h, p.in_h);
      std::fill(rm, rm + p.in_w, -std::numeric_limits<float>::infinity());
      for (int64_t kh = th.first; kh < th.last; ++kh) {
        const float* row = in + (h0 + kh * w.dilation_h) * p.in_w;
        for (int64_t iw = 0; iw < p.in_w; ++iw) rm[iw] = max_or_nan(row[iw], rm[iw]);
      }
      float* out = y + (plane * p.out_h + oh) * p.out_w;
      auto edge_column = [&](int64_t ow) {
        const int64_t origin = ow * w.stride_w - w.pad_left;
        float best = -std::numeric_limits<float>::infinity();
        for (int64_t kw = cols[ow].first; kw < cols[ow].last; ++kw) {
          best = max_or_nan(rm[origin + kw * w.dilation_w], best);
        }
        out[ow] = best;
      };
      for (int64_t ow = 0; ow < full_first; ++ow) edge_column(ow);
      row_pass(rm, w, full_first, full_last, out);
      for (int64_t ow = full_last; ow < p.out_w; ++ow) edge_column(ow);
    }
  });
}

void avg_pool2d(const Pool2dParams& p, bool count_include_pad, int64_t divisor_override, const float* x,
                float* y) {
  const Window2d& w = p.window;
  for_each_plane(p.batch * p.channels, [&](int64_t plane) {
    const float* in = x + plane * p.in_h * p.in_w;
    float* out = y + plane * p.out_h * p.out_w;
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      // As PyTorch: the window counts padding up to the padded edge, never past it (ceil_mode).
      const int64_t h0 = oh * w.stride_h - w.pad_top;
      const int64_t h1 = std::min(h0 + w.kernel_h, p.in_h + w.pad_bottom);
      const int64_t hs = std::max<int64_t>(h0, 0), he = std::min(h1, p.in_h);
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        const int64_t w0 = ow * w.stride_w - w.pad_left;
        const int64_t w1 = std::min(w0 + w.kernel_w, p.in_w + w.pad_right);
        const int64_t ws = std::max<int64_t>(w0, 0), we = std::min(w1, p.in_w);
        float sum = 0.0f;
        for (int64_t ih = hs; ih < he; ++ih) {
          for (int64_t iw = ws; iw < we; ++iw) sum += in[ih * p.in_w + iw];
        }
        const int64_t divisor = divisor_override != 0 ? divisor_override
                                : count_include_pad    ? (h1 - h0) * (w1 - w0)
                                                       : (he - hs) * (we - ws);
        out[oh * p.out_w + ow] = sum / static_cast<float>(divisor);
      }
    }
  });
}

void adaptive_avg_pool2d(int64_t planes, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
                         const float* x, float* y) {
  for_each_plane(planes, [&](int64_t plane) {
    const float* in = x + plane * in_h * in_w;
    float* out = y + plane * out_h * out_w;
    for (int64_t oh = 0; oh < out_h; ++oh) {
      const int64_t hs = oh * in_h / out_h, he = ((oh + 1) * in_h + out_h - 1) / out_h;
      for (int64_t ow = 0; ow < out_w; ++ow) {
        const int64_t ws = ow * in_w / out_w, we = ((ow + 1) * in_w + out_w - 1) / out_w;
        float sum = 0.0f;
        for (int64_t ih = hs; ih < he; ++ih) {
          for (int64_t iw = ws; iw < we; ++iw) sum += in[ih * in_w + iw];
        }
        out[oh * out_w + ow] = sum / static_cast<float>((he - hs) * (we - ws));
      }
    }
  });
}

}  // namespace pycnn
