#pragma once
// Integer rounding for tile and block counts (non-negative a, positive b).
#include <cstdint>

namespace pycnn {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

}  // namespace pycnn
