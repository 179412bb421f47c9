#pragma once
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace pycnn {

// A float buffer aligned to a cache line, for packed panels. Grows on demand, never shrinks. Buffers of
// megabytes (filters, the workspaces of large layers) sit on 2 MB pages where the system allows it: streamed
// through once per call, on 4 KB pages they would cost a TLB miss every 4 KB.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t count) { reserve(count); }

  float* reserve(size_t count) {
    if (count > capacity_) {
      constexpr size_t kHugePage = size_t{2} << 20;
      const size_t kAlign = count * sizeof(float) >= 2 * kHugePage ? kHugePage : 64;
      const size_t bytes = (count * sizeof(float) + kAlign - 1) / kAlign * kAlign;
      void* p = std::aligned_alloc(kAlign, bytes);
      if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      if (kAlign == kHugePage) madvise(p, bytes, MADV_HUGEPAGE);  // advice only: failure leaves 4 KB pages
#endif
      data_.reset(static_cast<float*>(p));
      capacity_ = count;
    }
    return data_.get();
  }
  float* data() const { return data_.get(); }
  size_t size() const { return capacity_; }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  size_t capacity_ = 0;
};

}  // namespace pycnn
