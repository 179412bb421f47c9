#pragma once
// What every kernel file shares: error checks, the launch helper, index helpers.
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#ifdef PYCNN_CUDA_EMULATOR
#include "emulator/launch.h"
#endif

namespace pycnn::cuda {

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(status));
  }
}

// Every kernel runs on the legacy default stream, which orders it after (and before) the work that torch and
// CuPy queue on their default streams.
constexpr cudaStream_t kStream = 0;

// kernel<<<grid, block, 0, kStream>>>(args...), with the launch checked; on the CPU emulator, the same kernel
// run block by block with one fiber per thread.
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, const char* what, Args&&... args) {
#ifdef PYCNN_CUDA_EMULATOR
  static_cast<void>(what);
  emulator::run_grid(grid, block, [&] { kernel(static_cast<Params>(args)...); });
#else
  kernel<<<grid, block, 0, kStream>>>(static_cast<Params>(args)...);
  check(cudaGetLastError(), what);
#endif
}

__host__ __device__ inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
__host__ __device__ inline int min_int(int a, int b) { return a < b ? a : b; }
__host__ __device__ inline int max_int(int a, int b) { return a > b ? a : b; }
__host__ __device__ inline bool is_nan(float v) { return v != v; }

// Element-wise kernels: one thread per element over a grid capped at a few waves, looping beyond it.
constexpr int kElementwiseThreads = 256;
inline dim3 elementwise_grid(int64_t count) {
  const int64_t blocks = ceil_div(count, kElementwiseThreads);
  return dim3(static_cast<unsigned>(blocks < 65536 ? (blocks > 0 ? blocks : 1) : 65536));
}

#define PYCNN_GRID_STRIDE_LOOP(i, count)                                                           \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (count); \
       i += int64_t(gridDim.x) * blockDim.x)

}  // namespace pycnn::cuda
