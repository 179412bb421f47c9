#include "shape_checks.h"

#include <pybind11/pybind11.h>

#include <algorithm>
#include <sstream>

namespace py = pybind11;

namespace pycnn::checks {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << (s.size() == 1 ? ",)" : ")");
  return os.str();
}

void fail(const std::string& message) { throw py::value_error(message); }

namespace {

// Bounds on window parameters that keep every product of them with an array extent within int64.
constexpr int64_t kMaxWindowParameter = (int64_t{1} << 31) - 1;

void require_in_range(const Pair& values, int64_t least, const char* what) {
  for (int64_t v : values) {
    require(v >= least && v <= kMaxWindowParameter, [&] {
      return std::string(what) + " must be between " + std::to_string(least) + " and " +
             std::to_string(kMaxWindowParameter) + ", got " + std::to_string(v);
    });
  }
}

}  // namespace

Window2d make_window(Pair kernel, Pair stride, Quad padding, Pair dilation) {
  require_in_range(kernel, 1, "kernel size");
  require_in_range(stride, 1, "stride");
  require_in_range(dilation, 1, "dilation");
  require_in_range({padding[0], padding[1]}, 0, "padding");
  require_in_range({padding[2], padding[3]}, 0, "padding");
  return {kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
          padding[2], padding[3], dilation[0], dilation[1]};
}

Conv2dParams conv_params(const Shape& xs, const Shape& ws, int64_t groups, Pair stride, Quad padding,
                         Pair dilation) {
  require(groups > 0, "groups must be positive");
  Conv2dParams p{};
  p.batch = xs[0], p.in_channels = xs[1], p.in_h = xs[2], p.in_w = xs[3];
  p.out_channels = ws[0];
  p.groups = groups;
  p.window = make_window({ws[2], ws[3]}, stride, padding, dilation);
  require(p.in_channels % groups == 0 && p.out_channels % groups == 0 && ws[1] == p.in_channels / groups, [&] {
    return "weight of shape " + shape_str(ws) + " does not fit input of shape " + shape_str(xs) + " with groups=" +
           std::to_string(groups);
  });
  const Window2d& w = p.window;
  p.out_h = window_output_size(p.in_h, w.kernel_h, w.stride_h, w.pad_top, w.pad_bottom, w.dilation_h, false);
  p.out_w = window_output_size(p.in_w, w.kernel_w, w.stride_w, w.pad_left, w.pad_right, w.dilation_w, false);
  require(p.out_h > 0 && p.out_w > 0, "kernel larger than the padded input");
  return p;
}

Pool2dParams pool_params(const Shape& xs, Pair kernel, Pair stride, Quad padding, Pair dilation, bool ceil_mode) {
  Pool2dParams p{};
  p.batch = xs[0], p.channels = xs[1], p.in_h = xs[2], p.in_w = xs[3];
  p.window = make_window(kernel, stride, padding, dilation);
  const Window2d& w = p.window;
  p.out_h = window_output_size(p.in_h, w.kernel_h, w.stride_h, w.pad_top, w.pad_bottom, w.dilation_h, ceil_mode);
  p.out_w = window_output_size(p.in_w, w.kernel_w, w.stride_w, w.pad_left, w.pad_right, w.dilation_w, ceil_mode);
  require(p.out_h > 0 && p.out_w > 0, "kernel larger than the padded input");
  // PyTorch's rule, which keeps windows from lying wholly in the padding.
  require(std::max(w.pad_top, w.pad_bottom) <= w.kernel_h / 2 && std::max(w.pad_left, w.pad_right) <= w.kernel_w / 2,
          "padding must be at most half the kernel size");
  return p;
}

}  // namespace pycnn::checks
