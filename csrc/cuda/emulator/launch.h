#pragma once
// Kernel launches on the CPU emulator (see include/cuda_runtime.h).
#include <cuda_runtime.h>

#include <functional>

namespace pycnn_emulator {

// Runs `kernel` once per thread of every block of `grid`, one block at a time. Throws std::logic_error when
// the threads of a block disagree on how many barriers they pass (undefined behaviour on a GPU).
void run_grid(dim3 grid, dim3 block, const std::function<void()>& kernel);

}  // namespace pycnn_emulator

namespace pycnn::cuda::emulator {
using pycnn_emulator::run_grid;
}
