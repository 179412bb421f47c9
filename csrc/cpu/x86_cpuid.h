#pragma once
// The CPUID instruction, for the files that read what the CPU is (cpuinfo.cpp, cpu_caches.cpp).
#include <cstdint>

#if defined(PYCNN_X86)
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif

namespace pycnn {

struct CpuidRegs {
  uint32_t eax, ebx, ecx, edx;
};

// All zeros where the leaf is beyond the CPU's highest.
inline CpuidRegs cpuid(uint32_t leaf, uint32_t subleaf) {
  CpuidRegs r{};
#if defined(_MSC_VER)
  int regs[4];
  __cpuidex(regs, static_cast<int>(leaf), static_cast<int>(subleaf));
  r = {static_cast<uint32_t>(regs[0]), static_cast<uint32_t>(regs[1]), static_cast<uint32_t>(regs[2]),
       static_cast<uint32_t>(regs[3])};
#else
  if (!__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx)) return CpuidRegs{};
#endif
  return r;
}

}  // namespace pycnn
#endif
