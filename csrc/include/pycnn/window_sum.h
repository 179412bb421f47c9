#pragma once
// The order in which adaptive average pooling adds up a window, one function for the CPU and the CUDA kernels so
// that both round alike: a run of the input in eight interleaved partial sums (so that the additions need not
// wait for each other), whole rows as one run, partial rows one run each.
#include <cstdint>

#if defined(__CUDACC__)
#define PYCNN_HOST_DEVICE __host__ __device__
#else
#define PYCNN_HOST_DEVICE
#endif

namespace pycnn {

PYCNN_HOST_DEVICE inline float sum_of_run(const float* x, int64_t n) {
  constexpr int kLanes = 8;
  float partial[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) partial[l] += x[i + l];
  }
  float sum = 0.0f;
  for (; i < n; ++i) sum += x[i];
  for (int l = 0; l < kLanes; ++l) sum += partial[l];
  return sum;
}

// Σ plane[ih·in_w + iw] for ih in [hs, he), iw in [ws, we).
PYCNN_HOST_DEVICE inline float window_sum(const float* plane, int64_t in_w, int64_t hs, int64_t he, int64_t ws,
                                          int64_t we) {
  if (ws == 0 && we == in_w) return sum_of_run(plane + hs * in_w, (he - hs) * in_w);
  float sum = 0.0f;
  for (int64_t ih = hs; ih < he; ++ih) sum += sum_of_run(plane + ih * in_w + ws, we - ws);
  return sum;
}

}  // namespace pycnn
