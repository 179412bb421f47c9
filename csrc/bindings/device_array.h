#pragma once
// pycnn._cuda.DeviceArray: a C-contiguous float32 array in GPU memory, that pycnn allocated or that another
// library (torch, CuPy, ...) lent through __cuda_array_interface__ or DLPack, and that it lends back the same two
// ways. Reshaping and views share the memory, which lives while any array, view or exported tensor uses it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <string>

#include "dlpack_abi.h"
#include "shape_checks.h"

namespace pycnn::bind {

namespace py = pybind11;
using checks::Shape;

int64_t element_count(const Shape& shape);

// GPU memory that arrays view: pycnn's own allocation, or another library's memory kept alive by a reference
// to its owner (a Python object, or a DLPack tensor to hand back).
class DeviceStorage {
 public:
  static std::shared_ptr<DeviceStorage> allocate(int64_t bytes);
  static std::shared_ptr<DeviceStorage> borrow(void* data, int64_t bytes, py::object owner);
  static std::shared_ptr<DeviceStorage> borrow(void* data, int64_t bytes, dlpack::DLManagedTensor* owner);
  DeviceStorage(const DeviceStorage&) = delete;
  DeviceStorage& operator=(const DeviceStorage&) = delete;
  ~DeviceStorage();

  void* data() const { return data_; }
  int64_t bytes() const { return bytes_; }

 private:
  DeviceStorage(void* data, int64_t bytes) : data_(data), bytes_(bytes) {}
  void* data_;
  int64_t bytes_;
  bool owned_ = false;
  py::object python_owner_;
  dlpack::DLManagedTensor* dlpack_owner_ = nullptr;
};

class DeviceArray {
 public:
  DeviceArray(std::shared_ptr<DeviceStorage> storage, Shape shape, int64_t offset = 0);
  static DeviceArray empty(const Shape& shape);

  const Shape& shape() const { return shape_; }
  int64_t size() const { return element_count(shape_); }
  float* data() const;

  // prod(shape) elements from element `offset` on, sharing the memory.
  DeviceArray view(const Shape& shape, int64_t offset) const;
  // The same elements in another shape; one dimension may be -1.
  DeviceArray reshape(Shape shape) const;
  DeviceArray copy() const;
  py::array_t<float> to_host() const;
  void copy_from_host(const py::array_t<float, py::array::c_style>& host) const;

  py::dict cuda_array_interface() const;
  py::object to_dlpack(const py::object& stream, const py::object& dl_device, const py::object& copy) const;
  py::tuple dlpack_device() const;
  std::string repr() const;

 private:
  std::shared_ptr<DeviceStorage> storage_;
  Shape shape_;
  int64_t offset_;
};

// A DeviceArray from a DeviceArray, from an object with __cuda_array_interface__ (torch, CuPy, Numba) or with
// __dlpack__ on a CUDA device; TypeError unless it is float32 and C-contiguous. `name` is for the messages.
DeviceArray as_device_array(const py::object& value, const std::string& name);

void bind_device_array(py::module_& m);

}  // namespace pycnn::bind
