// Which SIMD extensions the CPU has *and* the operating system saves across context switches.
#include <cstdint>

#include "pycnn/dispatch.h"

#if defined(PYCNN_X86)
#if defined(_MSC_VER)
#include <immintrin.h>
#endif
#include "x86_cpuid.h"
#endif
#if defined(PYCNN_X86) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace pycnn {

#if defined(PYCNN_X86)
namespace {

// XCR0: which register states the OS saves. Only valid to read when CPUID reports OSXSAVE.
uint64_t xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
#endif
}

bool bit(uint32_t reg, int index) { return (reg >> index) & 1u; }

// Linux lets a process use AMX's 8 KB of tile data only once it has asked (arch_prctl ARCH_REQ_XCOMP_PERM for
// XTILEDATA); the answer covers every thread of the process.
bool amx_permitted() {
#if defined(__linux__) && defined(SYS_arch_prctl)
  constexpr int kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

Isa detect() {
  if (cpuid(0, 0).eax < 7) return Isa::generic;
  const CpuidRegs l1 = cpuid(1, 0);
  const bool osxsave = bit(l1.ecx, 27), avx = bit(l1.ecx, 28), fma = bit(l1.ecx, 12);
  if (!osxsave || !avx) return Isa::generic;
  const uint64_t xcr0 = xgetbv0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;     // SSE and AVX state
  const bool os_zmm = (xcr0 & 0xE0) == 0xE0;   // opmask, upper ZMM0-15, ZMM16-31
  const CpuidRegs l7 = cpuid(7, 0);
  const bool avx2 = bit(l7.ebx, 5), avx512f = bit(l7.ebx, 16), avx512bw = bit(l7.ebx, 30);
  const bool avx512_bf16 = l7.eax >= 1 && bit(cpuid(7, 1).eax, 5);
  const bool amx = bit(l7.edx, 24) && bit(l7.edx, 22);  // AMX-TILE, AMX-BF16
  const bool os_tiles = (xcr0 & 0x60000) == 0x60000;   // XTILECFG, XTILEDATA
  const bool bf16 = os_ymm && os_zmm && avx512f && avx512bw && avx512_bf16 && fma;
  if (bf16 && amx && os_tiles && amx_permitted()) return Isa::amx;
  if (bf16) return Isa::avx512_bf16;
  if (os_ymm && os_zmm && avx512f && fma) return Isa::avx512;
  if (os_ymm && avx2 && fma) return Isa::avx2;
  return Isa::generic;
}

}  // namespace

Isa cpu_isa() {
  static const Isa detected = detect();
  return detected;
}
#else
Isa cpu_isa() { return Isa::generic; }
#endif

}  // namespace pycnn
