// Local response normalisation (one thread per element) and softmax (one block per softmax row).
#include "common.cuh"
#include "pycnn/cuda/ops.h"

namespace pycnn::cuda {
namespace {

constexpr int kSoftmaxThreads = 256;

__global__ void local_response_norm_kernel(int64_t count, int channels, int64_t inner, int size, float scale,
                                           float k, float beta, const float* x, float* y) {
  PYCNN_GRID_STRIDE_LOOP(i, count) {
    const int c = int(i / inner % channels);
    const float* column = x + (i / (inner * channels) * channels) * inner + i % inner;
    // As PyTorch: the channel axis padded by size/2 before and (size-1)/2 after.
    const int c0 = max_int(0, c - size / 2), c1 = min_int(channels, c + (size - 1) / 2 + 1);
    float sum = 0.0f;
    for (int cc = c0; cc < c1; ++cc) {
      const float v = column[cc * inner];
      sum += v * v;
    }
    y[i] = x[i] / powf(k + scale * sum, beta);
  }
}

struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct Sum {
  __device__ float operator()(float a, float b) const { return a + b; }
};

// Every thread of the block gets op over the block's values.
template <class Op>
__device__ float block_reduce(float value, float* partial, Op op) {
  partial[threadIdx.x] = value;
  __syncthreads();
  for (int half = kSoftmaxThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] = op(partial[threadIdx.x], partial[threadIdx.x + half]);
    __syncthreads();
  }
  const float result = partial[0];
  __syncthreads();
  return result;
}

// The maximum is subtracted before exp, as on the CPU; NaN inputs give NaN rows.
__global__ void __launch_bounds__(kSoftmaxThreads)
    softmax_kernel(int64_t rows, int64_t dim, int64_t inner, const float* x, float* y) {
  __shared__ float partial[kSoftmaxThreads];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t offset = row / inner * dim * inner + row % inner;
    const float* in = x + offset;
    float* out = y + offset;
    float top = -INFINITY;
    for (int64_t d = threadIdx.x; d < dim; d += kSoftmaxThreads) top = fmaxf(top, in[d * inner]);
    top = block_reduce(top, partial, Max());
    float total = 0.0f;
    for (int64_t d = threadIdx.x; d < dim; d += kSoftmaxThreads) {
      const float e = expf(in[d * inner] - top);
      out[d * inner] = e;
      total += e;
    }
    total = block_reduce(total, partial, Sum());
    for (int64_t d = threadIdx.x; d < dim; d += kSoftmaxThreads) out[d * inner] /= total;
  }
}

}  // namespace

void local_response_norm(int64_t batch, int64_t channels, int64_t inner, int64_t size, double alpha, double beta,
                         double k, const float* x, float* y) {
  const int64_t count = batch * channels * inner;
  if (count == 0) return;
  launch(local_response_norm_kernel, elementwise_grid(count), dim3(kElementwiseThreads), "local_response_norm",
         count, int(channels), inner, int(size), float(alpha / double(size)), float(k), float(beta), x, y);
}

void softmax(int64_t outer, int64_t dim, int64_t inner, const float* x, float* y) {
  const int64_t rows = outer * inner;
  if (rows == 0 || dim == 0) return;
  launch(softmax_kernel, dim3(unsigned(rows < 65536 ? rows : 65536)), dim3(kSoftmaxThreads), "softmax", rows, dim,
         inner, x, y);
}

}  // namespace pycnn::cuda
