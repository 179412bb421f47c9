#include "pycnn/im2col.h"

#include <algorithm>
#include <cstring>

#include "pycnn/ukernel.h"

namespace pycnn {
namespace {

// Columns of one panel that lie in the same output row: along them the input is read at a fixed
// stride, so each im2col row of the run is one clipped copy.
struct Run {
  int start, len;
  int64_t ih0, iw0;  // input coordinates of the run's first window origin (padding subtracted)
};

void fill_zero(float* p, int64_t n) { std::fill(p, p + n, 0.0f); }

// Writes the `len` values x[ih][iw + j*stride] (0 outside the image) for j < len.
void copy_clipped_row(const float* plane, int64_t H, int64_t W, int64_t ih, int64_t iw, int64_t stride,
                      int len, float* out) {
  if (ih < 0 || ih >= H) {
    fill_zero(out, len);
    return;
  }
  const int64_t lo = std::min<int64_t>(len, iw >= 0 ? 0 : (-iw + stride - 1) / stride);
  const int64_t hi = std::max(lo, iw < W ? std::min<int64_t>(len, (W - 1 - iw) / stride + 1) : 0);
  const float* src = plane + ih * W + iw;
  fill_zero(out, lo);
  if (stride == 1) {
    std::memcpy(out + lo, src + lo, sizeof(float) * (hi - lo));
  } else if (stride == 2) {  // a constant stride lets the compiler vectorise the gather (first layers: 2 and 4)
    for (int64_t j = lo; j < hi; ++j) out[j] = src[j * 2];
  } else if (stride == 4) {
    for (int64_t j = lo; j < hi; ++j) out[j] = src[j * 4];
  } else {
    for (int64_t j = lo; j < hi; ++j) out[j] = src[j * stride];
  }
  fill_zero(out + hi, len - hi);
}

}  // namespace

Panels Im2colPanels::panels(int64_t k0, int64_t kc, int64_t x0, int64_t xc, int r, float* scratch) const {
  const Window2d& w = p_.window;
  const int64_t H = p_.in_h, W = p_.in_w, OW = p_.out_w;
  const int64_t positions = p_.out_h * p_.out_w;
  const int64_t taps = w.kernel_h * w.kernel_w;
  const int64_t count = (xc + r - 1) / r;

  for (int64_t p = 0; p < count; ++p) {
    float* dst = scratch + p * r * kc;
    const int64_t first = x0 + p * r;
    const int valid = static_cast<int>(std::clamp<int64_t>(positions - first, 0, r));

    Run runs[kMaxNR];
    int nruns = 0;
    for (int j = 0; j < valid;) {
      const int64_t q = first + j, oh = q / OW, ow = q % OW;
      const int len = static_cast<int>(std::min<int64_t>(valid - j, OW - ow));
      runs[nruns++] = {j, len, oh * w.stride_h - w.pad_top, ow * w.stride_w - w.pad_left};
      j += len;
    }

    int64_t c = k0 / taps, kh = (k0 % taps) / w.kernel_w, kw = k0 % w.kernel_w;
    for (int64_t kk = 0; kk < kc; ++kk) {
      float* row = dst + kk * r;
      const float* plane = image_ + c * H * W;
      for (int i = 0; i < nruns; ++i) {
        const Run& run = runs[i];
        copy_clipped_row(plane, H, W, run.ih0 + kh * w.dilation_h, run.iw0 + kw * w.dilation_w, w.stride_w,
                         run.len, row + run.start);
      }
      fill_zero(row + valid, r - valid);
      if (++kw == w.kernel_w) {
        kw = 0;
        if (++kh == w.kernel_h) {
          kh = 0;
          ++c;
        }
      }
    }
  }
  return {scratch, r * kc};
}

}  // namespace pycnn
