#include "device_array.h"

#include <pybind11/stl.h>

#include <functional>
#include <numeric>
#include <utility>

#include "pycnn/cuda/ops.h"

namespace pycnn::bind {
namespace {

using checks::require;
using checks::shape_str;

#ifdef PYCNN_CUDA_EMULATOR
// The emulator's "device" memory is host memory: consumers must see it as such.
constexpr int32_t kDeviceType = dlpack::kDLCPU;
#else
constexpr int32_t kDeviceType = dlpack::kDLCUDA;
#endif

constexpr const char* kFloat32Hint = "pycnn's CUDA kernels take float32 arrays (torch: .float(), CuPy: .astype('float32'))";

Shape contiguous_strides(const Shape& shape, int64_t element_bytes) {
  Shape strides(shape.size());
  int64_t stride = element_bytes;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

// Strides (in units of `unit`) describe C-contiguous memory; dimensions of size 1 may have any stride.
bool is_contiguous(const Shape& shape, const Shape& strides, int64_t unit) {
  if (element_count(shape) == 0) return true;
  const Shape expected = contiguous_strides(shape, unit);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] != 1 && strides[i] != expected[i]) return false;
  }
  return true;
}

#ifndef PYCNN_CUDA_EMULATOR
DeviceArray from_cuda_array_interface(const py::object& value, const std::string& name) {
  const py::dict cai = value.attr("__cuda_array_interface__");
  const std::string typestr = py::str(cai["typestr"]);
  if (typestr != "<f4" && typestr != "|f4") {
    throw py::type_error(name + " is not float32 (typestr '" + typestr + "'): " + kFloat32Hint);
  }
  const Shape shape = cai["shape"].cast<Shape>();
  if (cai.contains("mask") && !cai["mask"].is_none()) throw py::type_error(name + " is a masked array");
  if (cai.contains("strides") && !cai["strides"].is_none() &&
      !is_contiguous(shape, cai["strides"].cast<Shape>(), sizeof(float))) {
    throw py::type_error(name + " of shape " + shape_str(shape) +
                         " is not C-contiguous (torch: .contiguous(), CuPy: cupy.ascontiguousarray)");
  }
  if (cai.contains("stream") && !cai["stream"].is_none()) cuda::wait_for(cai["stream"].cast<std::uintptr_t>());
  const auto address = cai["data"].cast<py::tuple>()[0].cast<std::uintptr_t>();
  auto storage = DeviceStorage::borrow(reinterpret_cast<void*>(address), element_count(shape) * 4, value);
  return DeviceArray(std::move(storage), shape);
}
#endif

DeviceArray from_dlpack(const py::object& value, const std::string& name) {
  const auto device = value.attr("__dlpack_device__")().cast<std::pair<int32_t, int32_t>>();
  if (device.first != dlpack::kDLCUDA && device.first != dlpack::kDLCUDAManaged) {
    throw py::type_error(name + " is not on a CUDA device (DLPack device type " + std::to_string(device.first) + ")");
  }
  const py::object capsule = value.attr("__dlpack__")(py::arg("stream") = 1);  // ready on the legacy stream
  auto* managed = static_cast<dlpack::DLManagedTensor*>(PyCapsule_GetPointer(capsule.ptr(), dlpack::kCapsuleName));
  if (managed == nullptr) throw py::error_already_set();
  const dlpack::DLTensor& t = managed->dl_tensor;
  const Shape shape(t.shape, t.shape + t.ndim);
  if (t.dtype.code != dlpack::kDLFloat || t.dtype.bits != 32 || t.dtype.lanes != 1) {
    throw py::type_error(name + " is not float32 (DLPack type code " + std::to_string(t.dtype.code) + ", " +
                         std::to_string(t.dtype.bits) + " bits): " + kFloat32Hint);
  }
  if (t.strides != nullptr && !is_contiguous(shape, Shape(t.strides, t.strides + t.ndim), 1)) {
    throw py::type_error(name + " of shape " + shape_str(shape) + " is not C-contiguous");
  }
  PyCapsule_SetName(capsule.ptr(), dlpack::kUsedCapsuleName);  // the tensor is ours to release now
  void* data = static_cast<char*>(t.data) + t.byte_offset;
  return DeviceArray(DeviceStorage::borrow(data, element_count(shape) * 4, managed), shape);
}

// What an exported DLPack tensor holds on to: its shape array, and the memory.
struct ExportedTensor {
  dlpack::DLManagedTensor managed;
  Shape shape;
  std::shared_ptr<DeviceStorage> storage;
};

void delete_exported(dlpack::DLManagedTensor* t) { delete static_cast<ExportedTensor*>(t->manager_ctx); }

// A capsule nobody consumed still owns its tensor.
void release_unconsumed_capsule(PyObject* capsule) {
  if (PyCapsule_IsValid(capsule, dlpack::kCapsuleName)) {
    auto* t = static_cast<dlpack::DLManagedTensor*>(PyCapsule_GetPointer(capsule, dlpack::kCapsuleName));
    t->deleter(t);
  }
}

}  // namespace

