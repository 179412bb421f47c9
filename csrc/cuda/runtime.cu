// Devices, memory and stream order: the few CUDA runtime calls pycnn makes, behind plain C++ functions.
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>

#include "common.cuh"
#include "pycnn/cuda/ops.h"

namespace pycnn::cuda {
namespace {

int current_device() {
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  return device;
}

int device_attribute(cudaDeviceAttr attribute, int device) {
  int value = 0;
  check(cudaDeviceGetAttribute(&value, attribute, device), "cudaDeviceGetAttribute");
  return value;
}

// Stream-ordered allocation from the device's pool, which keeps freed memory for the next call instead of
// returning it to the driver at every synchronisation; plain cudaMalloc where pools are unsupported.
bool use_memory_pool() {
  static const bool supported = [] {
    const int device = current_device();
    if (device_attribute(cudaDevAttrMemoryPoolsSupported, device) == 0) return false;
    cudaMemPool_t pool;
    check(cudaDeviceGetDefaultMemPool(&pool, device), "cudaDeviceGetDefaultMemPool");
    uint64_t keep_all = UINT64_MAX;
    check(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all), "cudaMemPoolSetAttribute");
    return true;
  }();
  return supported;
}

cudaStream_t foreign_stream(std::uintptr_t stream) {
  return stream == 2 ? cudaStreamPerThread : reinterpret_cast<cudaStream_t>(stream);
}

// `waiter` waits for the work queued so far on `signaller`.
void order_after(cudaStream_t signaller, cudaStream_t waiter) {
  cudaEvent_t event;
  check(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "cudaEventCreate");
  const cudaError_t recorded = cudaEventRecord(event, signaller);
  const cudaError_t waited = recorded == cudaSuccess ? cudaStreamWaitEvent(waiter, event, 0) : recorded;
  cudaEventDestroy(event);  // released once it has completed
  check(waited, "cudaStreamWaitEvent");
}

// The legacy default stream already synchronises with every blocking stream, the per-thread one included.
bool needs_event(std::uintptr_t stream) { return stream > 2; }

}  // namespace

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::tf32:
      return "tf32";
    case Precision::bf16:
      return "bf16";
    default:
      return "fp32";
  }
}

Precision parse_precision(const std::string& name) {
  for (Precision p : {Precision::fp32, Precision::tf32, Precision::bf16}) {
    if (name == precision_name(p)) return p;
  }
  throw std::invalid_argument("precision must be 'fp32', 'tf32' or 'bf16', got '" + name + "'");
}

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

std::string device_status() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    // Without libcuda the runtime says its driver is too old; say what is missing instead.
    if (driver_version() == 0) return "no NVIDIA driver found";
    return cudaGetErrorString(status);
  }
  return count > 0 ? "ok" : "no CUDA-capable device is detected";
}

std::string device_name(int device) {
  cudaDeviceProp properties;
  check(cudaGetDeviceProperties(&properties, device), "cudaGetDeviceProperties");
  return properties.name;
}

int compute_capability(int device) {
  return 10 * device_attribute(cudaDevAttrComputeCapabilityMajor, device) +
         device_attribute(cudaDevAttrComputeCapabilityMinor, device);
}

int multiprocessor_count() {
  static const int count = device_attribute(cudaDevAttrMultiProcessorCount, current_device());
  return count > 0 ? count : 1;
}

int runtime_version() {
  int version = 0;
  cudaRuntimeGetVersion(&version);
  return version;
}

int driver_version() {
  int version = 0;
  if (cudaDriverGetVersion(&version) != cudaSuccess) cudaGetLastError();
  return version;
}

void* allocate(int64_t bytes) {
  if (bytes <= 0) return nullptr;
  void* p = nullptr;
  const size_t size = static_cast<size_t>(bytes);
  const cudaError_t status = use_memory_pool() ? cudaMallocAsync(&p, size, kStream) : cudaMalloc(&p, size);
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw std::runtime_error("CUDA: cannot allocate " + std::to_string(bytes) + " bytes of device memory (" +
                             cudaGetErrorString(status) + ")");
  }
  return p;
}

void release(void* p) {
  if (p == nullptr) return;
  // Never throws: called from destructors. A failure here means the context is already broken.
  if ((use_memory_pool() ? cudaFreeAsync(p, kStream) : cudaFree(p)) != cudaSuccess) cudaGetLastError();
}

void copy_to_device(void* dst, const void* src, int64_t bytes) {
  if (bytes > 0) check(cudaMemcpyAsync(dst, src, size_t(bytes), cudaMemcpyHostToDevice, kStream), "copy to device");
}

void copy_to_host(void* dst, const void* src, int64_t bytes) {
  if (bytes <= 0) return;
  check(cudaMemcpyAsync(dst, src, size_t(bytes), cudaMemcpyDeviceToHost, kStream), "copy to host");
  check(cudaStreamSynchronize(kStream), "copy to host");
}

void copy_on_device(void* dst, const void* src, int64_t bytes) {
  if (bytes > 0) check(cudaMemcpyAsync(dst, src, size_t(bytes), cudaMemcpyDeviceToDevice, kStream), "device copy");
}

void synchronize() { check(cudaDeviceSynchronize(), "synchronize"); }

void wait_for(std::uintptr_t stream) {
  if (needs_event(stream)) order_after(foreign_stream(stream), kStream);
}

void signal_to(std::uintptr_t stream) {
  if (needs_event(stream)) order_after(kStream, foreign_stream(stream));
}

}  // namespace pycnn::cuda
