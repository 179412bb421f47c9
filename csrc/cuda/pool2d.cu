// Pooling, one thread per output element, with the CPU path's window rules (pool2d.cpp): max pooling skips
// padding and propagates NaN; average pooling counts padding up to the padded edge, never past it.
#include "common.cuh"
#include "pycnn/cuda/ops.h"
#include "pycnn/window_sum.h"

namespace pycnn::cuda {
namespace {

struct PoolShape {
  int64_t planes;
  int in_h, in_w, out_h, out_w;
  int kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, dilation_h, dilation_w;
};

PoolShape pool_shape(const Pool2dParams& p) {
  const Window2d& w = p.window;
  return {p.batch * p.channels,     int(p.in_h),         int(p.in_w),          int(p.out_h),
          int(p.out_w),             int(w.kernel_h),     int(w.kernel_w),      int(w.stride_h),
          int(w.stride_w),          int(w.pad_top),      int(w.pad_bottom),    int(w.pad_left),
          int(w.pad_right),         int(w.dilation_h),   int(w.dilation_w)};
}

__global__ void max_pool2d_kernel(PoolShape s, const float* x, float* y) {
  const int64_t count = s.planes * s.out_h * s.out_w;
  PYCNN_GRID_STRIDE_LOOP(i, count) {
    const int ow = int(i % s.out_w), oh = int(i / s.out_w % s.out_h);
    const float* plane = x + i / (int64_t(s.out_h) * s.out_w) * s.in_h * s.in_w;
    const int h0 = oh * s.stride_h - s.pad_top, w0 = ow * s.stride_w - s.pad_left;
    float best = -INFINITY;
    for (int kh = 0; kh < s.kernel_h; ++kh) {
      const int ih = h0 + kh * s.dilation_h;
      if (unsigned(ih) >= unsigned(s.in_h)) continue;
      for (int kw = 0; kw < s.kernel_w; ++kw) {
        const int iw = w0 + kw * s.dilation_w;
        if (unsigned(iw) >= unsigned(s.in_w)) continue;
        const float v = plane[ih * s.in_w + iw];
        if (v > best || is_nan(v)) best = v;
        if (is_nan(v)) break;
      }
      if (is_nan(best)) break;
    }
    y[i] = best;
  }
}

__global__ void avg_pool2d_kernel(PoolShape s, bool count_include_pad, int divisor_override, const float* x,
                                  float* y) {
  const int64_t count = s.planes * s.out_h * s.out_w;
  PYCNN_GRID_STRIDE_LOOP(i, count) {
    const int ow = int(i % s.out_w), oh = int(i / s.out_w % s.out_h);
    const float* plane = x + i / (int64_t(s.out_h) * s.out_w) * s.in_h * s.in_w;
    const int h0 = oh * s.stride_h - s.pad_top, w0 = ow * s.stride_w - s.pad_left;
    const int h1 = min_int(h0 + s.kernel_h, s.in_h + s.pad_bottom), w1 = min_int(w0 + s.kernel_w, s.in_w + s.pad_right);
    const int hs = max_int(h0, 0), he = min_int(h1, s.in_h), ws = max_int(w0, 0), we = min_int(w1, s.in_w);
    float sum = 0.0f;
    for (int ih = hs; ih < he; ++ih) {
      for (int iw = ws; iw < we; ++iw) sum += plane[ih * s.in_w + iw];
    }
    const int divisor = divisor_override != 0 ? divisor_override
                        : count_include_pad   ? (h1 - h0) * (w1 - w0)
                                              : (he - hs) * (we - ws);
    y[i] = sum / float(divisor);
  }
}

__global__ void adaptive_avg_pool2d_kernel(int64_t planes, int in_h, int in_w, int out_h, int out_w, const float* x,
                                           float* y) {
  const int64_t count = planes * out_h * out_w;
  PYCNN_GRID_STRIDE_LOOP(i, count) {
    const int ow = int(i % out_w), oh = int(i / out_w % out_h);
    const float* plane = x + i / (int64_t(out_h) * out_w) * in_h * in_w;
    const int hs = oh * in_h / out_h, he = ((oh + 1) * in_h + out_h - 1) / out_h;
    const int ws = ow * in_w / out_w, we = ((ow + 1) * in_w + out_w - 1) / out_w;
    y[i] = window_sum(plane, in_w, hs, he, ws, we) / float((he - hs) * (we - ws));
  }
}

}  // namespace

void max_pool2d(const Pool2dParams& p, const float* x, float* y) {
  const PoolShape s = pool_shape(p);
  const int64_t count = s.planes * s.out_h * s.out_w;
  if (count > 0) launch(max_pool2d_kernel, elementwise_grid(count), dim3(kElementwiseThreads), "max_pool2d", s, x, y);
}

void avg_pool2d(const Pool2dParams& p, bool count_include_pad, int64_t divisor_override, const float* x, float* y) {
  const PoolShape s = pool_shape(p);
  const int64_t count = s.planes * s.out_h * s.out_w;
  if (count > 0) {
    launch(avg_pool2d_kernel, elementwise_grid(count), dim3(kElementwiseThreads), "avg_pool2d", s, count_include_pad,
           int(divisor_override), x, y);
  }
}

void adaptive_avg_pool2d(int64_t planes, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w, const float* x,
                         float* y) {
  const int64_t count = planes * out_h * out_w;
  if (count > 0) {
    launch(adaptive_avg_pool2d_kernel, elementwise_grid(count), dim3(kElementwiseThreads), "adaptive_avg_pool2d",
           planes, int(in_h), int(in_w), int(out_h), int(out_w), x, y);
  }
}

}  // namespace pycnn::cuda
