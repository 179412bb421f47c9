// Pooling, one plane (image, channel) per task; max pooling runs its two passes on the kernel of dispatch.h.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "pycnn/dispatch.h"
#include "pycnn/int_math.h"
#include "pycnn/ops.h"
#include "pycnn/threadpool.h"
#include "pycnn/window_sum.h"

namespace pycnn {
namespace {

// The taps of a window along one axis that fall inside the input: [first, last) in tap units,
// for a window whose first tap sits at `origin` and whose taps are `dilation` apart.
struct TapRange {
  int64_t first, last;
  bool operator==(const TapRange& o) const { return first == o.first && last == o.last; }
};

TapRange taps_inside(int64_t origin, int64_t kernel, int64_t dilation, int64_t in) {
  int64_t first = origin >= 0 ? 0 : (-origin + dilation - 1) / dilation;
  int64_t last = origin < in ? std::min(kernel, (in - 1 - origin) / dilation + 1) : 0;
  return {std::min(first, kernel), std::max(first, last)};
}

template <class PlaneFn>
void for_each_plane(int64_t planes, PlaneFn fn) {
  parallel_for(planes, [&](int64_t i) { fn(i); });
}

}  // namespace

// Separable, in two passes of the max-pooling kernel in use: each output row first takes the elementwise max of
// its window's input rows, into a row with −∞ on both sides for the padding, then each output the max of its
// window's taps along that row. Output rows whose windows cover the same input rows (the rows inside and each
// edge row) go to the kernel together, so that small planes cost few calls. −∞ for padding is PyTorch's rule:
// it never wins, and every window holds an input (padding ≤ kernel / 2).
void max_pool2d(const Pool2dParams& p, const float* x, float* y) {
  if (p.out_h == 0 || p.out_w == 0) return;
  const Window2d& w = p.window;
  const MaxPassFn pass = kernels().max_pool_pass;
  const int64_t last_tap = (p.out_w - 1) * w.stride_w + (w.kernel_w - 1) * w.dilation_w + 1;
  const int64_t padded_w = std::max(w.pad_left + p.in_w, last_tap);
  const float minus_inf = -std::numeric_limits<float>::infinity();
  // Output rows whose windows cover the same input rows, worked out once per call: [begin, end) and its taps.
  struct RowGroup {
    int64_t begin, end;
    TapRange taps;
  };
  std::vector<RowGroup> groups;
  for (int64_t oh = 0; oh < p.out_h; ++oh) {
    const TapRange th = taps_inside(oh * w.stride_h - w.pad_top, w.kernel_h, w.dilation_h, p.in_h);
    if (groups.empty() || !(groups.back().taps == th)) groups.push_back({oh, oh, th});
    groups.back().end = oh + 1;
  }
  // Planes go to the threads in runs, each run's passes one kernel call per row group, so that small planes
  // (GoogLeNet's 14×14 and 7×7) spend their time in maxima rather than in calls.
  constexpr int64_t kRunFloats = 16384;  // input floats a run should reach
  const int64_t planes = p.batch * p.channels, in_plane = p.in_h * p.in_w, row_plane = p.out_h * padded_w;
  const int64_t run = std::max<int64_t>(
      1, std::min(kRunFloats / std::max<int64_t>(1, in_plane), planes / (4 * get_num_threads())));
  parallel_for(ceil_div(planes, run), [&](int64_t task) {
    const int64_t first_plane = task * run, count = std::min(run, planes - first_plane);
    // The first pass writes only the input's columns of each row: the −∞ around them, filled when the geometry
    // changes, serves every run after instead of being refilled per plane.
    thread_local std::vector<float> buffer;
    thread_local std::array<int64_t, 5> filled_for{};
    const std::array<int64_t, 5> geometry{run, p.out_h, padded_w, w.pad_left, p.in_w};
    if (filled_for != geometry) {
      buffer.assign(static_cast<size_t>(run * row_plane), minus_inf);
      filled_for = geometry;
    }
    float* row_max = buffer.data();
    const float* in = x + first_plane * in_plane;
    for (const RowGroup& g : groups) {
      float* rows_out = row_max + g.begin * padded_w + w.pad_left;
      if (g.taps.first == g.taps.last) {  // rows whose windows lie in the padding
        for (int64_t q = 0; q < count; ++q) {
          for (int64_t r = 0; r < g.end - g.begin; ++r) {
            std::fill_n(rows_out + q * row_plane + r * padded_w, p.in_w, minus_inf);
          }
        }
        continue;
      }
      const int64_t first_row = g.begin * w.stride_h - w.pad_top + g.taps.first * w.dilation_h;
      pass({in + first_row * p.in_w, w.stride_h * p.in_w, 1, w.dilation_h * p.in_w,
            static_cast<int>(g.taps.last - g.taps.first), p.in_w, g.end - g.begin, rows_out, padded_w, count, in_plane,
            row_plane});
    }
    pass({row_max, padded_w, w.stride_w, w.dilation_w, static_cast<int>(w.kernel_w), p.out_w, count * p.out_h,
          y + first_plane * p.out_h * p.out_w, p.out_w});
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
        out[oh * out_w + ow] = window_sum(in, in_w, hs, he, ws, we) / static_cast<float>((he - hs) * (we - ws));
      }
    }
  });
}

}  // namespace pycnn
