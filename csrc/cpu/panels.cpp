#include "pycnn/panels.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "pycnn/threadpool.h"

namespace pycnn {
namespace {

// Rows of R floats, a size the compiler knows: inline vector moves instead of a library call per 128 bytes. Each
// row's continuation, which the next panel copies, is fetched meanwhile: rows a channel plane apart are streams that
// no hardware prefetcher follows (a 1×1 convolution's input).
template <int R>
void copy_rows(const float* src, int64_t src_stride, int64_t rows, float* dst) {
  for (int64_t k = 0; k < rows; ++k) {
#if defined(__GNUC__)
    __builtin_prefetch(src + k * src_stride + 2 * R - 1);
#endif
    for (int x = 0; x < R; ++x) dst[k * R + x] = src[k * src_stride + x];
  }
}

// The panel rows of a full panel whose rows are contiguous in the source; false for a width without a copy here.
bool copy_full_panel(const float* src, int64_t src_stride, int64_t kc, int r, float* dst) {
  switch (r) {
    case 32:
      copy_rows<32>(src, src_stride, kc, dst);
      return true;
    case 16:
      copy_rows<16>(src, src_stride, kc, dst);
      return true;
    case 8:
      copy_rows<8>(src, src_stride, kc, dst);
      return true;
    case 14:  // the MRs: a convolution's input packed as A (the transposed GEMM)
      copy_rows<14>(src, src_stride, kc, dst);
      return true;
    case 6:
      copy_rows<6>(src, src_stride, kc, dst);
      return true;
    case 4:
      copy_rows<4>(src, src_stride, kc, dst);
      return true;
    default:
      return false;
  }
}

}  // namespace

Panels StridedMatrix::panels(int64_t k0, int64_t kc, int64_t x0, int64_t xc, int r, float* scratch) const {
  const int64_t count = (xc + r - 1) / r;
  for (int64_t p = 0; p < count; ++p) {
    float* dst = scratch + p * r * kc;
    const int64_t first = x0 + p * r;
    const int valid = static_cast<int>(std::clamp<int64_t>(rows_x_ - first, 0, r));
    const float* src = data_ + first * x_stride_ + k0 * k_stride_;
    if (x_stride_ == 1 && valid == r && copy_full_panel(src, k_stride_, kc, r, dst)) continue;
    if (x_stride_ == 1) {  // a panel row is contiguous in the source
      for (int64_t k = 0; k < kc; ++k) {
        std::memcpy(dst + k * r, src + k * k_stride_, sizeof(float) * valid);
        std::fill(dst + k * r + valid, dst + (k + 1) * r, 0.0f);
      }
    } else {  // a transpose, a block of panel rows at a time so that the rows written stay in cache
      constexpr int64_t kBlock = 64;
      for (int64_t k0b = 0; k0b < kc; k0b += kBlock) {
        const int64_t k1b = std::min(kc, k0b + kBlock);
        for (int x = 0; x < valid; ++x) {
          const float* s = src + x * x_stride_;
          for (int64_t k = k0b; k < k1b; ++k) dst[k * r + x] = s[k * k_stride_];
        }
        for (int x = valid; x < r; ++x) {
          for (int64_t k = k0b; k < k1b; ++k) dst[k * r + x] = 0.0f;
        }
      }
    }
  }
  return {scratch, r * kc};
}

Panels Bf16PairPanels::panels(int64_t k0, int64_t kc, int64_t x0, int64_t xc, int r, float* scratch) const {
  // One float32 panel, then (for AMX chunks) its pairs k-major: in L1 or L2 while they are rounded and reordered.
  thread_local AlignedBuffer t_floats, t_pairs;
  const int64_t f0 = 2 * k0, fc = std::clamp<int64_t>(depth_k_ - f0, 0, 2 * kc);
  const int64_t pairs = (fc + 1) / 2;  // from the source; zeros after them
  float* floats = t_floats.reserve(static_cast<size_t>(std::max<int64_t>(1, r * fc)));
  uint32_t* k_major = chunk_ ? reinterpret_cast<uint32_t*>(t_pairs.reserve(static_cast<size_t>(r * kc))) : nullptr;
  for (int64_t p = 0; p * r < xc; ++p) {
    const int64_t first = x0 + p * r;
    uint32_t* dst = reinterpret_cast<uint32_t*>(scratch + p * r * kc);
    uint32_t* pair_rows = chunk_ ? k_major : dst;
    const int valid = static_cast<int>(std::min<int64_t>(r, x0 + xc - first));
    if (fc > 0 && source_->readable_in_place()) {  // rounded where it lies: no float32 copy first
      pack_(source_->in_place(f0, first), source_->row_stride(), fc, valid, r, pair_rows);
    } else if (fc > 0) {
      const Panels src = source_->panels(f0, fc, first, valid, r, floats);
      pack_(src.data, r, fc, r, r, pair_rows);
    }
    std::fill(pair_rows + pairs * r, pair_rows + kc * r, 0u);
    if (!chunk_) continue;
    for (int64_t c = 0; c < kc; c += chunk_) {  // (x, k) at c·r + x·chunk + (k - c)
      for (int x = 0; x < r; ++x) {
        for (int t = 0; t < chunk_; ++t) dst[c * r + x * chunk_ + t] = k_major[(c + t) * r + x];
      }
    }
  }
  return {scratch, r * kc};
}

Panels PackedPanelsView::panels(int64_t k0, int64_t /*kc*/, int64_t x0, int64_t /*xc*/, int r,
                                float* /*scratch*/) const {
  if (r != r_) throw std::logic_error("packed panels used with another micro-kernel's tile width");
  return {data_ + x0 * depth_k_ + k0 * r_, r_ * depth_k_};
}

namespace {

// Once per model, but hundreds of megabytes for VGG's classifier: the panels are packed in parallel.
float* pack_all(AlignedBuffer& buffer, const PanelSource& source, int64_t rows_x, int64_t depth_k, int r) {
  const int64_t count = (rows_x + r - 1) / r;
  float* data = buffer.reserve(static_cast<size_t>(std::max<int64_t>(1, count * r * depth_k)));
  parallel_for(count, [&](int64_t p) {
    source.panels(0, depth_k, p * r, std::min<int64_t>(r, rows_x - p * r), r, data + p * r * depth_k);
  });
  return data;
}

}  // namespace

PackedPanels::PackedPanels(const PanelSource& source, int64_t rows_x, int64_t depth_k, int r)
    : view_(pack_all(packed_, source, rows_x, depth_k, r), depth_k, r) {}

}  // namespace pycnn
