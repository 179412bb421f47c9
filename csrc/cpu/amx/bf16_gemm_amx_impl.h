// The AMX bf16 GEMM tile, MR (16 or 32) × 32: C in MR/16 × 2 tiles of 16×16 floats, one tdpbf16ps per tile and
// 16 pairs of K. A arrives in the AMX layout (bf16.h's chunks: for each 16 pairs of K, MR rows of 16 pairs), B as
// pair panels 32 columns wide (two tiles side by side, ldb apart row to row). kc is a multiple of 16.
// Included inside an anonymous namespace of each TU built with AMX's flags, after gemm_ukernel_impl.h and
// vec_avx512.h.
#pragma once

// The tile palette: 8 tiles of 16 rows × 64 bytes. Tiles 0–3 hold C, 4–5 A, 6–7 B.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t bytes_per_row[16] = {};
  uint8_t rows[16] = {};
};

inline void configure_tiles() {
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.bytes_per_row[t] = 64;
    config.rows[t] = 16;
  }
#if defined(__GNUC__)
  // GCC 12's _tile_loadconfig tells the compiler it reads 8 bytes of the configuration, which then drops the
  // stores to the other 56: the whole struct is this statement's operand instead.
  __asm__ volatile("ldtilecfg %0" : : "m"(config));
#else
  _tile_loadconfig(&config);
#endif
}

// Needs the palette above loaded on the calling thread (GemmKernel::prepare).
template <int MR>
void amx_bf16_gemm(const pycnn::UkernelArgs& p) {
  static_assert(MR == 16 || MR == 32, "AMX tiles hold 16 rows");
  constexpr int NR = 32;
  prefetch_tile_c<NR>(p);
  _tile_zero(0);
  _tile_zero(1);
  if (MR == 32) {
    _tile_zero(2);
    _tile_zero(3);
  }
  const char* a = reinterpret_cast<const char*>(p.a);
  const char* b = reinterpret_cast<const char*>(p.b);
  const int64_t b_stride = p.ldb * 4;
  for (int64_t k = 0; k < p.kc; k += 16) {
    _tile_loadd(6, b, b_stride);
    _tile_loadd(7, b + 64, b_stride);
    _tile_loadd(4, a, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    if (MR == 32) {
      _tile_loadd(5, a + 16 * 64, 64);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
    a += MR * 64;
    b += 16 * b_stride;
  }
  alignas(64) float tile[MR][NR];
  _tile_stored(0, &tile[0][0], NR * 4);
  _tile_stored(1, &tile[0][16], NR * 4);
  if (MR == 32) {
    _tile_stored(2, &tile[16][0], NR * 4);
    _tile_stored(3, &tile[16][16], NR * 4);
  }
  Avx512::T acc[MR][2];
  for (int i = 0; i < MR; ++i) {
    acc[i][0] = Avx512::load(&tile[i][0]);
    acc[i][1] = Avx512::load(&tile[i][16]);
  }
  store_tile<Avx512, MR, 2>(p, acc);
}
