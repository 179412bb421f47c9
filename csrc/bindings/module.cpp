// pycnn._core: checks what Python hands over (dtype, layout, shapes), takes the raw pointers, then runs the
// operator with the GIL released. Argument normalisation and user-facing messages live in pycnn.functional;
// the checks here keep a direct caller of _core from ever reaching a kernel with inconsistent shapes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "pycnn/cpu_caches.h"
#include "pycnn/dispatch.h"
#include "pycnn/ops.h"
#include "pycnn/threadpool.h"
#include "shape_checks.h"

namespace py = pybind11;

namespace pycnn {
namespace {

using checks::conv_params;
using checks::make_window;
using checks::Pair;
using checks::pool_params;
using checks::Quad;
using checks::require;
using checks::Shape;
using checks::shape_str;

Shape shape_of(const py::array& a) { return Shape(a.shape(), a.shape() + a.ndim()); }

void check_float32(const py::array& a, const char* name) {
  // Equivalence, not identity: an unpickled array's dtype is an equal but distinct object.
  if (!py::isinstance<py::array_t<float>>(a)) throw py::type_error(std::string(name) + " must be float32");
  if (!(a.flags() & py::array::c_style)) throw py::type_error(std::string(name) + " must be C-contiguous");
}

const float* in_ptr(const py::array& a, const char* name, const Shape& expected) {
  check_float32(a, name);
  require(shape_of(a) == expected, [&] {
    return std::string(name) + " has shape " + shape_str(shape_of(a)) + ", expected " + shape_str(expected);
  });
  return static_cast<const float*>(a.data());
}

const float* optional_ptr(const std::optional<py::array>& a, const char* name, const Shape& expected) {
  return a ? in_ptr(*a, name, expected) : nullptr;
}

float* out_ptr(py::array& a, const char* name, const Shape& expected) {
  in_ptr(a, name, expected);
  if (!a.writeable()) throw py::value_error(std::string(name) + " is read-only");
  return static_cast<float*>(a.mutable_data());
}

Shape dims(const py::array& a, const char* name, int ndim) {
  require(a.ndim() == ndim, [&] {
    return std::string(name) + " must have " + std::to_string(ndim) + " dimensions, got shape " +
           shape_str(shape_of(a));
  });
  return shape_of(a);
}

// Runs a kernel with the GIL released. An allocation that fails inside it (packing buffers, per-image work
// lists) becomes a MemoryError that names the operation and its input.
template <class Kernel>
void without_gil(const char* op, const Shape& input, Kernel&& kernel) {
  try {
    py::gil_scoped_release release;
    kernel();
  } catch (const std::bad_alloc&) {  // the GIL is back: `release` was destroyed while unwinding
    const std::string message = std::string(op) + ": out of memory for input of shape " + shape_str(input);
    PyErr_SetString(PyExc_MemoryError, message.c_str());
    throw py::error_already_set();
  }
}

namespace bind {

ConvAlgorithm parse_conv_algorithm(const std::string& name) {
  for (ConvAlgorithm a : {ConvAlgorithm::gemm, ConvAlgorithm::gemm_transposed, ConvAlgorithm::winograd,
                          ConvAlgorithm::direct}) {
    if (name == conv_algorithm_name(a)) return a;
  }
  throw py::value_error("algorithm must be 'gemm', 'gemm_transposed', 'winograd' or 'direct', got '" + name + "'");
}

Precision precision_arg(const std::string& name) { return parse_precision(name.c_str()); }

// Convolution weights prepared once, for one algorithm and precision, in the layout of the ISA in use when packing.
struct PackedConv2d {
  PackedConv2d(const py::array& w, int64_t groups, const std::string& algorithm, const std::string& precision)
      : shape(dims(w, "weight", 4)), groups(groups) {
    const Shape xs{1, shape[1] * groups, shape[2], shape[3]};
    const Conv2dParams p = conv_params(xs, shape, groups, {1, 1}, {0, 0, 0, 0}, {1, 1});
    const ConvAlgorithm a = parse_conv_algorithm(algorithm);
    const Precision pr = precision_arg(precision);
    require(a != ConvAlgorithm::winograd || winograd_supports(p), [&] {
      return "algorithm='winograd' needs 3x3 weights and groups=1, got weight of shape " + shape_str(shape) +
             " with groups=" + std::to_string(groups);
    });
    require(pr == Precision::fp32 || a == ConvAlgorithm::gemm || a == ConvAlgorithm::gemm_transposed, [&] {
      return "precision='bf16' takes algorithm='gemm' or 'gemm_transposed', got '" + algorithm + "'";
    });
    const float* wp = in_ptr(w, "weight", shape);
    without_gil("PackedConv2d", shape, [&] {
      weights = std::make_unique<ConvWeights>(ConvWeights::packed(wp, p, kernels(), a, pr));
    });
  }
  Shape shape;
  int64_t groups;
  std::unique_ptr<ConvWeights> weights;
};

void run_conv2d(const py::array& x, const Shape& ws, const ConvWeights* packed, const py::array* w,
                const std::optional<py::array>& bias, py::array& out, Pair stride, Quad padding, Pair dilation,
                int64_t groups, bool relu, const std::optional<py::array>& residual,
                Precision precision = Precision::fp32) {
  const Shape xs = dims(x, "input", 4);
  const Conv2dParams p = conv_params(xs, ws, groups, stride, padding, dilation);
  const Shape ys{p.batch, p.out_channels, p.out_h, p.out_w};
  const float* xp = in_ptr(x, "input", xs);
  const float* wp = w ? in_ptr(*w, "weight", ws) : nullptr;
  Conv2dEpilogue ep;
  ep.bias = optional_ptr(bias, "bias", {p.out_channels});
  ep.residual = optional_ptr(residual, "residual", ys);
  ep.relu = relu;
  float* yp = out_ptr(out, "out", ys);
  require(ep.residual != yp, "residual must not be the output array");
  without_gil("conv2d", xs, [&] {
    if (packed) {
      pycnn::conv2d(p, xp, *packed, ep, yp);
    } else if (const ConvAlgorithm a = choose_conv_algorithm(p, kernels(), precision);
               a == ConvAlgorithm::direct || a == ConvAlgorithm::gemm_transposed || precision != Precision::fp32) {
      // Packing the filters NR channels wide costs what a GEMM spends packing them as A; Winograd's transform
      // does not pay for a single call, so one-off calls take GEMM there.
      pycnn::conv2d(p, xp, ConvWeights::packed(wp, p, kernels(), a, precision), ep, yp);
    } else {
      pycnn::conv2d(p, xp, ConvWeights(wp, p, kernels()), ep, yp);
    }
  });
}

void conv2d(const py::array& x, const py::array& w, const std::optional<py::array>& bias, py::array& out,
            Pair stride, Quad padding, Pair dilation, int64_t groups, bool relu,
            const std::optional<py::array>& residual, const std::string& precision) {
  run_conv2d(x, dims(w, "weight", 4), nullptr, &w, bias, out, stride, padding, dilation, groups, relu, residual,
             precision_arg(precision));
}

std::string conv_algorithm(const Shape& xs, const Shape& ws, Pair stride, Quad padding, Pair dilation,
                           int64_t groups, const std::string& precision) {
  require(xs.size() == 4 && ws.size() == 4, "input_shape and weight_shape must have 4 dimensions");
  return conv_algorithm_name(choose_conv_algorithm(conv_params(xs, ws, groups, stride, padding, dilation), kernels(),
                                                   precision_arg(precision)));
}

void conv2d_packed(const py::array& x, const PackedConv2d& w, const std::optional<py::array>& bias,
                   py::array& out, Pair stride, Quad padding, Pair dilation, bool relu,
                   const std::optional<py::array>& residual) {
  run_conv2d(x, w.shape, w.weights.get(), nullptr, bias, out, stride, padding, dilation, w.groups, relu, residual);
}

// Linear weights (out × in) packed once, in one precision.
struct PackedLinear {
  PackedLinear(const py::array& w, const std::string& precision) : shape(dims(w, "weight", 2)) {
    const Precision pr = precision_arg(precision);
    const float* wp = in_ptr(w, "weight", shape);
    without_gil("PackedLinear", shape, [&] {
      weights = std::make_unique<LinearWeights>(LinearWeights::packed(wp, shape[0], shape[1], kernels(), pr));
    });
  }
  Shape shape;
  std::unique_ptr<LinearWeights> weights;
};

void run_linear(const py::array& x, const Shape& ws, const LinearWeights* packed, const py::array* w,
                const std::optional<py::array>& bias, py::array& out, bool relu,
                Precision precision = Precision::fp32) {
  const Shape xs = dims(x, "input", 2);
  require(xs[1] == ws[1], [&] {
    return "input of shape " + shape_str(xs) + " does not fit weight of shape " + shape_str(ws);
  });
  const float* xp = in_ptr(x, "input", xs);
  const float* wp = w ? in_ptr(*w, "weight", ws) : nullptr;
  const float* bp = optional_ptr(bias, "bias", {ws[0]});
  float* yp = out_ptr(out, "out", {xs[0], ws[0]});
  without_gil("linear", xs, [&] {
    if (packed) {
      pycnn::linear(xs[0], xp, *packed, bp, relu, yp);
    } else if (precision != Precision::fp32) {
      pycnn::linear(xs[0], xp, LinearWeights::packed(wp, ws[0], ws[1], kernels(), precision), bp, relu, yp);
    } else {
      pycnn::linear(xs[0], xp, LinearWeights(wp, ws[0], ws[1], kernels()), bp, relu, yp);
    }
  });
}

void linear(const py::array& x, const py::array& w, const std::optional<py::array>& bias, py::array& out,
            bool relu, const std::string& precision) {
  run_linear(x, dims(w, "weight", 2), nullptr, &w, bias, out, relu, precision_arg(precision));
}

void linear_packed(const py::array& x, const PackedLinear& w, const std::optional<py::array>& bias,
                   py::array& out, bool relu) {
  run_linear(x, w.shape, w.weights.get(), nullptr, bias, out, relu);
}

void max_pool2d(const py::array& x, py::array& out, Pair kernel, Pair stride, Quad padding, Pair dilation,
                bool ceil_mode) {
  const Pool2dParams p = pool_params(dims(x, "input", 4), kernel, stride, padding, dilation, ceil_mode);
  const float* xp = in_ptr(x, "input", {p.batch, p.channels, p.in_h, p.in_w});
  float* yp = out_ptr(out, "out", {p.batch, p.channels, p.out_h, p.out_w});
  without_gil("max_pool2d", shape_of(x), [&] { pycnn::max_pool2d(p, xp, yp); });
}

void avg_pool2d(const py::array& x, py::array& out, Pair kernel, Pair stride, Quad padding, bool ceil_mode,
                bool count_include_pad, int64_t divisor_override) {
  require(divisor_override >= 0, "divisor_override must be positive");
  const Pool2dParams p = pool_params(dims(x, "input", 4), kernel, stride, padding, {1, 1}, ceil_mode);
  const float* xp = in_ptr(x, "input", {p.batch, p.channels, p.in_h, p.in_w});
  float* yp = out_ptr(out, "out", {p.batch, p.channels, p.out_h, p.out_w});
  without_gil("avg_pool2d", shape_of(x), [&] { pycnn::avg_pool2d(p, count_include_pad, divisor_override, xp, yp); });
}

void adaptive_avg_pool2d(const py::array& x, py::array& out) {
  const Shape xs = dims(x, "input", 4), ys = dims(out, "out", 4);
  require(xs[0] == ys[0] && xs[1] == ys[1], "out does not match input's batch and channels");
  require((ys[2] > 0 && ys[3] > 0) || xs[0] * xs[1] == 0, "output size must be positive");
  require((xs[2] > 0 && xs[3] > 0) || xs[0] * xs[1] == 0, "input planes must not be empty");
  const float* xp = in_ptr(x, "input", xs);
  float* yp = out_ptr(out, "out", ys);
  without_gil("adaptive_avg_pool2d", xs,
              [&] { pycnn::adaptive_avg_pool2d(xs[0] * xs[1], xs[2], xs[3], ys[2], ys[3], xp, yp); });
}

void relu(const py::array& x, py::array& out) {
  const float* xp = in_ptr(x, "input", shape_of(x));
  float* yp = out_ptr(out, "out", shape_of(x));
  without_gil("relu", shape_of(x), [&] { pycnn::relu(static_cast<int64_t>(x.size()), xp, yp); });
}

bool all_within(const py::array& x, float limit) {
  require(limit > 0.0f && limit <= std::numeric_limits<float>::max(),
          [&] { return "limit must be positive and finite, got " + std::to_string(limit); });
  const float* xp = in_ptr(x, "input", shape_of(x));
  bool within = true;
  without_gil("all_within", shape_of(x),
              [&] { within = pycnn::all_within(static_cast<int64_t>(x.size()), xp, limit); });
  return within;
}

// x viewed as (batch, channels, inner).
void channel_affine(const py::array& x, const py::array& scale, const py::array& shift, py::array& out) {
  const Shape xs = dims(x, "input", 3);
  const float* xp = in_ptr(x, "input", xs);
  const float* sp = in_ptr(scale, "scale", {xs[1]});
  const float* tp = in_ptr(shift, "shift", {xs[1]});
  float* yp = out_ptr(out, "out", xs);
  without_gil("channel_affine", xs, [&] { pycnn::channel_affine(xs[0], xs[1], xs[2], xp, sp, tp, yp); });
}

void local_response_norm(const py::array& x, py::array& out, int64_t size, double alpha, double beta, double k) {
  require(size > 0, "size must be positive");
  const Shape xs = dims(x, "input", 3);
  const float* xp = in_ptr(x, "input", xs);
  float* yp = out_ptr(out, "out", xs);
  without_gil("local_response_norm", xs,
              [&] { pycnn::local_response_norm(xs[0], xs[1], xs[2], size, alpha, beta, k, xp, yp); });
}

// x viewed as (outer, dim, inner).
void softmax(const py::array& x, py::array& out) {
  const Shape xs = dims(x, "input", 3);
  const float* xp = in_ptr(x, "input", xs);
  float* yp = out_ptr(out, "out", xs);
  without_gil("softmax", xs, [&] { pycnn::softmax(xs[0], xs[1], xs[2], xp, yp); });
}

void gemm(const py::array& a, const py::array& b, py::array& out, const std::string& isa,
          const std::string& precision) {
  const Precision pr = precision_arg(precision);
  const Shape as = dims(a, "a", 2), bs = dims(b, "b", 2);
  require(as[1] == bs[0], [&] { return "a of shape " + shape_str(as) + " does not fit b of shape " + shape_str(bs); });
  const KernelTable& table = isa.empty() ? kernels() : kernels_for(parse_isa(isa));
  const float* ap = in_ptr(a, "a", as);
  const float* bp = in_ptr(b, "b", bs);
  float* cp = out_ptr(out, "out", {as[0], bs[1]});
  without_gil("gemm", as, [&] { pycnn::gemm(table, as[0], bs[1], as[1], ap, bp, cp, pr); });
}

py::dict gemm_blocking(const std::string& isa) {
  const KernelTable& table = isa.empty() ? kernels() : kernels_for(parse_isa(isa));
  auto describe = [](const GemmKernel& k) {
    py::dict d;
    d["mr"] = k.mr, d["nr"] = k.nr, d["kc"] = k.kc, d["mc"] = k.mc, d["nc"] = k.nc;
    return d;
  };
  py::dict out;
  out["gemm"] = describe(table.gemm);
  out["gemm_few_rows"] = describe(table.gemm_few_rows);
  out["gemm_narrow"] = describe(table.gemm_narrow);
  out["bf16_gemm"] = describe(table.bf16.gemm);
  out["bf16_gemm_few_rows"] = describe(table.bf16.gemm_few_rows);
  return out;
}

py::dict caches_dict(const CpuCaches& caches) {
  py::dict d;
  d["L1d"] = caches.l1d, d["L2"] = caches.l2, d["L3"] = caches.l3, d["source"] = caches.source;
  return d;
}

}  // namespace bind
}  // namespace
}  // namespace pycnn

