// Local response normalisation and softmax.
#include <algorithm>
#include <cmath>
#include <vector>

#include "pycnn/ops.h"
#include "pycnn/threadpool.h"

namespace pycnn {

void local_response_norm(int64_t batch, int64_t channels, int64_t inner, int64_t size, double alpha,
                         double beta, double k, const float* x, float* y) {
  const float scale = static_cast<float>(alpha / static_cast<double>(size));
  const float kf = static_cast<float>(k), bf = static_cast<float>(beta);
  parallel_for(batch * channels, [&](int64_t plane) {
    const int64_t n = plane / channels, c = plane % channels;
    // PyTorch pads the channel axis by size/2 before and (size-1)/2 after.
    const int64_t c0 = std::max<int64_t>(0, c - size / 2), c1 = std::min(channels, c + (size - 1) / 2 + 1);
    std::vector<float> sum(static_cast<size_t>(inner), 0.0f);
    for (int64_t cc = c0; cc < c1; ++cc) {
      const float* in = x + (n * channels + cc) * inner;
      for (int64_t i = 0; i < inner; ++i) sum[i] += in[i] * in[i];
    }
    const float* in = x + plane * inner;
    float* out = y + plane * inner;
    for (int64_t i = 0; i < inner; ++i) out[i] = in[i] / std::pow(kf + scale * sum[i], bf);
  });
}

void softmax(int64_t outer, int64_t dim, int64_t inner, const float* x, float* y) {
  parallel_for(outer, [&](int64_t o) {
    const float* in = x + o * dim * inner;
    float* out = y + o * dim * inner;
    for (int64_t i = 0; i < inner; ++i) {
      float top = -INFINITY;
      for (int64_t d = 0; d < dim; ++d) top = std::max(top, in[d * inner + i]);
      float total = 0.0f;
      for (int64_t d = 0; d < dim; ++d) {
        const float e = std::exp(in[d * inner + i] - top);
        out[d * inner + i] = e;
        total += e;
      }
      for (int64_t d = 0; d < dim; ++d) out[d * inner + i] /= total;
    }
  });
}

}  // namespace pycnn
