// pycnn._cuda: the CUDA kernels on DeviceArrays, with _core's names and argument order. The checks here keep a
// direct caller from ever launching a kernel on inconsistent shapes; conversions and user-facing messages live
// in pycnn.cuda and pycnn.functional.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "device_array.h"
#include "pycnn/cuda/ops.h"
#include "shape_checks.h"

namespace py = pybind11;

namespace pycnn::bind {
namespace {

using checks::conv_params;
using checks::Pair;
using checks::pool_params;
using checks::Quad;
using checks::require;
using checks::shape_str;
using cuda::Precision;
using HostArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

float* checked_ptr(const DeviceArray& a, const char* name, const Shape& expected) {
  require(a.shape() == expected, [&] {
    return std::string(name) + " has shape " + shape_str(a.shape()) + ", expected " + shape_str(expected);
  });
  return a.data();
}

const float* optional_ptr(const std::optional<DeviceArray>& a, const char* name, const Shape& expected) {
  return a ? checked_ptr(*a, name, expected) : nullptr;
}

Shape dims(const DeviceArray& a, const char* name, int ndim) {
  require(a.shape().size() == size_t(ndim), [&] {
    return std::string(name) + " must have " + std::to_string(ndim) + " dimensions, got shape " + shape_str(a.shape());
  });
  return a.shape();
}

Shape host_shape(const HostArray& a) { return Shape(a.shape(), a.shape() + a.ndim()); }

// bfloat16 bits of each float, rounded to nearest even (NaN kept a NaN).
std::vector<uint16_t> to_bfloat16(const float* values, int64_t count) {
  std::vector<uint16_t> bits(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    uint32_t u;
    std::memcpy(&u, &values[i], sizeof u);
    bits[size_t(i)] = (u & 0x7fffffffu) > 0x7f800000u ? uint16_t((u >> 16) | 0x40u)
                                                       : uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  }
  return bits;
}

// Weights uploaded once, for one precision: float32 as given, or bfloat16 for precision 'bf16'.
class DeviceWeights {
 public:
  DeviceWeights(const HostArray& w, Precision precision) : precision_(precision) {
    const int64_t count = w.size();
    if (precision == Precision::bf16) {
      const std::vector<uint16_t> bits = to_bfloat16(w.data(), count);
      storage_ = DeviceStorage::allocate(count * 2);
      cuda::copy_to_device(storage_->data(), bits.data(), count * 2);
    } else {
      storage_ = DeviceStorage::allocate(count * 4);
      cuda::copy_to_device(storage_->data(), w.data(), count * 4);
    }
  }
  Precision precision() const { return precision_; }
  const void* data() const { return storage_->data(); }
  bool bf16() const { return precision_ == Precision::bf16; }