int64_t element_count(const Shape& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
}

std::shared_ptr<DeviceStorage> DeviceStorage::allocate(int64_t bytes) {
  std::shared_ptr<DeviceStorage> storage(new DeviceStorage(nullptr, bytes));
  storage->data_ = cuda::allocate(bytes);
  storage->owned_ = true;
  return storage;
}

std::shared_ptr<DeviceStorage> DeviceStorage::borrow(void* data, int64_t bytes, py::object owner) {
  std::shared_ptr<DeviceStorage> storage(new DeviceStorage(data, bytes));
  storage->python_owner_ = std::move(owner);
  return storage;
}

std::shared_ptr<DeviceStorage> DeviceStorage::borrow(void* data, int64_t bytes, dlpack::DLManagedTensor* owner) {
  std::shared_ptr<DeviceStorage> storage(new DeviceStorage(data, bytes));
  storage->dlpack_owner_ = owner;
  return storage;
}

DeviceStorage::~DeviceStorage() {
  if (owned_) cuda::release(data_);
  if (!python_owner_ && dlpack_owner_ == nullptr) return;
  if (!Py_IsInitialized()) {  // interpreter gone: nothing left to hand the memory back to
    python_owner_.release();
    return;
  }
  // A DLPack consumer may drop our exported tensor from any thread.
  py::gil_scoped_acquire gil;
  python_owner_ = py::object();
  if (dlpack_owner_ != nullptr && dlpack_owner_->deleter != nullptr) dlpack_owner_->deleter(dlpack_owner_);
}

DeviceArray::DeviceArray(std::shared_ptr<DeviceStorage> storage, Shape shape, int64_t offset)
    : storage_(std::move(storage)), shape_(std::move(shape)), offset_(offset) {}

DeviceArray DeviceArray::empty(const Shape& shape) {
  for (int64_t d : shape) require(d >= 0, [&] { return "negative dimension in shape " + shape_str(shape); });
  return DeviceArray(DeviceStorage::allocate(element_count(shape) * int64_t(sizeof(float))), shape);
}

float* DeviceArray::data() const { return static_cast<float*>(storage_->data()) + offset_; }

DeviceArray DeviceArray::view(const Shape& shape, int64_t offset) const {
  for (int64_t d : shape) require(d >= 0, [&] { return "negative dimension in shape " + shape_str(shape); });
  require(offset >= 0 && offset + element_count(shape) <= size(), [&] {
    return "a view of shape " + shape_str(shape) + " at offset " + std::to_string(offset) +
           " does not fit an array of shape " + shape_str(shape_);
  });
  return DeviceArray(storage_, shape, offset_ + offset);
}

DeviceArray DeviceArray::reshape(Shape shape) const {
  int64_t known = 1, inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      require(inferred < 0, [&] { return "only one dimension can be -1 in " + shape_str(shape); });
      inferred = int64_t(i);
    } else {
      require(shape[i] >= 0, [&] { return "negative dimension in shape " + shape_str(shape); });
      known *= shape[i];
    }
  }
  if (inferred >= 0) {
    require(known > 0 && size() % known == 0, [&] {
      return "cannot reshape an array of shape " + shape_str(shape_) + " into " + shape_str(shape);
    });
    shape[size_t(inferred)] = size() / known;
  }
  require(element_count(shape) == size(), [&] {
    return "cannot reshape an array of shape " + shape_str(shape_) + " into " + shape_str(shape);
  });
  return DeviceArray(storage_, shape, offset_);
}

DeviceArray DeviceArray::copy() const {
  DeviceArray result = empty(shape_);
  cuda::copy_on_device(result.data(), data(), size() * int64_t(sizeof(float)));
  return result;
}

py::array_t<float> DeviceArray::to_host() const {
  py::array_t<float> host(shape_);
  float* dst = host.mutable_data();
  {
    py::gil_scoped_release release;
    cuda::copy_to_host(dst, data(), size() * int64_t(sizeof(float)));
  }
  return host;
}

void DeviceArray::copy_from_host(const py::array_t<float, py::array::c_style>& host) const {
  const Shape shape(host.shape(), host.shape() + host.ndim());
  require(shape == shape_, [&] {
    return "cannot copy an array of shape " + shape_str(shape) + " into one of shape " + shape_str(shape_);
  });
  const float* src = host.data();
  py::gil_scoped_release release;
  cuda::copy_to_device(data(), src, size() * int64_t(sizeof(float)));
}

py::dict DeviceArray::cuda_array_interface() const {
#ifdef PYCNN_CUDA_EMULATOR
  throw py::attribute_error("__cuda_array_interface__: the CPU emulator's arrays live in host memory");
#else
  py::dict cai;
  cai["shape"] = py::tuple(py::cast(shape_));
  cai["typestr"] = "<f4";
  cai["data"] = py::make_tuple(reinterpret_cast<std::uintptr_t>(data()), false);
  cai["strides"] = py::none();
  cai["version"] = 3;
  cai["stream"] = 1;  // pycnn's kernels run on the legacy default stream
  return cai;
#endif
}

