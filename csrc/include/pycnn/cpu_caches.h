#pragma once
// The CPU's model name and cache sizes, read once: CPUID (leaf 4 on Intel, 0x8000001D on AMD), else Linux sysfs,
// else assumed. pycnn.show_config() and the benchmark report them (the blocking does not read them yet).
#include <cstdint>
#include <string>

namespace pycnn {

struct CpuCaches {
  int64_t l1d = 0;  // bytes of level-1 data cache of one core
  int64_t l2 = 0;   // bytes of level-2 cache of one core
  int64_t l3 = 0;   // bytes of the last-level cache; 0 where there is none
  std::string source;  // where the sizes came from: "cpuid", "sysfs" or "assumed"
};

const CpuCaches& cpu_caches();
// The processor's brand string (CPUID 0x80000002..4), trimmed; "" where CPUID has none.
const std::string& cpu_brand();

// Sizes from the CPUID cache leaves alone; source "" where this CPU has no such leaf.
CpuCaches caches_from_cpuid();
// Sizes from a sysfs cache folder (/sys/devices/system/cpu/cpu0/cache); source "" where it has none.
CpuCaches caches_from_sysfs(const std::string& folder);

}  // namespace pycnn
