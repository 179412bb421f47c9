#pragma once
// Implicit-GEMM convolution on the tensor cores, through the warp-level wmma API (sm_80 and later).
//
// A block of WARPS_M × WARPS_N warps computes a BM×BN tile of C; each warp a (BM/WARPS_M)×(BN/WARPS_N) part
// as 16×16 accumulator fragments in fp32. Tiles of A (row-major m×k) and B (row-major k×n) are rounded to the
// multiply precision when they are stored to shared memory, in two buffers, the next ones fetched into
// registers while the current ones are multiplied. The accumulators leave through shared memory, one 16×16
// fragment per warp at a time, so that the epilogue (bias, residual, ReLU) sees plain (m, n) coordinates.
#include <mma.h>

#include "conv_gemm.cuh"

namespace pycnn::cuda {

// At most 128 registers per thread, for 16 warps per SM.
template <class Math, int BM, int BN, int WARPS_M, int WARPS_N>
__global__ void __launch_bounds__(32 * WARPS_M * WARPS_N, 16 / (WARPS_M * WARPS_N))
    conv_igemm_wmma_kernel(ConvGemmArgs<typename Math::Weight> args) {
  namespace wmma = nvcuda::wmma;
  using Element = typename Math::Element;
  constexpr int kThreads = 32 * WARPS_M * WARPS_N, kDepth = Math::kDepth, kStep = Math::kStep;
  constexpr int kWarpM = BM / WARPS_M, kWarpN = BN / WARPS_N;
  constexpr int kFragsM = kWarpM / 16, kFragsN = kWarpN / 16;
  // Rows padded by 16 bytes: a multiple of what wmma needs for ldm, and fragments keep 32-byte alignment.
  constexpr int kLda = kDepth + 16 / int(sizeof(Element)), kLdb = BN + 16 / int(sizeof(Element));
  static_assert(kWarpM % 16 == 0 && kWarpN % 16 == 0 && kDepth % kStep == 0, "tile does not split into fragments");
  using Loader = ConvTileLoader<BM, BN, kDepth, kThreads, typename Math::Weight>;

  struct Tiles {
    Element a[2][BM][kLda];
    Element b[2][kDepth][kLdb];
  };
  constexpr int kScratchBytes = kThreads / 32 * 16 * 16 * int(sizeof(float));
  __shared__ __align__(32) unsigned char shared[sizeof(Tiles) > kScratchBytes ? sizeof(Tiles) : kScratchBytes];
  Tiles& tiles = *reinterpret_cast<Tiles*>(shared);

  const int group = blockIdx.z, m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const Loader loader(args, group, m0, n0);
  typename Math::Weight a_next[Loader::kACount];
  float b_next[Loader::kBCount];

  auto stage = [&](int buffer) {
#pragma unroll
    for (int i = 0; i < Loader::kACount; ++i) {
      tiles.a[buffer][Loader::a_row(i)][Loader::a_col()] = Math::weight_element(a_next[i]);
    }
#pragma unroll
    for (int i = 0; i < Loader::kBCount; ++i) {
      tiles.b[buffer][Loader::b_row(i)][Loader::b_col()] = Math::input_element(b_next[i]);
    }
  };

  loader.fetch(0, a_next, b_next);
  stage(0);
  __syncthreads();

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int warp_m = warp / WARPS_N * kWarpM, warp_n = warp % WARPS_N * kWarpN;
  wmma::fragment<wmma::accumulator, 16, 16, kStep, float> acc[kFragsM][kFragsN];
#pragma unroll
  for (int i = 0; i < kFragsM; ++i) {
#pragma unroll
    for (int j = 0; j < kFragsN; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
  }

  const int K = args.s.K;
  for (int k0 = 0, buffer = 0; k0 < K; k0 += kDepth, buffer ^= 1) {
    const bool more = k0 + kDepth < K;
    if (more) loader.fetch(k0 + kDepth, a_next, b_next);
#pragma unroll
    for (int ks = 0; ks < kDepth; ks += kStep) {
      typename Math::BFragment b[kFragsN];
#pragma unroll
      for (int j = 0; j < kFragsN; ++j) wmma::load_matrix_sync(b[j], &tiles.b[buffer][ks][warp_n + j * 16], kLdb);
#pragma unroll
      for (int i = 0; i < kFragsM; ++i) {
        typename Math::AFragment a;
        wmma::load_matrix_sync(a, &tiles.a[buffer][warp_m + i * 16][ks], kLda);
#pragma unroll
        for (int j = 0; j < kFragsN; ++j) wmma::mma_sync(acc[i][j], a, b[j], acc[i][j]);
      }
    }
    if (more) stage(buffer ^ 1);
    __syncthreads();
  }

  // The tiles are dead: their memory holds each warp's 16×16 scratch. Lane l writes row l/2, 8 columns.
  float* scratch = reinterpret_cast<float*>(shared) + warp * 16 * 16;
  const ConvEpilogue epilogue(args, group);
  const int row = lane / 2, column0 = lane % 2 * 8;
#pragma unroll
  for (int i = 0; i < kFragsM; ++i) {
#pragma unroll
    for (int j = 0; j < kFragsN; ++j) {
      wmma::store_matrix_sync(scratch, acc[i][j], 16, wmma::mem_row_major);
      __syncthreads();
      const int m = m0 + warp_m + i * 16 + row, n = n0 + warp_n + j * 16 + column0;
#pragma unroll
      for (int c = 0; c < 8; ++c) epilogue.store(m, epilogue.column_offset(n + c), scratch[row * 16 + column0 + c]);
      __syncthreads();
    }
  }
}

template <class Math>
void launch_wmma(const ConvGemmArgs<typename Math::Weight>& args, int groups, bool large, const char* what) {
  if (large) {
    const dim3 grid(unsigned(ceil_div(args.s.N, 128)), unsigned(ceil_div(args.s.M, 128)), unsigned(groups));
    launch(conv_igemm_wmma_kernel<Math, 128, 128, 2, 4>, grid, dim3(256), what, args);
  } else {
    const dim3 grid(unsigned(ceil_div(args.s.N, 64)), unsigned(ceil_div(args.s.M, 64)), unsigned(groups));
    launch(conv_igemm_wmma_kernel<Math, 64, 64, 2, 2>, grid, dim3(128), what, args);
  }
}

}  // namespace pycnn::cuda
