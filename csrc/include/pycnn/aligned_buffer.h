#pragma once
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace pycnn {

// A float buffer aligned to a cache line, for packed panels. Grows on demand, never shrinks.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t count) { reserve(count); }

  float* reserve(size_t count) {
    if (count > capacity_) {
      constexpr size_t kAlign = 64;
      const size_t bytes = (count * sizeof(float) + kAlign - 1) / kAlign * kAlign;
      void* p = std::aligned_alloc(kAlign, bytes);
      if (p == nullptr) throw std::bad_alloc();
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
