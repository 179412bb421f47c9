#pragma once
// The CUDA operators, callable from host code that never includes a CUDA header (the _cuda bindings).
// Pointers are to device memory holding C-contiguous float32 NCHW data whose shapes the caller has checked.
// Everything runs in order on one stream, the legacy default stream; errors throw std::runtime_error.
#include <cstdint>
#include <string>

#include "pycnn/conv_params.h"

namespace pycnn::cuda {

// How a convolution multiplies: fp32 on the CUDA cores, or on the tensor cores with inputs rounded to TF32
// (10-bit mantissa) or BF16 (7-bit mantissa); products are always accumulated and stored in fp32.
enum class Precision : int { fp32 = 0, tf32 = 1, bf16 = 2 };

const char* precision_name(Precision p);
// Parses "fp32" | "tf32" | "bf16"; throws std::invalid_argument naming the accepted values.
Precision parse_precision(const std::string& name);

// --- runtime (runtime.cu) ------------------------------------------------------------------------------------

// Devices the runtime can use; 0, never an error, when there is no driver or no device.
int device_count();
// Why device_count() is 0 ("no CUDA-capable device is detected", ...), or "ok".
std::string device_status();
std::string device_name(int device);
int compute_capability(int device);  // 90 for sm_90
int multiprocessor_count();  // of the current device
int runtime_version();       // 13000 for CUDA 13.0
int driver_version();        // 0 without a driver

void* allocate(int64_t bytes);  // stream-ordered, from the device's memory pool
void release(void* p);
void copy_to_device(void* dst, const void* src, int64_t bytes);  // returns when src may be reused
void copy_to_host(void* dst, const void* src, int64_t bytes);    // returns when dst holds the data
void copy_on_device(void* dst, const void* src, int64_t bytes);
void synchronize();
// Orders pycnn's stream after the work queued so far on `stream` (a cudaStream_t, or 1/2 for the legacy and
// per-thread default streams, as __cuda_array_interface__ and DLPack name them), and the reverse.
void wait_for(std::uintptr_t stream);
void signal_to(std::uintptr_t stream);

// --- operators -------------------------------------------------------------------------------------------------

struct ConvOperands {
  const float* x;
  const void* w;                  // float, or uint16_t bfloat16 bits when weights_bf16
  bool weights_bf16 = false;      // only with Precision::bf16
  const float* bias = nullptr;    // out_channels values
  const float* residual = nullptr;  // same shape as y, added before ReLU
  bool relu = false;
  float* y;
};

// Implicit-GEMM convolution (conv_igemm_*.cu), any stride, padding, dilation and groups.
void conv2d(const Conv2dParams& p, Precision precision, const ConvOperands& ops);
// dst[i] = bfloat16(src[i]), rounded to nearest even.
void convert_to_bf16(const float* src, std::uint16_t* dst, int64_t count);

void max_pool2d(const Pool2dParams& p, const float* x, float* y);
void avg_pool2d(const Pool2dParams& p, bool count_include_pad, int64_t divisor_override, const float* x, float* y);
void adaptive_avg_pool2d(int64_t planes, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w, const float* x,
                         float* y);

void relu(int64_t count, const float* x, float* y);
void add(int64_t count, const float* a, const float* b, float* y);
// y[n][c][i] = x[n][c][i] * scale[c] + shift[c]
void channel_affine(int64_t batch, int64_t channels, int64_t inner, const float* x, const float* scale,
                    const float* shift, float* y);
// The rows of src (rows × row_length) into dst, whose rows are dst_stride apart: one input of a concatenation.
void copy_rows(int64_t rows, int64_t row_length, const float* src, int64_t dst_stride, float* dst);

void local_response_norm(int64_t batch, int64_t channels, int64_t inner, int64_t size, double alpha, double beta,
                         double k, const float* x, float* y);
void softmax(int64_t outer, int64_t dim, int64_t inner, const float* x, float* y);

}  // namespace pycnn::cuda
