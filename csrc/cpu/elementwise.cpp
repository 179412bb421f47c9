// Element-wise and per-channel operators, split into cache-sized chunks over the thread pool.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

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

bool all_within(int64_t count, const float* x, float limit) {
  // Compares the bits of |x| with the limit's: non-negative floats order as their bits do as integers, and NaN and
  // Inf lie above every finite limit. Integer compares, no early exit: the loop vectorises.
  int32_t bound;
  std::memcpy(&bound, &limit, sizeof bound);
  std::atomic<bool> within{true};
  parallel_for((count + kChunk - 1) / kChunk, [&](int64_t chunk) {
    const int64_t end = std::min(count, (chunk + 1) * kChunk);
    int32_t over = 0;
    for (int64_t i = chunk * kChunk; i < end; ++i) {
      int32_t bits;
      std::memcpy(&bits, x + i, sizeof bits);
      over |= static_cast<int32_t>((bits & 0x7FFFFFFF) > bound);
    }
    if (over != 0) within.store(false, std::memory_order_relaxed);
  });
  return within.load();
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
