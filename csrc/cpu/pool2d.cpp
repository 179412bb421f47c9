// Pooling, one plane (image, channel) per task.
#include <algorithm>
#include <cmath>
#include <limits>

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

// The largest tap of a window, or NaN if any tap is NaN (as PyTorch); -inf if no tap lies in the input.
float window_max(const float* origin, int64_t row_stride, TapRange th, TapRange tw, int64_t dh, int64_t dw) {
  float best = -std::numeric_limits<float>::infinity();
  for (int64_t kh = th.first; kh < th.last; ++kh) {
    const float* row = origin + kh * dh * row_stride;
    for (int64_t kw = tw.first; kw < tw.last; ++kw) {
      const float v = row[kw * dw];
      if (std::isnan(v)) return v;
      if (v > best) best = v;
    }
  }
  return best;
}

template <class PlaneFn>
void for_each_plane(int64_t planes, PlaneFn fn) {
  parallel_for(planes, [&](int64_t i) { fn(i); });
}

}  // namespace

void max_pool2d(const Pool2dParams& p, const float* x, float* y) {
  const Window2d& w = p.window;
  for_each_plane(p.batch * p.channels, [&](int64_t plane) {
    const float* in = x + plane * p.in_h * p.in_w;
    float* out = y + plane * p.out_h * p.out_w;
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      const int64_t h0 = oh * w.stride_h - w.pad_top;
      const TapRange th = taps_inside(h0, w.kernel_h, w.dilation_h, p.in_h);
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        const int64_t w0 = ow * w.stride_w - w.pad_left;
        const TapRange tw = taps_inside(w0, w.kernel_w, w.dilation_w, p.in_w);
        out[oh * p.out_w + ow] = window_max(in + h0 * p.in_w + w0, p.in_w, th, tw, w.dilation_h, w.dilation_w);
      }
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