py::object DeviceArray::to_dlpack(const py::object& stream, const py::object& dl_device, const py::object& copy) const {
  if (!dl_device.is_none() &&
      dl_device.cast<std::pair<int32_t, int32_t>>() != std::pair<int32_t, int32_t>(kDeviceType, 0)) {
    throw py::buffer_error("__dlpack__: a pycnn DeviceArray cannot be exported to another device");
  }
  if (!stream.is_none()) {
    const auto consumer = stream.cast<int64_t>();
    if (consumer == 0) throw py::value_error("__dlpack__: stream 0 is ambiguous; pass 1 for the legacy default stream");
    if (consumer > 0) cuda::signal_to(std::uintptr_t(consumer));
  }
  const DeviceArray source = !copy.is_none() && copy.cast<bool>() ? this->copy() : *this;
  auto* exported = new ExportedTensor{{}, source.shape_, source.storage_};
  dlpack::DLTensor& t = exported->managed.dl_tensor;
  t.data = source.data();
  t.device = {kDeviceType, 0};
  t.ndim = int32_t(exported->shape.size());
  t.dtype = {dlpack::kDLFloat, 32, 1};
  t.shape = exported->shape.data();
  t.strides = nullptr;
  t.byte_offset = 0;
  exported->managed.manager_ctx = exported;
  exported->managed.deleter = delete_exported;
  PyObject* capsule = PyCapsule_New(&exported->managed, dlpack::kCapsuleName, release_unconsumed_capsule);
  if (capsule == nullptr) {
    delete exported;
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(capsule);
}

py::tuple DeviceArray::dlpack_device() const { return py::make_tuple(kDeviceType, 0); }

std::string DeviceArray::repr() const {
  std::string shape = shape_str(shape_);
  return "DeviceArray(shape=" + shape + ", dtype=float32, device='cuda:0')";
}

// DLPack first: its producers order their stream before the consumer's (torch's __cuda_array_interface__ names no
// stream at all).
DeviceArray as_device_array(const py::object& value, const std::string& name) {
  if (py::isinstance<DeviceArray>(value)) return value.cast<DeviceArray>();
  if (py::hasattr(value, "__dlpack__") && py::hasattr(value, "__dlpack_device__")) return from_dlpack(value, name);
#ifndef PYCNN_CUDA_EMULATOR
  if (py::hasattr(value, "__cuda_array_interface__")) return from_cuda_array_interface(value, name);
#endif
  throw py::type_error(name + " is not a CUDA array: pycnn's CUDA functions take DeviceArrays, or objects with "
                              "__cuda_array_interface__ or __dlpack__ (torch CUDA tensors, CuPy arrays)");
}

void bind_device_array(py::module_& m) {
  py::class_<DeviceArray>(m, "DeviceArray",
                          "A C-contiguous float32 array in GPU memory. torch.from_dlpack(a), cupy.asarray(a) and "
                          "numba.cuda.as_cuda_array(a) view it without a copy; a.numpy() copies it to the host.")
      .def_property_readonly("shape", [](const DeviceArray& a) { return py::tuple(py::cast(a.shape())); })
      .def_property_readonly("ndim", [](const DeviceArray& a) { return a.shape().size(); })
      .def_property_readonly("size", &DeviceArray::size)
      .def_property_readonly("nbytes", [](const DeviceArray& a) { return a.size() * int64_t(sizeof(float)); })
      .def_property_readonly("dtype", [](const DeviceArray&) { return py::dtype::of<float>(); })
      .def_property_readonly("device", [](const DeviceArray&) { return "cuda:0"; })
      .def(
          "reshape",
          [](const DeviceArray& a, const py::args& shape) {
            const bool one_sequence = shape.size() == 1 && !py::isinstance<py::int_>(shape[0]);
            return a.reshape(one_sequence ? shape[0].cast<Shape>() : shape.cast<Shape>());
          },
          "The same elements in another shape, given as ints or one sequence; one dimension may be -1.")
      .def("view", &DeviceArray::view, py::arg("shape"), py::arg("offset") = 0,
           "prod(shape) elements from element `offset` on, sharing the memory.")
      .def("copy", &DeviceArray::copy)
      .def("numpy", &DeviceArray::to_host, "A new host array with this array's contents.")
      .def("copy_from_host", &DeviceArray::copy_from_host, py::arg("array"),
           "Overwrites this array with a host array of the same shape.")
      .def_property_readonly("__cuda_array_interface__", &DeviceArray::cuda_array_interface)
      .def(
          "__dlpack__",
          [](const DeviceArray& a, const py::object& stream, const py::object& /*max_version: unversioned only*/,
             const py::object& dl_device, const py::object& copy) { return a.to_dlpack(stream, dl_device, copy); },
          py::kw_only(), py::arg("stream") = py::none(), py::arg("max_version") = py::none(),
          py::arg("dl_device") = py::none(), py::arg("copy") = py::none())
      .def("__dlpack_device__", &DeviceArray::dlpack_device)
      .def("__repr__", &DeviceArray::repr);
}

}  // namespace pycnn::bind
