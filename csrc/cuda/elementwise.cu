// Element-wise and per-channel operators, and the copies that concatenate along channels.
#include "common.cuh"
#include "pycnn/cuda/ops.h"

namespace pycnn::cuda {
namespace {

__global__ void relu_kernel(int64_t count, const float* x, float* y) {
  PYCNN_GRID_STRIDE_LOOP(i, count) { y[i] = x[i] < 0.0f ? 0.0f : x[i]; }  // NaN stays NaN
}

__global__ void add_kernel(int64_t count, const float* a, const float* b, float* y) {
  PYCNN_GRID_STRIDE_LOOP(i, count) { y[i] = a[i] + b[i]; }
}

__global__ void channel_affine_kernel(int64_t count, int64_t channels, int64_t inner, const float* x,
                                      const float* scale, const float* shift, float* y) {
  PYCNN_GRID_STRIDE_LOOP(i, count) {
    const int64_t c = i / inner % channels;
    y[i] = x[i] * scale[c] + shift[c];
  }
}

__global__ void copy_rows_kernel(int64_t count, int64_t row_length, const float* src, int64_t dst_stride,
                                 float* dst) {
  PYCNN_GRID_STRIDE_LOOP(i, count) { dst[i / row_length * dst_stride + i % row_length] = src[i]; }
}

}  // namespace

void relu(int64_t count, const float* x, float* y) {
  if (count > 0) launch(relu_kernel, elementwise_grid(count), dim3(kElementwiseThreads), "relu", count, x, y);
}

void add(int64_t count, const float* a, const float* b, float* y) {
  if (count > 0) launch(add_kernel, elementwise_grid(count), dim3(kElementwiseThreads), "add", count, a, b, y);
}

void channel_affine(int64_t batch, int64_t channels, int64_t inner, const float* x, const float* scale,
                    const float* shift, float* y) {
  const int64_t count = batch * channels * inner;
  if (count > 0) {
    launch(channel_affine_kernel, elementwise_grid(count), dim3(kElementwiseThreads), "channel_affine", count,
           channels, inner, x, scale, shift, y);
  }
}

void copy_rows(int64_t rows, int64_t row_length, const float* src, int64_t dst_stride, float* dst) {
  const int64_t count = rows * row_length;
  if (count > 0) {
    launch(copy_rows_kernel, elementwise_grid(count), dim3(kElementwiseThreads), "concatenation", count, row_length,
           src, dst_stride, dst);
  }
}

}  // namespace pycnn::cuda
