"""The GPU: _cuda's kernels on DeviceArrays (and the torch CUDA tensors and CuPy arrays they view).

Convolutions and linear layers multiply in pycnn.get_precision() (a model's own, for its plans); a plan's weights
are uploaded on its first call, in that precision, and kept until a weight changes. Everything runs in order on the
legacy default stream. Results come back as the kind of array the caller passed (arrays.like).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from .._args import as_float32, host_result
from .._precision import get_precision
from ..cuda import _runtime
from ..cuda.arrays import as_device, is_device_array, like
from ..shapes import Window
from . import base


def _around(x: Any, dim: int) -> Any:
    """x as (before dim, dim, after dim)."""
    shape = x.shape
    return x.reshape((math.prod(shape[:dim]), shape[dim], math.prod(shape[dim + 1:])))


class Backend(base.Backend):
    label = "CUDA"
    move_hint = "pycnn.cuda.to_device(array), tensor.cuda(); or .numpy() back"

    def __init__(self, precision: str | None = None) -> None:
        super().__init__(precision)  # a plan's; one-off ops read the setting at every call
        self.cuda = _runtime.require("CUDA")

    @classmethod
    def owns(cls, value: Any) -> bool:
        return is_device_array(value)

    @classmethod
    def require(cls, what: str) -> None:
        _runtime.require(what)

    @classmethod
    def check_index(cls, device: str, index: str) -> None:
        if index not in ("", "0"):
            raise ValueError(f"device {device!r}: pycnn runs on one GPU, cuda:0 (choose it with CUDA_VISIBLE_DEVICES)")

    def key(self) -> tuple[Hashable, ...]:
        return ("cuda", self.precision)

    # -- arrays -------------------------------------------------------------------------------------------------
    def asarray(self, value: Any, name: str) -> Any:
        return as_device(value, name)

    def empty(self, shape: tuple[int, ...], what: str) -> Any:
        return self.cuda.empty(shape)

    def slot(self, buffer: Any, shape: tuple[int, ...], offset: int) -> Any:
        return buffer.view(shape, offset)

    def copy(self, array: Any) -> Any:
        return array.copy()

    def result(self, out: Any, template: Any) -> Any:
        return like(out, template)

    def model_input(self, value: Any, name: str) -> Any:
        if is_device_array(value):
            return as_device(value, f"{name}: input")
        return self.cuda.to_device(as_float32(value, f"{name}: input"))

    def model_output(self, out: Any, template: Any) -> Any:
        if is_device_array(template):
            return like(out, template)
        return host_result(out.numpy(), template)

    def synchronize(self) -> None:
        self.cuda.synchronize()

    # -- kernels ------------------------------------------------------------------------------------------------
    def conv2d(self, x: Any, weight: Any, bias: Any, out: Any, window: Window, groups: int) -> None:
        self.cuda.conv2d(x, weight, bias, out, window.stride, window.padding, window.dilation, groups, get_precision())

    def max_pool2d(self, x: Any, out: Any, window: Window) -> None:
        self.cuda.max_pool2d(x, out, window.kernel, window.stride, window.padding, window.dilation, window.ceil_mode)

    def avg_pool2d(self, x: Any, out: Any, window: Window, count_include_pad: bool, divisor: int) -> None:
        self.cuda.avg_pool2d(x, out, window.kernel, window.stride, window.padding, window.ceil_mode,
                             count_include_pad, divisor)

    def adaptive_avg_pool2d(self, x: Any, out: Any) -> None:
        self.cuda.adaptive_avg_pool2d(x, out)

    def relu(self, x: Any, out: Any) -> None:
        self.cuda.relu(x, out)

    def linear(self, x: Any, weight: Any, bias: Any, out: Any) -> None:
        self.cuda.linear(x, weight, bias, out, get_precision())

    def softmax(self, x: Any, out: Any) -> None:
        self.cuda.softmax(x, out)

    def local_response_norm(self, x: Any, out: Any, size: int, alpha: float, beta: float, k: float) -> None:
        self.cuda.local_response_norm(x, out, size, alpha, beta, k)

    def channel_affine(self, x: Any, out: Any, scale: Any, shift: Any) -> None:
        self.cuda.channel_affine(x, self.constant(scale, {}), self.constant(shift, {}), out)

    def add(self, a: Any, b: Any, out: Any) -> None:
        self.cuda.add(a, b, out)

    def cat(self, inputs: Sequence[Any], out: Any, dim: int) -> None:
        self.cuda.concat([_around(x, dim) for x in inputs], _around(out, dim))

    def call(self, *args: Any) -> None:
        *inputs, out, function = args
        host_out = np.empty(tuple(out.shape), np.float32)
        host_out[...] = function(*(x.numpy() for x in inputs))
        out.copy_from_host(host_out)

    # -- prepared steps -----------------------------------------------------------------------------------------
    def constant(self, array: Any, packed: dict[Any, Any]) -> Any:
        if not isinstance(array, np.ndarray):
            return array  # already on the device
        key = ("cuda constant", id(array))
        if key not in packed:
            packed[key] = (array, self.cuda.to_device(np.ascontiguousarray(array, np.float32)))
        return packed[key][1]

    def conv_step(self, conv: base.ConvSpec, input_shape: tuple[int, ...],
                  packed: dict[Any, Any]) -> tuple[base.Execute, str]:
        cuda, window, relu = self.cuda, conv.window, conv.relu
        key = (conv.key, "cuda", self.precision)
        if key not in packed:
            w, b = conv.weights()
            packed[key] = (cuda.PackedConv2d(w, conv.groups, self.precision), None if b is None else cuda.to_device(b))
        weight, bias = packed[key]

        def execute(x: Any, *rest: Any) -> None:
            res, out = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])
            cuda.conv2d_packed(x, weight, bias, out, window.stride, window.padding, window.dilation, relu, res)

        return execute, f"CUDA implicit GEMM ({self.precision})"

    def linear_step(self, key: Hashable, weight: np.ndarray, bias: np.ndarray | None, relu: bool,
                    packed: dict[Any, Any]) -> base.Execute:
        cuda, n = self.cuda, weight.shape[1]
        packed_key = (key, "cuda", self.precision)
        if packed_key not in packed:
            packed[packed_key] = (cuda.PackedLinear(weight, self.precision),
                                  None if bias is None else cuda.to_device(bias))
        packed_weight, device_bias = packed[packed_key]

        def execute(x: Any, out: Any) -> None:
            cuda.linear_packed(x.reshape((-1, n)), packed_weight, device_bias, out.reshape((-1, out.shape[-1])), relu)

        return execute
