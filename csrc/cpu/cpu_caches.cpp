// The CPU's model name and cache sizes (pycnn/cpu_caches.h).
#include "pycnn/cpu_caches.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#if defined(PYCNN_X86)
#include "x86_cpuid.h"
#endif

namespace pycnn {
namespace {

// Where neither CPUID nor sysfs says: the sizes of a common x86-64 core of the last decade.
constexpr int64_t kAssumedL1d = 32 << 10, kAssumedL2 = 1 << 20, kAssumedL3 = 8 << 20;

// Keeps the data and unified caches of levels 1 to 3, by level.
void record(CpuCaches& caches, int level, bool holds_data, int64_t bytes) {
  if (!holds_data || bytes <= 0) return;
  if (level == 1) caches.l1d = bytes;
  if (level == 2) caches.l2 = bytes;
  if (level == 3) caches.l3 = bytes;
}

// "48K", "2048K", "480M", "1G" or a plain byte count; 0 when it is none of these.
int64_t parse_size(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 12) return 0;
  const int64_t value = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  if (unit.empty() || unit == "\n") return value;
  switch (unit[0]) {
    case 'K': return value << 10;
    case 'M': return value << 20;
    case 'G': return value << 30;
    default: return 0;
  }
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

CpuCaches detect() {
  CpuCaches caches = caches_from_cpuid();
  if (caches.source.empty()) caches = caches_from_sysfs("/sys/devices/system/cpu/cpu0/cache");
  if (caches.source.empty()) caches = CpuCaches{kAssumedL1d, kAssumedL2, kAssumedL3, "assumed"};
  return caches;
}

}  // namespace

CpuCaches caches_from_cpuid() {
  CpuCaches caches;
#if defined(PYCNN_X86)
  // The deterministic cache parameters: one subleaf per cache, until a type of 0. Intel's leaf 4; AMD's 0x8000001D
  // where CPUID 0x80000001 reports the topology extensions.
  const CpuidRegs vendor = cpuid(0, 0);
  const bool amd = vendor.ebx == 0x68747541u;  // "Auth"enticAMD
  uint32_t leaf = 4;
  if (amd) {
    const bool extensions = cpuid(0x80000000u, 0).eax >= 0x8000001Du && ((cpuid(0x80000001u, 0).ecx >> 22) & 1u);
    if (!extensions) return caches;
    leaf = 0x8000001Du;
  } else if (vendor.eax < 4) {
    return caches;
  }
  for (uint32_t sub = 0; sub < 16; ++sub) {
    const CpuidRegs r = cpuid(leaf, sub);
    const uint32_t type = r.eax & 0x1Fu;  // 1 data, 2 instruction, 3 unified
    if (type == 0) break;
    const int level = static_cast<int>((r.eax >> 5) & 0x7u);
    const int64_t ways = ((r.ebx >> 22) & 0x3FFu) + 1, partitions = ((r.ebx >> 12) & 0x3FFu) + 1;
    const int64_t line = (r.ebx & 0xFFFu) + 1, sets = static_cast<int64_t>(r.ecx) + 1;
    record(caches, level, type != 2, ways * partitions * line * sets);
  }
  if (caches.l1d > 0 && caches.l2 > 0) caches.source = "cpuid";
#endif
  return caches;
}

CpuCaches caches_from_sysfs(const std::string& folder) {
  CpuCaches caches;
  for (int index = 0; index < 16; ++index) {
    const std::string dir = folder + "/index" + std::to_string(index) + "/";
    const std::string level = read_line(dir + "level"), type = read_line(dir + "type");
    if (level.empty() || type.empty()) continue;
    record(caches, std::atoi(level.c_str()), type != "Instruction", parse_size(read_line(dir + "size")));
  }
  if (caches.l1d > 0 && caches.l2 > 0) caches.source = "sysfs";
  return caches;
}

const CpuCaches& cpu_caches() {
  static const CpuCaches caches = detect();
  return caches;
}

const std::string& cpu_brand() {
  static const std::string brand = [] {
    std::string text;
#if defined(PYCNN_X86)
    if (cpuid(0x80000000u, 0).eax >= 0x80000004u) {
      for (uint32_t leaf = 0x80000002u; leaf <= 0x80000004u; ++leaf) {
        const CpuidRegs r = cpuid(leaf, 0);
        char chars[16];
        std::memcpy(chars, &r, sizeof chars);
        text.append(chars, sizeof chars);
      }
    }
#endif
    text = text.substr(0, text.find('\0'));
    const size_t first = text.find_first_not_of(' '), last = text.find_last_not_of(' ');
    return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
  }();
  return brand;
}

}  // namespace pycnn