 private:
  Precision precision_;
  std::shared_ptr<DeviceStorage> storage_;
};

struct ConvWeightsView {
  const void* data;
  bool bf16;
  Precision precision;
};

void run_conv2d(const DeviceArray& x, const Shape& ws, ConvWeightsView w, const std::optional<DeviceArray>& bias,
                const DeviceArray& out, Pair stride, Quad padding, Pair dilation, int64_t groups, bool relu,
                const std::optional<DeviceArray>& residual) {
  const Conv2dParams p = conv_params(dims(x, "input", 4), ws, groups, stride, padding, dilation);
  const Shape ys{p.batch, p.out_channels, p.out_h, p.out_w};
  cuda::ConvOperands ops;
  ops.x = checked_ptr(x, "input", x.shape());
  ops.w = w.data;
  ops.weights_bf16 = w.bf16;
  ops.bias = optional_ptr(bias, "bias", {p.out_channels});
  ops.residual = optional_ptr(residual, "residual", ys);
  ops.relu = relu;
  ops.y = checked_ptr(out, "out", ys);
  require(out.size() == 0 || (ops.residual != ops.y && ops.x != ops.y),
          "input and residual must not be the output array");
  py::gil_scoped_release release;
  cuda::conv2d(p, w.precision, ops);
}

void conv2d(const DeviceArray& x, const DeviceArray& w, const std::optional<DeviceArray>& bias, const DeviceArray& out,
            Pair stride, Quad padding, Pair dilation, int64_t groups, const std::string& precision, bool relu,
            const std::optional<DeviceArray>& residual) {
  const ConvWeightsView view{w.data(), false, cuda::parse_precision(precision)};
  run_conv2d(x, dims(w, "weight", 4), view, bias, out, stride, padding, dilation, groups, relu, residual);
}

// Convolution weights uploaded once, in the precision the convolution will multiply in.
struct PackedConv2d {
  PackedConv2d(const HostArray& w, int64_t groups, const std::string& precision)
      : shape(host_shape(w)), groups(groups), weights(w, cuda::parse_precision(precision)) {
    require(shape.size() == 4, [&] { return "weight must have 4 dimensions, got shape " + shape_str(shape); });
    require(groups > 0, "groups must be positive");
  }
  Shape shape;
  int64_t groups;
  DeviceWeights weights;
};

void conv2d_packed(const DeviceArray& x, const PackedConv2d& w, const std::optional<DeviceArray>& bias,
                   const DeviceArray& out, Pair stride, Quad padding, Pair dilation, bool relu,
                   const std::optional<DeviceArray>& residual) {
  const ConvWeightsView view{w.weights.data(), w.weights.bf16(), w.weights.precision()};
  run_conv2d(x, w.shape, view, bias, out, stride, padding, dilation, w.groups, relu, residual);
}

// A linear layer is a 1×1 convolution of `rows` images of 1×1 pixels.
void run_linear(const DeviceArray& x, const Shape& ws, ConvWeightsView w, const std::optional<DeviceArray>& bias,
                const DeviceArray& out, bool relu) {
  const Shape xs = dims(x, "input", 2);
  require(ws.size() == 2 && xs[1] == ws[1], [&] {
    return "input of shape " + shape_str(xs) + " does not fit weight of shape " + shape_str(ws);
  });
  Conv2dParams p{};
  p.batch = xs[0], p.in_channels = xs[1], p.in_h = 1, p.in_w = 1;
  p.out_channels = ws[0], p.out_h = 1, p.out_w = 1, p.groups = 1;
  p.window = {1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
  cuda::ConvOperands ops;
  ops.x = x.data();
  ops.w = w.data;
  ops.weights_bf16 = w.bf16;
  ops.bias = optional_ptr(bias, "bias", {ws[0]});
  ops.relu = relu;
  ops.y = checked_ptr(out, "out", {xs[0], ws[0]});
  require(out.size() == 0 || ops.x != ops.y, "input must not be the output array");
  py::gil_scoped_release release;
  cuda::conv2d(p, w.precision, ops);
}

void linear(const DeviceArray& x, const DeviceArray& w, const std::optional<DeviceArray>& bias, const DeviceArray& out,
            const std::string& precision, bool relu) {
  run_linear(x, dims(w, "weight", 2), {w.data(), false, cuda::parse_precision(precision)}, bias, out, relu);
}

struct PackedLinear {
  PackedLinear(const HostArray& w, const std::string& precision)
      : shape(host_shape(w)), weights(w, cuda::parse_precision(precision)) {
    require(shape.size() == 2, [&] { return "weight must have 2 dimensions, got shape " + shape_str(shape); });
  }
  Shape shape;
  DeviceWeights weights;
};

void linear_packed(const DeviceArray& x, const PackedLinear& w, const std::optional<DeviceArray>& bias,
                   const DeviceArray& out, bool relu) {
  run_linear(x, w.shape, {w.weights.data(), w.weights.bf16(), w.weights.precision()}, bias, out, relu);
}

void max_pool2d(const DeviceArray& x, const DeviceArray& out, Pair kernel, Pair stride, Quad padding, Pair dilation,
                bool ceil_mode) {
  const Pool2dParams p = pool_params(dims(x, "input", 4), kernel, stride, padding, dilation, ceil_mode);
  float* y = checked_ptr(out, "out", {p.batch, p.channels, p.out_h, p.out_w});
  py::gil_scoped_release release;
  cuda::max_pool2d(p, x.data(), y);
}

void avg_pool2d(const DeviceArray& x, const DeviceArray& out, Pair kernel, Pair stride, Quad padding, bool ceil_mode,
                bool count_include_pad, int64_t divisor_override) {
  require(divisor_override >= 0 && divisor_override < (int64_t{1} << 31), "divisor_override must be positive");
  const Pool2dParams p = pool_params(dims(x, "input", 4), kernel, stride, padding, {1, 1}, ceil_mode);
  float* y = checked_ptr(out, "out", {p.batch, p.channels, p.out_h, p.out_w});
  py::gil_scoped_release release;
  cuda::avg_pool2d(p, count_include_pad, divisor_override, x.data(), y);
}

void adaptive_avg_pool2d(const DeviceArray& x, const DeviceArray& out) {
  const Shape xs = dims(x, "input", 4), ys = dims(out, "out", 4);
  require(xs[0] == ys[0] && xs[1] == ys[1], "out does not match input's batch and channels");
  require((ys[2] > 0 && ys[3] > 0) || xs[0] * xs[1] == 0, "output size must be positive");
  require((xs[2] > 0 && xs[3] > 0) || xs[0] * xs[1] == 0, "input planes must not be empty");
  py::gil_scoped_release release;
  cuda::adaptive_avg_pool2d(xs[0] * xs[1], xs[2], xs[3], ys[2], ys[3], x.data(), out.data());
}

void relu(const DeviceArray& x, const DeviceArray& out) {
  float* y = checked_ptr(out, "out", x.shape());
  py::gil_scoped_release release;
  cuda::relu(x.size(), x.data(), y);
}

void add(const DeviceArray& a, const DeviceArray& b, const DeviceArray& out) {
  const float* bp = checked_ptr(b, "b", a.shape());
  float* y = checked_ptr(out, "out", a.shape());
  py::gil_scoped_release release;
  cuda::add(a.size(), a.data(), bp, y);
}

// x viewed as (batch, channels, inner).
void channel_affine(const DeviceArray& x, const DeviceArray& scale, const DeviceArray& shift, const DeviceArray& out) {
  const Shape xs = dims(x, "input", 3);
  const float* sp = checked_ptr(scale, "scale", {xs[1]});
  const float* tp = checked_ptr(shift, "shift", {xs[1]});
  float* y = checked_ptr(out, "out", xs);
  py::gil_scoped_release release;
  cuda::channel_affine(xs[0], xs[1], xs[2], x.data(), sp, tp, y);
}

void local_response_norm(const DeviceArray& x, const DeviceArray& out, int64_t size, double alpha, double beta,
                         double k) {
  require(size > 0, "size must be positive");
  const Shape xs = dims(x, "input", 3);
  float* y = checked_ptr(out, "out", xs);
  py::gil_scoped_release release;
  cuda::local_response_norm(xs[0], xs[1], xs[2], size, alpha, beta, k, x.data(), y);
}

// x viewed as (outer, dim, inner).
void softmax(const DeviceArray& x, const DeviceArray& out) {
  const Shape xs = dims(x, "input", 3);
  float* y = checked_ptr(out, "out", xs);
  py::gil_scoped_release release;
  cuda::softmax(xs[0], xs[1], xs[2], x.data(), y);
}

// Inputs viewed as (outer, channels_i, inner), concatenated along the middle axis into out.
void concat(const std::vector<DeviceArray>& inputs, const DeviceArray& out) {
  const Shape ys = dims(out, "out", 3);
  int64_t channels = 0;
  for (const DeviceArray& x : inputs) {
    const Shape xs = dims(x, "inputs[i]", 3);
    require(xs[0] == ys[0] && xs[2] == ys[2], [&] {
      return "input of shape " + shape_str(xs) + " does not fit out of shape " + shape_str(ys) +
             " outside the concatenated axis";
    });
    require(x.data() != out.data() || x.size() == 0, "inputs must not be the output array");
    channels += xs[1];
  }
  require(channels == ys[1], [&] {
    return "the inputs have " + std::to_string(channels) + " channels in all, out has " + std::to_string(ys[1]);
  });
  py::gil_scoped_release release;
  int64_t offset = 0;
  for (const DeviceArray& x : inputs) {
    const int64_t row = x.shape()[1] * ys[2];
    cuda::copy_rows(ys[0], row, x.data(), ys[1] * ys[2], out.data() + offset);
    offset += row;
  }
}

DeviceArray to_device(const HostArray& host) {
  const DeviceArray a = DeviceArray::empty(host_shape(host));
  a.copy_from_host(host);
  return a;
}

}  // namespace
}  // namespace pycnn::bind

PYBIND11_MODULE(_cuda, m) {
  using namespace pycnn;
  using namespace pycnn::bind;
  m.doc() = "pycnn's CUDA kernels. Use pycnn.cuda and pycnn.functional: they validate and convert arguments.";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  m.attr("__version__") = PYCNN_VERSION;
#ifdef PYCNN_CUDA_EMULATOR
  m.attr("emulated") = true;
#else
  m.attr("emulated") = false;
#endif
  m.def("build_info", [] {
    py::dict info;
    info["compiler"] = PYCNN_CUDA_COMPILER;
    info["architectures"] = PYCNN_CUDA_ARCHITECTURES;
    info["runtime"] = cuda::runtime_version();
    return info;
  }, "How the kernels were built: CUDA compiler, architectures (CMAKE_CUDA_ARCHITECTURES), runtime version.");
  m.def("device_count", &cuda::device_count, "Usable CUDA devices; 0, never an error, without a driver or device.");
  m.def("device_status", &cuda::device_status, "Why device_count() is 0, or 'ok'.");
  m.def("device_name", &cuda::device_name, py::arg("device") = 0);
  m.def("compute_capability", &cuda::compute_capability, py::arg("device") = 0, "90 for sm_90.");
  m.def("driver_version", &cuda::driver_version, "The driver's CUDA version (13000 for 13.0); 0 without a driver.");
  m.def("synchronize", [] {
    py::gil_scoped_release release;
    cuda::synchronize();
  }, "Waits for every kernel queued so far.");

  bind_device_array(m);
  m.def("empty", &DeviceArray::empty, py::arg("shape"), "An uninitialised float32 DeviceArray.");
  m.def("to_device", &to_device, py::arg("array"), "A DeviceArray holding a copy of a host array (as float32).");
  m.def("as_device_array", &as_device_array, py::arg("value"), py::arg("name") = "array",
        "A DeviceArray viewing a DeviceArray, or an object with __cuda_array_interface__ or __dlpack__.");

  py::class_<PackedConv2d>(m, "PackedConv2d", "Convolution weights uploaded once, in one precision.")
      .def(py::init<const HostArray&, int64_t, const std::string&>(), py::arg("weight"), py::arg("groups"),
           py::arg("precision") = "fp32")
      .def_property_readonly("shape", [](const PackedConv2d& w) { return w.shape; })
      .def_property_readonly("groups", [](const PackedConv2d& w) { return w.groups; })
      .def_property_readonly("precision", [](const PackedConv2d& w) {
        return std::string(cuda::precision_name(w.weights.precision()));
      });
  py::class_<PackedLinear>(m, "PackedLinear", "Linear weights uploaded once, in one precision.")
      .def(py::init<const HostArray&, const std::string&>(), py::arg("weight"), py::arg("precision") = "fp32")
      .def_property_readonly("shape", [](const PackedLinear& w) { return w.shape; })
      .def_property_readonly("precision", [](const PackedLinear& w) {
        return std::string(cuda::precision_name(w.weights.precision()));
      });

  m.def("conv2d", &conv2d, py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("out"), py::arg("stride"),
        py::arg("padding"), py::arg("dilation"), py::arg("groups"), py::arg("precision"), py::arg("relu") = false,
        py::arg("residual") = py::none());
  m.def("conv2d_packed", &conv2d_packed, py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("out"),
        py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("relu") = false,
        py::arg("residual") = py::none());
  m.def("linear", &linear, py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("out"),
        py::arg("precision"), py::arg("relu") = false);
  m.def("linear_packed", &linear_packed, py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("out"),
        py::arg("relu") = false);
  m.def("max_pool2d", &max_pool2d, py::arg("input"), py::arg("out"), py::arg("kernel"), py::arg("stride"),
        py::arg("padding"), py::arg("dilation"), py::arg("ceil_mode"));
  m.def("avg_pool2d", &avg_pool2d, py::arg("input"), py::arg("out"), py::arg("kernel"), py::arg("stride"),
        py::arg("padding"), py::arg("ceil_mode"), py::arg("count_include_pad"), py::arg("divisor_override"));
  m.def("adaptive_avg_pool2d", &adaptive_avg_pool2d, py::arg("input"), py::arg("out"));
  m.def("relu", &relu, py::arg("input"), py::arg("out"));
  m.def("add", &add, py::arg("a"), py::arg("b"), py::arg("out"));
  m.def("channel_affine", &channel_affine, py::arg("input"), py::arg("scale"), py::arg("shift"), py::arg("out"));
  m.def("local_response_norm", &local_response_norm, py::arg("input"), py::arg("out"), py::arg("size"),
        py::arg("alpha"), py::arg("beta"), py::arg("k"));
  m.def("softmax", &softmax, py::arg("input"), py::arg("out"));
  m.def("concat", &concat, py::arg("inputs"), py::arg("out"));
}
