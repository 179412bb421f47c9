#pragma once
// Shape and window checks shared by the CPU module (_core) and the CUDA module (_cuda): a direct caller of
// either never reaches a kernel with inconsistent shapes. Failures raise ValueError naming the shapes.
#include <array>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "pycnn/conv_params.h"

namespace pycnn::checks {

using Shape = std::vector<int64_t>;
using Pair = std::array<int64_t, 2>;  // (h, w)
using Quad = std::array<int64_t, 4>;  // (top, bottom, left, right)

std::string shape_str(const Shape& s);
[[noreturn]] void fail(const std::string& message);  // raises ValueError

// Raises ValueError unless ok. The message is a string, or a function that builds one: the checks run on every
// kernel call, and building messages with shapes in them would cost microseconds each time.
template <class Message>
void require(bool ok, Message&& message) {
  if (ok) return;
  if constexpr (std::is_invocable_v<Message>) {
    fail(message());
  } else {
    fail(message);
  }
}

Window2d make_window(Pair kernel, Pair stride, Quad padding, Pair dilation);
// The convolution of an input of shape xs (N, C, H, W) by weights of shape ws (K, C/groups, KH, KW).
Conv2dParams conv_params(const Shape& xs, const Shape& ws, int64_t groups, Pair stride, Quad padding, Pair dilation);
// The pooling of an input of shape xs (N, C, H, W), with PyTorch's limit on padding.
Pool2dParams pool_params(const Shape& xs, Pair kernel, Pair stride, Quad padding, Pair dilation, bool ceil_mode);

}  // namespace pycnn::checks
