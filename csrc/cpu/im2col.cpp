#include "pycnn/im2col.h"

#include <algorithm>
#include <vector>

#include "pycnn/ukernel.h"

namespace pycnn {
namespace {

// Columns of one panel that lie in the same output row: along them the input is read at a fixed
// stride, so each im2col row of the run is one clipped copy.
struct Run {
  int start, len;
  int64_t ih0, iw0;  // input coordinates of the run's first window origin (padding subtracted)
};

// Where one run reads for one kernel tap: columns [lo, hi) of the run come from the input at `offset` + j·stride
// within a channel plane; the others are padding. The same for every channel, so worked out once per panel.
struct Clip {
  int64_t offset;
  int lo, hi;
};

// Copies with a stride the compiler knows, so that the common ones (1, and the first layers' 2 and 4)
// vectorise; the loops are short (one output row), so no library call.
template <int kStride>
void copy_run(const float* src, int64_t stride, const Clip& clip, int len, float* out) {
  const int64_t step = kStride > 0 ? kStride : stride;
  for (int j = 0; j < clip.lo; ++j) out[j] = 0.0f;
  for (int j = clip.lo; j < clip.hi; ++j) out[j] = src[clip.offset + j * step];
  for (int j = clip.hi; j < len; ++j) out[j] = 0.0f;
}

template <int kStride>
void fill_rows(const float* image, int64_t plane_size, int64_t stride, int64_t c, int64_t tap, int64_t taps,
               int64_t rows, const Run* runs, int nruns, const Clip* clips, int valid, int r, float* dst) {
  for (int64_t kk = 0; kk < rows; ++kk) {
    float* row = dst + kk * r;
    const float* plane = image + c * plane_size;
    const Clip* clip = clips + tap * nruns;
    for (int i = 0; i < nruns; ++i) copy_run<kStride>(plane, stride, clip[i], runs[i].len, row + runs[i].start);
    for (int j = valid; j < r; ++j) row[j] = 0.0f;
    if (++tap == taps) {
      tap = 0;
      ++c;
    }
  }
}

thread_local std::vector<Clip> t_clips;

}  // namespace

Panels Im2colPanels::panels(int64_t k0, int64_t kc, int64_t x0, int64_t xc, int r, float* scratch) const {
  const Window2d& w = p_.window;
  const int64_t H = p_.in_h, W = p_.in_w, OW = p_.out_w;
  const int64_t positions = p_.out_h * p_.out_w;
  const int64_t taps = w.kernel_h * w.kernel_w;
  const int64_t count = (xc + r - 1) / r;
  const int64_t stride = w.stride_w;

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

    t_clips.resize(static_cast<size_t>(taps * nruns));
    for (int64_t tap = 0; tap < taps; ++tap) {
      const int64_t kh = tap / w.kernel_w, kw = tap % w.kernel_w;
      for (int i = 0; i < nruns; ++i) {
        const Run& run = runs[i];
        const int64_t ih = run.ih0 + kh * w.dilation_h, iw = run.iw0 + kw * w.dilation_w;
        Clip& clip = t_clips[static_cast<size_t>(tap * nruns + i)];
        clip.offset = ih * W + iw;
        if (ih < 0 || ih >= H) {
          clip.lo = clip.hi = run.len;  // the whole run is padding
          continue;
        }
        clip.lo = static_cast<int>(std::min<int64_t>(run.len, iw >= 0 ? 0 : (-iw + stride - 1) / stride));
        clip.hi = static_cast<int>(
            std::max<int64_t>(clip.lo, iw < W ? std::min<int64_t>(run.len, (W - 1 - iw) / stride + 1) : 0));
      }
    }

    const int64_t c = k0 / taps, tap = k0 % taps;
    const auto fill = stride == 1 ? fill_rows<1> : stride == 2 ? fill_rows<2> : stride == 4 ? fill_rows<4>
                                                                                               : fill_rows<0>;
    fill(image_, H * W, stride, c, tap, taps, kc, runs, nruns, t_clips.data(), valid, r, dst);
  }
  return {scratch, r * kc};
}

}  // namespace pycnn
