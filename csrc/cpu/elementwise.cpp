// Element-wise and per-channel operators, split into cache-sized chunks over the thread pool.
#include <algorithm>

#include "pycnn/ops.h"
#include "pycnn/threadpool.h"

namespace pycnn {
namespace {

constexpr int64_t kChunk = 1 << 14;

}  // namespace

void relu(int64_t count, const float* x, float* y) {
  parallel_for((count + kChunk - 1) / kChunk, [&](int64_t chunk) {
    const int64_t end = std::min(count, (chunk + 1) * kChunk);
    for (int64_t i = chunk * kChunk; i < end; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];  // NaN stays NaN
  });
}

void channel_affine(int64_t batch, int64_t channels, int64_t inner, const float* x, const float* scale,
                    const float* shift, float* y) {
  parallel_for(batch * channels, [&](int64_t plane) {
    const int64_t c = plane % channels;
    const float s = scale[c], t = shift[c];
    const float* in = x + plane * inner;
    float* out = y + plane * inner;
    for (int64_t i = 0; i < inner; ++i) out[i] = in[i] * s + t;
  });
}

}  // namespace pycnn
