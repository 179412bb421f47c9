#pragma once
// bfloat16 operands for the GEMM: float32's sign, exponent and top 7 mantissa bits.
//
// A bf16 GEMM multiplies in pairs along K, as AVX512-BF16's vdpbf16ps and AMX's tdpbf16ps do: its panels are the
// float32 panels of panels.h with K halved, each 32-bit element holding two bf16 values — (x, 2k) in the low half,
// (x, 2k + 1) in the high half. The micro-kernels of ukernel.h then run unchanged over "K/2 pairs", accumulating in
// float32; only their multiply-add differs (see the bf16 vector types).
#include <cstdint>
#include <cstring>

namespace pycnn {

// The precision convolutions and linear layers multiply in. Everything else (sums, bias, residual, ReLU, pooling,
// normalisation) stays float32.
enum class Precision : int { fp32 = 0, bf16 = 1 };

const char* precision_name(Precision p);
// Parses "fp32" | "bf16"; throws std::invalid_argument naming the accepted values.
Precision parse_precision(const char* name);

// float32 → bf16 as vcvtne2ps2bf16 rounds: to nearest even, subnormals to zero of their sign, NaN to a quiet NaN.
inline uint16_t bf16_from_float(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  if ((u & 0x7F800000u) == 0) return static_cast<uint16_t>((u >> 16) & 0x8000u);
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

inline float float_from_bf16(uint32_t bits16) {
  const uint32_t u = bits16 << 16;
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// AMX multiplies A tiles whose rows run along K: its kernels take A panels as chunks of 16 pairs of K, each chunk
// holding the panel's r rows of 16 pairs one after another — element (x, k) at (k / 16) * 16r + 16x + k % 16. Their
// products' depth is padded with zero pairs to a multiple of 16.
constexpr int kAmxChunkPairs = 16;

// Packs `rows` float32 rows of `valid` floats, src_stride apart (a packed panel, or a matrix read where it lies),
// into pair rows: ceil(rows / 2) rows of r 32-bit elements, element x of pair row k holding bf16(src[2k][x]) low and
// bf16(src[2k + 1][x]) high — zero past the last row and from column `valid` on. Reads nothing else.
using PackPairsFn = void (*)(const float* src, int64_t src_stride, int64_t rows, int valid, int r, uint32_t* dst);

void bf16_pack_pairs__generic(const float* src, int64_t src_stride, int64_t rows, int valid, int r, uint32_t* dst);
#if defined(PYCNN_X86)
void bf16_pack_pairs__avx512bf16(const float* src, int64_t src_stride, int64_t rows, int valid, int r,
                                 uint32_t* dst);
#endif

}  // namespace pycnn
