// The CPU emulator: fibers for the threads of a block, and the runtime API on host memory. One emulated device,
// absent when CUDA_VISIBLE_DEVICES hides every device, as the real runtime does.
#include <ucontext.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "launch.h"

namespace pycnn_emulator {

uint3 thread_index, block_index;
dim3 block_dimensions, grid_dimensions;

namespace {

constexpr size_t kStackBytes = 256 * 1024;

struct Fiber {
  ucontext_t context;
  std::unique_ptr<char[]> stack;
  bool done = false;
};

ucontext_t scheduler;
std::vector<Fiber> fibers;
Fiber* running = nullptr;
const std::function<void()>* kernel_body = nullptr;
std::mutex one_grid_at_a_time;

void fiber_main() {
  (*kernel_body)();
  running->done = true;  // returning resumes the scheduler (uc_link)
}

void start_fibers(unsigned threads) {
  if (fibers.size() < threads) fibers.resize(threads);
  for (unsigned t = 0; t < threads; ++t) {
    Fiber& f = fibers[t];
    if (!f.stack) f.stack = std::make_unique<char[]>(kStackBytes);
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack.get();
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = &scheduler;
    makecontext(&f.context, fiber_main, 0);
    f.done = false;
  }
}

// Resumes every thread of the block in turn until all have returned: each turn takes every live thread from
// one barrier to the next.
void run_block(dim3 block) {
  const unsigned threads = block.x * block.y * block.z;
  start_fibers(threads);
  for (unsigned live = threads; live > 0;) {
    unsigned finished = 0;
    for (unsigned t = 0; t < threads; ++t) {
      Fiber& f = fibers[t];
      if (f.done) continue;
      running = &f;
      thread_index = {t % block.x, t / block.x % block.y, t / (block.x * block.y)};
      swapcontext(&scheduler, &f.context);
      finished += f.done;
    }
    if (finished != 0 && finished != live) {
      throw std::logic_error("emulated kernel: some threads of a block returned while others wait at __syncthreads()");
    }
    live -= finished;
  }
}

}  // namespace

void barrier() { swapcontext(&running->context, &scheduler); }

void run_grid(dim3 grid, dim3 block, const std::function<void()>& kernel) {
  std::lock_guard<std::mutex> lock(one_grid_at_a_time);
  kernel_body = &kernel;
  grid_dimensions = grid;
  block_dimensions = block;
  for (unsigned z = 0; z < grid.z; ++z) {
    for (unsigned y = 0; y < grid.y; ++y) {
      for (unsigned x = 0; x < grid.x; ++x) {
        block_index = {x, y, z};
        run_block(block);
      }
    }
  }
}

}  // namespace pycnn_emulator

namespace {

bool device_hidden() {
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  return visible != nullptr && (visible[0] == '\0' || std::strcmp(visible, "-1") == 0);
}

cudaError_t last_error = cudaSuccess;

cudaError_t fail(cudaError_t error) {
  last_error = error;
  return error;
}

}  // namespace

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorNoDevice:
      return "no CUDA-capable device is detected";
    default:
      return "invalid device ordinal";
  }
}

cudaError_t cudaGetLastError() {
  const cudaError_t error = last_error;
  last_error = cudaSuccess;
  return error;
}

cudaError_t cudaGetDeviceCount(int* count) {
  *count = device_hidden() ? 0 : 1;
  return *count ? cudaSuccess : fail(cudaErrorNoDevice);
}

cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return device_hidden() ? fail(cudaErrorNoDevice) : cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* properties, int device) {
  if (device != 0 || device_hidden()) return fail(cudaErrorInvalidDevice);
  std::strcpy(properties->name, "pycnn CPU emulator");
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attribute, int device) {
  if (device != 0 || device_hidden()) return fail(cudaErrorInvalidDevice);
  switch (attribute) {
    case cudaDevAttrMultiProcessorCount:
      *value = 4;  // few, so that small tests reach both tile sizes
      return cudaSuccess;
    case cudaDevAttrComputeCapabilityMajor:
      *value = 9;
      return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor:
      *value = 0;
      return cudaSuccess;
    default:
      *value = 0;
      return cudaSuccess;
  }
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  *version = 13000;  // the API this stand-in follows
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) { return cudaRuntimeGetVersion(version); }

cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t*, int) { return fail(cudaErrorInvalidValue); }
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t, cudaMemPoolAttr, void*) { return fail(cudaErrorInvalidValue); }

cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  return *p ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}

cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t) { return cudaMalloc(p, bytes); }

cudaError_t cudaFree(void* p) {
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaFreeAsync(void* p, cudaStream_t) { return cudaFree(p); }

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned) {
  *event = nullptr;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned) { return cudaSuccess; }
cudaError_t cudaEventDestroy(cudaEvent_t) { return cudaSuccess; }
