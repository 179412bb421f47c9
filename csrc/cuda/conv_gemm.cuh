#pragma once
// Convolution as an implicit GEMM, one per group: C[M×N] = A[M×K] · B[K×N] with
//   M = output channels of the group, A = the group's weights as stored (out_c × in_c/groups·KH·KW, row-major),
//   N = batch·out_h·out_w (output pixels), K = in_c/groups·KH·KW,
//   B[k][n] = the input tap that output pixel n reads for k = (channel, kernel row, kernel column), or 0 in the
//   padding — computed while loading tiles, never stored (no im2col buffer).
// The tile loaders and the epilogue are shared by the fp32 (CUDA-core) and the tensor-core kernels.
#include <cstdint>

#include "common.cuh"
#include "fast_divmod.cuh"
#include "pycnn/conv_params.h"
#include "pycnn/cuda/ops.h"

namespace pycnn::cuda {

struct ConvGemmShape {
  int M, N, K;
  int in_c, in_h, in_w;  // in_c: all groups
  int group_in_c;        // in_c / groups
  int stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
  int out_c, out_hw;     // out_c: all groups
  FastDivmod kernel_area;  // k → (channel, kernel tap)
  FastDivmod kernel_w;     // kernel tap → (kernel row, kernel column)
  FastDivmod out_area;     // n → (image, output pixel)
  FastDivmod out_w;        // output pixel → (output row, output column)
};

ConvGemmShape conv_gemm_shape(const Conv2dParams& p);  // conv2d.cu; throws when an index passes 2^31

template <typename WeightT>
struct ConvGemmArgs {
  ConvGemmShape s;
  const float* x;
  const WeightT* w;
  const float* bias;
  const float* residual;
  bool relu;
  float* y;
};

template <typename T>
__host__ __device__ inline T zero_value() {
  return T(0.0f);
}

// One thread's share of loading a BM×BK tile of A and a BK×BN tile of B into registers, for the tile whose
// first row is m0, first column n0, of group `group`. THREADS is a multiple of BK and of BN, so that
//   A element i is row a_row(i) = tid/BK + i·THREADS/BK, column a_col() = tid%BK: a warp reads whole rows of A,
//   and a thread's elements are one pointer plus multiples of one stride;
//   B element i is row b_row(i) = tid/BN + i·THREADS/BN, column b_col() = tid%BN: all of a thread's elements
//   belong to one output pixel, whose input origin is computed once.
template <int BM, int BN, int BK, int THREADS, typename WeightT>
class ConvTileLoader {
 public:
  static_assert(BM * BK % THREADS == 0 && BN * BK % THREADS == 0, "tile does not split evenly");
  static_assert(THREADS % BK == 0 && THREADS % BN == 0, "threads do not cover whole rows");
  static constexpr int kACount = BM * BK / THREADS;
  static constexpr int kBCount = BN * BK / THREADS;

  __device__ static int a_row(int i) { return int(threadIdx.x) / BK + i * (THREADS / BK); }
  __device__ static int a_col() { return int(threadIdx.x) % BK; }
  __device__ static int b_row(int i) { return int(threadIdx.x) / BN + i * (THREADS / BN); }
  __device__ static int b_col() { return int(threadIdx.x) % BN; }

  __device__ ConvTileLoader(const ConvGemmArgs<WeightT>& args, int group, int m0, int n0) : s_(args.s) {
    const int first_row = m0 + a_row(0);
    a_ = args.w + (int64_t(group) * s_.M + first_row) * s_.K + a_col();
    a_rows_left_ = s_.M - first_row;
    const int n = n0 + b_col();
    pixel_valid_ = n < s_.N;
    int image = 0, oh = 0;
    const int pixel = s_.out_area.divmod(pixel_valid_ ? n : 0, image);
    const int ow = s_.out_w.divmod(pixel, oh);
    x_ = args.x + (int64_t(image) * s_.in_c + int64_t(group) * s_.group_in_c) * s_.in_h * s_.in_w;
    ih0_ = oh * s_.stride_h - s_.pad_top;
    iw0_ = ow * s_.stride_w - s_.pad_left;
  }

  __device__ void fetch(int k0, WeightT (&a)[kACount], float (&b)[kBCount]) const {
    const bool column_valid = k0 + a_col() < s_.K;
    const int64_t row_step = int64_t(THREADS / BK) * s_.K;
#pragma unroll
    for (int i = 0; i < kACount; ++i) {
      a[i] = column_valid && i * (THREADS / BK) < a_rows_left_ ? a_[k0 + i * row_step] : zero_value<WeightT>();
    }
#pragma unroll
    for (int i = 0; i < kBCount; ++i) b[i] = input_tap(k0 + b_row(i));
  }

 private:
  __device__ float input_tap(int k) const {
    if (!pixel_valid_ || k >= s_.K) return 0.0f;
    int channel, kr;
    const int tap = s_.kernel_area.divmod(k, channel);
    const int kc = s_.kernel_w.divmod(tap, kr);
    const int ih = ih0_ + kr * s_.dilation_h, iw = iw0_ + kc * s_.dilation_w;
    if (unsigned(ih) >= unsigned(s_.in_h) || unsigned(iw) >= unsigned(s_.in_w)) return 0.0f;
    return x_[(channel * s_.in_h + ih) * s_.in_w + iw];
  }

  const ConvGemmShape& s_;
  const WeightT* a_;  // this thread's first A element of the tile at k0 = 0
  const float* x_;    // this thread's image and group
  int a_rows_left_, ih0_, iw0_;
  bool pixel_valid_;
};

// Writes C[m][n] of group `group` to the NCHW output, with bias, residual and ReLU: y = relu(c + bias + res).
class ConvEpilogue {
 public:
  template <typename WeightT>
  __device__ explicit ConvEpilogue(const ConvGemmArgs<WeightT>& args, int group)
      : s_(args.s), bias_(args.bias), residual_(args.residual), y_(args.y), relu_(args.relu),
        channel0_(group * args.s.M) {}

  // The output offset of column n (an output pixel) without its channel term, or -1 beyond N.
  __device__ int64_t column_offset(int n) const {
    if (n >= s_.N) return -1;
    int image;
    const int pixel = s_.out_area.divmod(n, image);
    return int64_t(image) * s_.out_c * s_.out_hw + pixel;
  }

  __device__ void store(int m, int64_t column, float c) const {
    if (m >= s_.M || column < 0) return;
    const int channel = channel0_ + m;
    const int64_t at = column + int64_t(channel) * s_.out_hw;
    if (bias_) c += bias_[channel];
    if (residual_) c += residual_[at];
    if (relu_ && c < 0.0f) c = 0.0f;  // NaN stays NaN, as on the CPU
    y_[at] = c;
  }

 private:
  const ConvGemmShape& s_;
  const float* bias_;
  const float* residual_;
  float* y_;
  bool relu_;
  int channel0_;
};

// The launchers of each kernel family (conv_igemm_*.cu); `large` picks the 128×128 tile, else 64×64.
void conv_igemm_f32(const ConvGemmArgs<float>& args, int groups, bool large);
void conv_igemm_tf32(const ConvGemmArgs<float>& args, int groups, bool large);
void conv_igemm_bf16(const ConvGemmArgs<uint16_t>& args, int groups, bool large);

}  // namespace pycnn::cuda
