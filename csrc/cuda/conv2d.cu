// The convolution driver: the GEMM view of a convolution, and the kernel and tile size for it.
#include <cuda_bf16.h>

#include <limits>
#include <stdexcept>
#include <string>

#include "conv_gemm.cuh"

namespace pycnn::cuda {
namespace {

int checked_int(int64_t value, const char* what) {
  if (value < 0 || value > std::numeric_limits<int>::max()) {
    throw std::invalid_argument(std::string("conv2d: ") + what + " (" + std::to_string(value) +
                                ") exceeds the 2^31 that pycnn's CUDA kernels index");
  }
  return static_cast<int>(value);
}

// The 128×128 tiles need 4× fewer loads per multiply than the 64×64 ones, but only pay when they fill the GPU:
// one wave of blocks at least, and output channels that fill most of a 128-row tile.
bool use_large_tiles(const ConvGemmShape& s, int groups) {
  const int64_t blocks = ceil_div(s.N, 128) * ceil_div(s.M, 128) * groups;
  return s.M > 64 && blocks >= multiprocessor_count();
}

__global__ void convert_to_bf16_kernel(const float* src, uint16_t* dst, int64_t count) {
  PYCNN_GRID_STRIDE_LOOP(i, count) { dst[i] = __bfloat16_as_ushort(__float2bfloat16_rn(src[i])); }
}

}  // namespace

ConvGemmShape conv_gemm_shape(const Conv2dParams& p) {
  const Window2d& w = p.window;
  ConvGemmShape s{};
  s.M = checked_int(p.out_channels / p.groups, "output channels");
  s.N = checked_int(p.batch * p.out_h * p.out_w, "batch × output pixels");
  s.K = checked_int(p.in_channels / p.groups * w.kernel_h * w.kernel_w, "input channels × kernel taps");
  checked_int(p.in_channels * p.in_h * p.in_w, "elements per input image");
  checked_int(p.out_channels * p.out_h * p.out_w, "elements per output image");
  checked_int(int64_t(s.M) * s.K, "weights per group");
  s.in_c = static_cast<int>(p.in_channels), s.in_h = static_cast<int>(p.in_h), s.in_w = static_cast<int>(p.in_w);
  s.group_in_c = static_cast<int>(p.in_channels / p.groups);
  s.stride_h = checked_int(w.stride_h, "stride"), s.stride_w = checked_int(w.stride_w, "stride");
  s.pad_top = checked_int(w.pad_top, "padding"), s.pad_left = checked_int(w.pad_left, "padding");
  s.dilation_h = checked_int(w.dilation_h, "dilation"), s.dilation_w = checked_int(w.dilation_w, "dilation");
  s.out_c = static_cast<int>(p.out_channels), s.out_hw = static_cast<int>(p.out_h * p.out_w);
  s.kernel_area = FastDivmod(checked_int(w.kernel_h * w.kernel_w, "kernel taps"));
  s.kernel_w = FastDivmod(static_cast<int>(w.kernel_w));
  s.out_area = FastDivmod(s.out_hw > 0 ? s.out_hw : 1);
  s.out_w = FastDivmod(p.out_w > 0 ? static_cast<int>(p.out_w) : 1);
  return s;
}

void convert_to_bf16(const float* src, uint16_t* dst, int64_t count) {
  if (count > 0) launch(convert_to_bf16_kernel, elementwise_grid(count), dim3(kElementwiseThreads), "to bf16",
                        src, dst, count);
}

void conv2d(const Conv2dParams& p, Precision precision, const ConvOperands& ops) {
  const ConvGemmShape s = conv_gemm_shape(p);
  if (s.M == 0 || s.N == 0) return;
  if (p.groups > 65535 || ceil_div(s.M, 64) > 65535) throw std::invalid_argument("conv2d: too many groups or channels");
  const int groups = static_cast<int>(p.groups);
  const bool large = use_large_tiles(s, groups);
  if (ops.weights_bf16 && precision != Precision::bf16) {
    throw std::invalid_argument("conv2d: bfloat16 weights need precision 'bf16'");
  }
  if (precision == Precision::bf16) {
    const ConvGemmArgs<uint16_t> base{s, ops.x, nullptr, ops.bias, ops.residual, ops.relu, ops.y};
    if (ops.weights_bf16) {
      ConvGemmArgs<uint16_t> args = base;
      args.w = static_cast<const uint16_t*>(ops.w);
      conv_igemm_bf16(args, groups, large);
      return;
    }
    const int64_t count = int64_t(s.M) * s.K * groups;
    void* converted = allocate(count * int64_t(sizeof(uint16_t)));
    try {
      convert_to_bf16(static_cast<const float*>(ops.w), static_cast<uint16_t*>(converted), count);
      ConvGemmArgs<uint16_t> args = base;
      args.w = static_cast<const uint16_t*>(converted);
      conv_igemm_bf16(args, groups, large);
    } catch (...) {
      release(converted);
      throw;
    }
    release(converted);  // stream-ordered: after the convolution has read it
    return;
  }
  const ConvGemmArgs<float> args{s, ops.x, static_cast<const float*>(ops.w), ops.bias, ops.residual, ops.relu, ops.y};
  if (precision == Precision::tf32) {
    conv_igemm_tf32(args, groups, large);
  } else {
    conv_igemm_f32(args, groups, large);
  }
}

}  // namespace pycnn::cuda
