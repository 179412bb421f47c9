// fp32 implicit-GEMM convolution on the CUDA cores.
//
// A block computes a BM×BN tile of C with BM/8 × BN/8 threads, each an 8×8 sub-tile made of four 4×4 quarters
// (rows ty·4.. and BM/2 + ty·4.., columns tx·4.. and BN/2 + tx·4..), so that every shared-memory read is a
// float4 and a warp's reads spread over the banks. K advances BK = 8 at a time through two shared buffers:
// the next tiles are fetched into registers while the current ones are multiplied, then stored into the other
// buffer — one barrier per step.
#include "conv_gemm.cuh"

namespace pycnn::cuda {
namespace {

constexpr int kDepth = 8;  // BK

// Register caps: 128 per thread for 256-thread blocks (2 blocks, 16 warps per SM), 168 for 64-thread ones.
template <int BM, int BN>
__global__ void __launch_bounds__(BM / 8 * BN / 8, BM == 128 ? 2 : 6) conv_igemm_f32_kernel(ConvGemmArgs<float> args) {
  constexpr int kThreads = BM / 8 * BN / 8;
  using Loader = ConvTileLoader<BM, BN, kDepth, kThreads, float>;
  // A is stored transposed (k-major); 4 floats of padding per row spread its stores over the banks.
  __shared__ __align__(16) float a_tile[2][kDepth][BM + 4];
  __shared__ __align__(16) float b_tile[2][kDepth][BN];

  const int group = blockIdx.z, m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const Loader loader(args, group, m0, n0);
  float a_next[Loader::kACount], b_next[Loader::kBCount];

  auto stage = [&](int buffer) {
#pragma unroll
    for (int i = 0; i < Loader::kACount; ++i) a_tile[buffer][Loader::a_col()][Loader::a_row(i)] = a_next[i];
#pragma unroll
    for (int i = 0; i < Loader::kBCount; ++i) b_tile[buffer][Loader::b_row(i)][Loader::b_col()] = b_next[i];
  };

  loader.fetch(0, a_next, b_next);
  stage(0);
  __syncthreads();

  const int tx = threadIdx.x % (BN / 8), ty = threadIdx.x / (BN / 8);
  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i) {
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;
  }

  const int K = args.s.K;
  for (int k0 = 0, buffer = 0; k0 < K; k0 += kDepth, buffer ^= 1) {
    const bool more = k0 + kDepth < K;
    if (more) loader.fetch(k0 + kDepth, a_next, b_next);
#pragma unroll
    for (int kk = 0; kk < kDepth; ++kk) {
      const float4 a_lo = *reinterpret_cast<const float4*>(&a_tile[buffer][kk][ty * 4]);
      const float4 a_hi = *reinterpret_cast<const float4*>(&a_tile[buffer][kk][BM / 2 + ty * 4]);
      const float4 b_lo = *reinterpret_cast<const float4*>(&b_tile[buffer][kk][tx * 4]);
      const float4 b_hi = *reinterpret_cast<const float4*>(&b_tile[buffer][kk][BN / 2 + tx * 4]);
      const float a[8] = {a_lo.x, a_lo.y, a_lo.z, a_lo.w, a_hi.x, a_hi.y, a_hi.z, a_hi.w};
      const float b[8] = {b_lo.x, b_lo.y, b_lo.z, b_lo.w, b_hi.x, b_hi.y, b_hi.z, b_hi.w};
#pragma unroll
      for (int i = 0; i < 8; ++i) {
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
      }
    }
    if (more) stage(buffer ^ 1);
    __syncthreads();
  }

  const ConvEpilogue epilogue(args, group);
  int64_t columns[8];
#pragma unroll
  for (int j = 0; j < 8; ++j) columns[j] = epilogue.column_offset(n0 + (j < 4 ? tx * 4 + j : BN / 2 + tx * 4 + j - 4));
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int m = m0 + (i < 4 ? ty * 4 + i : BM / 2 + ty * 4 + i - 4);
#pragma unroll
    for (int j = 0; j < 8; ++j) epilogue.store(m, columns[j], acc[i][j]);
  }
}

template <int BM, int BN>
void launch_f32(const ConvGemmArgs<float>& args, int groups) {
  const dim3 grid(unsigned(ceil_div(args.s.N, BN)), unsigned(ceil_div(args.s.M, BM)), unsigned(groups));
  launch(conv_igemm_f32_kernel<BM, BN>, grid, dim3(BM / 8 * BN / 8), "conv2d (fp32)", args);
}

}  // namespace

void conv_igemm_f32(const ConvGemmArgs<float>& args, int groups, bool large) {
  if (large) {
    launch_f32<128, 128>(args, groups);
  } else {
    launch_f32<64, 64>(args, groups);
  }
}

}  // namespace pycnn::cuda
