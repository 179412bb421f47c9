#pragma once
// The GEMM micro-kernel contract: one MR×NR register tile of C per call.
#include <cstdint>

namespace pycnn {

// Widest NR of any micro-kernel; packers size their stack tables with it.
constexpr int kMaxNR = 32;

// Whether a tile of MR rows fetches its B panel ahead itself: the few-rows tiles read each panel once, straight from
// memory. The others reuse B across their row tiles and fetch A ahead; the GEMM driver brings each next B panel into
// L2 for them.
constexpr bool ukernel_streams_b(int mr) { return mr < 8; }

// C[m×n] (+)= A[m×kc]·B[kc×n], then — on the call that adds the last K block — the fused epilogue.
// A arrives packed as k-major panels zero-padded to MR rows, B likewise NR columns wide or, for a panel whose
// NR columns all exist in a row-major source, read where it lies (ldb: its row stride); so the kernel always
// computes the full tile in registers and writes only the m×n corner that exists.
struct UkernelArgs {
  int64_t kc;
  const float* a;  // element (i, k) at a[k * MR + i]
  const float* b;  // element (k, j) at b[k * ldb + j]: ldb = NR when packed, more when read in place
  int64_t ldb;
  float* c;  // element (i, j) at c[i * ldc + j], or at c[j * ldc + i] when transpose_c; the residual likewise
  int64_t ldc;
  bool transpose_c;  // C is stored column by column: a convolution computed with its positions as the rows
  int m, n;         // rows and columns of the tile that exist (1..MR, 1..NR)
  bool accumulate;  // C += A·B instead of C = A·B
  // Epilogue, applied in this order: + bias_row[i] + bias_col[j] + residual[i][j], then ReLU.
  const float* bias_row;  // one value per row (conv: output channel) or null
  const float* bias_col;  // one value per column (linear: output feature) or null
  const float* residual;  // row stride ldr, or null
  int64_t ldr;
  bool relu;
  // Memory to bring into L2 while the tile computes (a slice of the B panel the next tiles will read), or null:
  // spread over the k loop.
  const float* prefetch;
  int64_t prefetch_floats;
};

using GemmUkernelFn = void (*)(const UkernelArgs&);

void f32_gemm_ukernel_4x8__generic(const UkernelArgs& args);
#if defined(PYCNN_X86)
void f32_gemm_ukernel_6x16__avx2_fma(const UkernelArgs& args);
void f32_gemm_ukernel_2x16__avx2_fma(const UkernelArgs& args);
void f32_gemm_ukernel_14x32__avx512f(const UkernelArgs& args);
void f32_gemm_ukernel_4x32__avx512f(const UkernelArgs& args);
void f32_gemm_ukernel_14x16__avx512f(const UkernelArgs& args);
#endif

// The same contract over bf16 pairs (bf16.h): kc counts pairs, a and b point at pair panels, C and the epilogue
// are float32.
void bf16_gemm_ukernel_4x8__generic(const UkernelArgs& args);
#if defined(PYCNN_X86)
void bf16_gemm_ukernel_6x16__avx2_fma(const UkernelArgs& args);
void bf16_gemm_ukernel_14x32__avx512f(const UkernelArgs& args);
void bf16_gemm_ukernel_14x32__avx512bf16(const UkernelArgs& args);
void bf16_gemm_ukernel_4x32__avx512bf16(const UkernelArgs& args);
// A in AMX chunks (bf16.h), kc a multiple of 16.
void bf16_gemm_ukernel_32x32__amx(const UkernelArgs& args);
void bf16_gemm_ukernel_16x32__amx(const UkernelArgs& args);
// Loads the AMX kernels' tile configuration on the calling thread.
void bf16_amx_configure_tiles();
#endif

// Direct convolution, one tile per call: y[j][r][q] = Σ_k x(r, q, k)·w[k][j] for output channels j < n and
// output positions q < cols of rows r < rows, k running over (channel, kh, kw) — then + bias[j] +
// residual[j][r][q], then ReLU. A tile is `tile_rows` (1 or 2) rows of MR / tile_rows positions; the input is
// read in place: (r, q) and tap (c, kh, kw) at x[c * x_plane + r * x_row + kh * tap_row + kw * tap_col +
// q * stride]. The kernel reads every position of the tile, existing or not, so the caller pads the input,
// leaves room past its end and passes x_row = 0 when the second row does not exist.
struct DirectConvArgs {
  int64_t channels;
  const float* x;
  int64_t x_plane;  // floats between input channels
  int64_t x_row;    // floats between the input rows of the tile's two output rows
  int64_t tap_row;  // floats between kernel rows (input row stride × dilation)
  int64_t tap_col;  // floats between kernel columns (dilation)
  int64_t stride;   // floats between neighbouring output positions
  int kernel_h, kernel_w;
  int tile_rows;
  const float* w;  // packed: element (k, j) at w[k * NR + j], zero past the last channel
  float* y;        // output (j, r, q) at y[j * y_plane + r * y_row + q]; residual likewise
  int64_t y_plane, y_row;
  int rows, cols, n;
  const float* bias;      // n values or null
  const float* residual;  // or null
  bool relu;
  // Memory to bring into L2 while the tile computes (the filters the next call will read), or null: spread over
  // the channel loop, so that streaming filters from memory overlaps the FMAs instead of stalling them.
  const float* prefetch;
  int64_t prefetch_floats;
};

using DirectConvUkernelFn = void (*)(const DirectConvArgs&);

void f32_dconv_ukernel_4x8__generic(const DirectConvArgs& args);
#if defined(PYCNN_X86)
void f32_dconv_ukernel_6x16__avx2_fma(const DirectConvArgs& args);
void f32_dconv_ukernel_14x32__avx512f(const DirectConvArgs& args);
#endif

// FMA-throughput loops, the yardstick for "% of peak": run `iterations` rounds of independent FMAs, store a
// value derived from them in *sink and return the flops done.
using FmaPeakFn = int64_t (*)(int64_t iterations, float* sink);

int64_t f32_fma_peak__generic(int64_t iterations, float* sink);
#if defined(PYCNN_X86)
int64_t f32_fma_peak__avx2_fma(int64_t iterations, float* sink);
int64_t f32_fma_peak__avx512f(int64_t iterations, float* sink);
#endif

// One pass of separable max pooling over `planes` planes of `lines` lines of n outputs: output i of line l of
// plane q is the max of src[q * src_plane + l * src_line + i * step + t * tap_stride] over the taps t < taps, NaN
// if any of them is (as PyTorch), written to dst[q * dst_plane + l * dst_line + i]. The kernel reads nothing but
// those taps.
struct MaxPassArgs {
  const float* src;
  int64_t src_line, step, tap_stride;
  int taps;
  int64_t n, lines;
  float* dst;
  int64_t dst_line;
  int64_t planes = 1, src_plane = 0, dst_plane = 0;
};

using MaxPassFn = void (*)(const MaxPassArgs& args);

void f32_maxpool_pass__generic(const MaxPassArgs& args);
#if defined(PYCNN_X86)
void f32_maxpool_pass__avx2_fma(const MaxPassArgs& args);
void f32_maxpool_pass__avx512f(const MaxPassArgs& args);
#endif

}  // namespace pycnn