PYBIND11_MODULE(_core, m) {
  using namespace pycnn;
  namespace py = pybind11;
  m.doc() = "pycnn's compiled kernels. Use pycnn.functional: it validates and converts arguments.";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  init_isa_cap_from_env();

  m.attr("__version__") = PYCNN_VERSION;
  m.def("build_info", [] {
    py::dict info;
    info["compiler"] = PYCNN_COMPILER;
    info["build_type"] = PYCNN_BUILD_TYPE;
    info["target"] = PYCNN_TARGET;
    info["pybind11"] = std::to_string(PYBIND11_VERSION_MAJOR) + "." + std::to_string(PYBIND11_VERSION_MINOR) +
                       "." + std::to_string(PYBIND11_VERSION_PATCH);
    info["cuda"] = bool(PYCNN_WITH_CUDA);  // pycnn._cuda built alongside
    return info;
  }, "How this extension was built: compiler, build type, target processor, pybind11, CUDA kernels.");
  m.def("isa", [] { return std::string(isa_name(kernels().isa)); }, "The ISA whose kernels are in use.");
  m.def("cpu_isa", [] { return std::string(isa_name(cpu_isa())); }, "The best ISA this CPU and OS support.");
  m.def("bf16_path", [] { return std::string(kernels().bf16.path); },
        "What does bf16 multiply-adds with the kernels in use: 'avx512_bf16', or 'emulated' in float32 FMAs.");
  m.def("cpu_brand", [] { return cpu_brand(); }, "The processor's brand string from CPUID; '' where it has none.");
  m.def("cpu_caches", [] { return bind::caches_dict(cpu_caches()); },
        "This CPU's cache sizes: {'L1d', 'L2', 'L3': bytes, 'source': 'cpuid' | 'sysfs' | 'assumed'}.");
  m.def("caches_from_cpuid", [] { return bind::caches_dict(caches_from_cpuid()); },
        "The sizes CPUID's cache leaves give (source '' where there are none).");
  m.def("caches_from_sysfs", [](const std::string& folder) { return bind::caches_dict(caches_from_sysfs(folder)); },
        py::arg("folder"), "The sizes a sysfs cache folder gives (source '' where it has none).");
  m.def("set_isa_cap", [](const std::string& name) { return std::string(isa_name(set_isa_cap(parse_isa(name)))); },
        py::arg("isa"), "Use the best kernels not above `isa`; returns the ISA now in use.");
  m.def("get_num_threads", &get_num_threads);
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw py::value_error("num_threads must be at least 1, got " + std::to_string(n));
    py::gil_scoped_release release;
    set_num_threads(n);
  }, py::arg("n"));
  m.def("all_within", &bind::all_within, py::arg("input"), py::arg("limit"),
        "Whether every element's magnitude is at most `limit` (positive, finite): False for any NaN or Inf.");
  m.def("measure_fma_peak", [](int milliseconds) {
    if (milliseconds < 1) throw std::invalid_argument("milliseconds must be at least 1, got " + std::to_string(milliseconds));
    py::gil_scoped_release release;
    return measure_fma_peak_gflops(milliseconds);
  }, py::arg("milliseconds") = 200,
        "GFLOP/s of independent FMAs on get_num_threads() threads with the kernels in use (the yardstick for % of peak).");
  m.def("window_output_size",
        [](int64_t size, int64_t kernel, int64_t stride, int64_t pad_before, int64_t pad_after, int64_t dilation,
           bool ceil_mode) {
          make_window({kernel, 1}, {stride, 1}, {pad_before, pad_after, 0, 0}, {dilation, 1});
          require(size >= 0 && size <= (int64_t{1} << 62), "size must be between 0 and 2^62");
          return window_output_size(size, kernel, stride, pad_before, pad_after, dilation, ceil_mode);
        },
        py::arg("size"), py::arg("kernel"), py::arg("stride"), py::arg("pad_before"), py::arg("pad_after"),
        py::arg("dilation"), py::arg("ceil_mode"));

  m.def("conv2d", &bind::conv2d, py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("out"),
        py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("groups"), py::arg("relu") = false,
        py::arg("residual") = py::none(), py::arg("precision") = "fp32");
  py::class_<bind::PackedConv2d>(m, "PackedConv2d", "Convolution weights packed once for repeated calls.")
      .def(py::init<const py::array&, int64_t, const std::string&, const std::string&>(), py::arg("weight"),
           py::arg("groups"), py::arg("algorithm") = "gemm", py::arg("precision") = "fp32")
      .def_property_readonly("shape", [](const bind::PackedConv2d& w) { return w.shape; })
      .def_property_readonly("groups", [](const bind::PackedConv2d& w) { return w.groups; })
      .def_property_readonly("algorithm",
                             [](const bind::PackedConv2d& w) { return conv_algorithm_name(w.weights->algorithm()); })
      .def_property_readonly("isa", [](const bind::PackedConv2d& w) { return isa_name(w.weights->kernels().isa); })
      .def_property_readonly("precision",
                             [](const bind::PackedConv2d& w) { return precision_name(w.weights->precision()); });
  m.def("conv_algorithm", &bind::conv_algorithm, py::arg("input_shape"), py::arg("weight_shape"), py::arg("stride"),
        py::arg("padding"), py::arg("dilation"), py::arg("groups"), py::arg("precision") = "fp32",
        "The algorithm pycnn picks for this convolution in a model plan: 'winograd', 'direct', 'gemm' or "
        "'gemm_transposed' (in bf16, one of the last two).");
  m.def("conv2d_packed", &bind::conv2d_packed, py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("out"),
        py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("relu") = false,
        py::arg("residual") = py::none());
  py::class_<bind::PackedLinear>(m, "PackedLinear", "Linear weights packed once for repeated calls.")
      .def(py::init<const py::array&, const std::string&>(), py::arg("weight"), py::arg("precision") = "fp32")
      .def_property_readonly("shape", [](const bind::PackedLinear& w) { return w.shape; })
      .def_property_readonly("isa", [](const bind::PackedLinear& w) { return isa_name(w.weights->kernels().isa); })
      .def_property_readonly("precision",
                             [](const bind::PackedLinear& w) { return precision_name(w.weights->precision()); });
  m.def("linear_packed", &bind::linear_packed, py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("out"),
        py::arg("relu") = false);
  m.def("linear", &bind::linear, py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("out"),
        py::arg("relu") = false, py::arg("precision") = "fp32");
  m.def("max_pool2d", &bind::max_pool2d, py::arg("input"), py::arg("out"), py::arg("kernel"), py::arg("stride"),
        py::arg("padding"), py::arg("dilation"), py::arg("ceil_mode"));
  m.def("avg_pool2d", &bind::avg_pool2d, py::arg("input"), py::arg("out"), py::arg("kernel"), py::arg("stride"),
        py::arg("padding"), py::arg("ceil_mode"), py::arg("count_include_pad"), py::arg("divisor_override"));
  m.def("adaptive_avg_pool2d", &bind::adaptive_avg_pool2d, py::arg("input"), py::arg("out"));
  m.def("relu", &bind::relu, py::arg("input"), py::arg("out"));
  m.def("channel_affine", &bind::channel_affine, py::arg("input"), py::arg("scale"), py::arg("shift"),
        py::arg("out"));
  m.def("local_response_norm", &bind::local_response_norm, py::arg("input"), py::arg("out"), py::arg("size"),
        py::arg("alpha"), py::arg("beta"), py::arg("k"));
  m.def("softmax", &bind::softmax, py::arg("input"), py::arg("out"));
  m.def("gemm_blocking", &bind::gemm_blocking, py::arg("isa") = "",
        "The register tiles (mr, nr) and cache blocks (kc, mc, nc) of an ISA's GEMM kernels: 'gemm', and "
        "'gemm_few_rows' for products with fewer rows than gemm's mr, 'gemm_narrow' for products with few columns.");
  m.def("gemm", &bind::gemm, py::arg("a"), py::arg("b"), py::arg("out"), py::arg("isa") = "",
        py::arg("precision") = "fp32",
        "C = A·B through the blocked driver with one ISA's micro-kernel, in 'fp32' or 'bf16' (for tests).");
}
