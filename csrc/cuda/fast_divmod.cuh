#pragma once
// Division by a divisor fixed at launch, as a multiply-high, an add and a shift: the implicit-GEMM loaders split
// every GEMM index into (channel, kernel row, kernel column) or (image, output row, output column), and a
// hardware-less 32-bit division would cost them ~20 instructions per element.
#include <cstdint>

namespace pycnn::cuda {

__host__ __device__ inline uint32_t mul_high(uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
  return __umulhi(a, b);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

// For numerators 0 <= n < 2^31 and divisors 1 <= d < 2^31: with l = ceil(log2 d) and
// m = floor(2^32 (2^l - d) / d) + 1 (which fits 32 bits), n / d = (mulhi(n, m) + n) >> l.
class FastDivmod {
 public:
  FastDivmod() = default;
  explicit FastDivmod(int divisor) : divisor_(divisor) {
    while ((int64_t{1} << shift_) < divisor) ++shift_;
    const uint64_t two_32 = uint64_t{1} << 32;
    multiplier_ = static_cast<uint32_t>(two_32 * ((uint64_t{1} << shift_) - static_cast<uint64_t>(divisor)) /
                                            static_cast<uint64_t>(divisor) + 1);
  }

  __host__ __device__ int divisor() const { return divisor_; }

  __host__ __device__ int div(int n) const {
    const uint32_t u = static_cast<uint32_t>(n);
    return static_cast<int>((mul_high(u, multiplier_) + u) >> shift_);
  }

  // quotient = n / d, returns n % d.
  __host__ __device__ int divmod(int n, int& quotient) const {
    quotient = div(n);
    return n - quotient * divisor_;
  }

 private:
  int divisor_ = 1;
  uint32_t multiplier_ = 1;
  uint32_t shift_ = 0;
};

}  // namespace pycnn::cuda
