#pragma once
// Subnormal floats read and written as zero while pycnn's kernels run: an FMA that meets a subnormal operand
// or result takes a microcode assist on x86 (a hundred cycles or more), so a layer whose activations decay
// into the subnormal range would otherwise run many times slower. The mode is per thread: pycnn's workers
// keep it for good, and the thread that calls into pycnn has its own mode restored when the call returns.
#include <cstdint>

#if defined(PYCNN_X86)
#include <xmmintrin.h>
#endif

namespace pycnn {

class SubnormalsAsZero {
 public:
  SubnormalsAsZero() : saved_(read()) { write(saved_ | kFlushBits); }
  ~SubnormalsAsZero() { write(saved_); }
  SubnormalsAsZero(const SubnormalsAsZero&) = delete;
  SubnormalsAsZero& operator=(const SubnormalsAsZero&) = delete;

 private:
#if defined(PYCNN_X86)
  static constexpr uint64_t kFlushBits = 0x8040;  // MXCSR: flush-to-zero (bit 15), denormals-are-zero (bit 6)
  static uint64_t read() { return _mm_getcsr(); }
  static void write(uint64_t mode) { _mm_setcsr(static_cast<unsigned>(mode)); }
#elif defined(__aarch64__)
  static constexpr uint64_t kFlushBits = uint64_t{1} << 24;  // FPCR.FZ: inputs and results
  static uint64_t read() {
    uint64_t mode;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(mode));
    return mode;
  }
  static void write(uint64_t mode) { __asm__ __volatile__("msr fpcr, %0" : : "r"(mode)); }
#else
  static constexpr uint64_t kFlushBits = 0;
  static uint64_t read() { return 0; }
  static void write(uint64_t) {}
#endif
  uint64_t saved_;
};

}  // namespace pycnn
