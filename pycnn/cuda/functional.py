"""pycnn.functional on device arrays: what its ops run when their arrays are on the GPU.

Arguments are checked by the same code as on the host; every array is viewed in place (no copy) and results are
new device arrays of the input's kind (arrays.like). Convolutions and linear layers multiply in
pycnn.cuda.get_precision().
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from .._args import check_ndim
from . import _runtime
from ._precision import get_precision
from .arrays import as_device, like


def _batched(x: Any, op: str) -> tuple[Any, bool]:
    """(N, C, H, W) view of a 3-D or 4-D device array, and whether it was unbatched."""
    check_ndim(x, (3, 4), f"{op}: input", "(N, C, H, W) or unbatched (C, H, W)")
    return (x.reshape((1, *x.shape)), True) if x.ndim == 3 else (x, False)


def _result(out: Any, unbatched: bool, template: Any) -> Any:
    return like(out.reshape(out.shape[1:]) if unbatched else out, template)


def _optional(value: Any, name: str) -> Any:
    return None if value is None else as_device(value, name)


def conv2d(input: Any, weight: Any, bias: Any, stride: Any, padding: Any, dilation: Any, groups: Any) -> Any:
    cuda = _runtime.require("conv2d")
    x, unbatched = _batched(as_device(input, "conv2d: input"), "conv2d")
    w, b = as_device(weight, "conv2d: weight"), _optional(bias, "conv2d: bias")
    g, window, out_shape = F.conv_arguments(x.shape, w.shape, None if b is None else b.shape, stride, padding,
                                            dilation, groups)
    out = cuda.empty(out_shape)
    cuda.conv2d(x, w, b, out, window.stride, window.padding, window.dilation, g, get_precision())
    return _result(out, unbatched, input)


def max_pool2d(input: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool) -> Any:
    cuda = _runtime.require("max_pool2d")
    x, unbatched = _batched(as_device(input, "max_pool2d: input"), "max_pool2d")
    window = F.pool_window("max_pool2d", kernel_size, stride, padding, dilation, ceil_mode)
    out = cuda.empty((*x.shape[:2], *window.output_hw("max_pool2d", x.shape)))
    cuda.max_pool2d(x, out, window.kernel, window.stride, window.padding, window.dilation, window.ceil_mode)
    return _result(out, unbatched, input)


def avg_pool2d(input: Any, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool, count_include_pad: bool,
               divisor_override: int | None) -> Any:
    cuda = _runtime.require("avg_pool2d")
    x, unbatched = _batched(as_device(input, "avg_pool2d: input"), "avg_pool2d")
    window = F.pool_window("avg_pool2d", kernel_size, stride, padding, 1, ceil_mode)
    divisor = F.avg_pool_divisor(divisor_override)
    out = cuda.empty((*x.shape[:2], *window.output_hw("avg_pool2d", x.shape)))
    cuda.avg_pool2d(x, out, window.kernel, window.stride, window.padding, window.ceil_mode, bool(count_include_pad),
                    divisor)
    return _result(out, unbatched, input)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Any:
    cuda = _runtime.require("adaptive_avg_pool2d")
    x, unbatched = _batched(as_device(input, "adaptive_avg_pool2d: input"), "adaptive_avg_pool2d")
    out = cuda.empty((*x.shape[:2], *F.adaptive_output_hw(x.shape, output_size)))
    cuda.adaptive_avg_pool2d(x, out)
    return _result(out, unbatched, input)


def relu(input: Any) -> Any:
    cuda = _runtime.require("relu")
    x = as_device(input, "relu: input")
    out = cuda.empty(x.shape)
    cuda.relu(x, out)
    return like(out, input)


def linear(input: Any, weight: Any, bias: Any) -> Any:
    cuda = _runtime.require("linear")
    x, w, b = as_device(input, "linear: input"), as_device(weight, "linear: weight"), _optional(bias, "linear: bias")
    F.check_linear_shapes(x.shape, w.shape, None if b is None else b.shape)
    rows = int(np.prod(x.shape[:-1]))
    out = cuda.empty((rows, w.shape[0]))
    cuda.linear(x.reshape((rows, w.shape[1])), w, b, out, get_precision())
    return like(out.reshape((*x.shape[:-1], w.shape[0])), input)


def softmax(input: Any, dim: int) -> Any:
    cuda = _runtime.require("softmax")
    x = as_device(input, "softmax: input")
    view = F.softmax_view(x.shape, dim)
    out = cuda.empty(x.shape)
    cuda.softmax(x.reshape(view), out.reshape(view))
    return like(out, input)


def _channels_view(x: Any) -> Any:
    """(N, C, *) as (N, C, inner)."""
    return x.reshape((x.shape[0], x.shape[1], int(np.prod(x.shape[2:]))))


def local_response_norm(input: Any, size: Any, alpha: float, beta: float, k: float) -> Any:
    cuda = _runtime.require("local_response_norm")
    x = as_device(input, "local_response_norm: input")
    n = F.lrn_size(x.shape, size)
    out = cuda.empty(x.shape)
    cuda.local_response_norm(_channels_view(x), _channels_view(out), n, float(alpha), float(beta), float(k))
    return like(out, input)


def batch_norm(input: Any, running_mean: Any, running_var: Any, weight: Any, bias: Any, eps: float) -> Any:
    """The C statistics are folded into a scale and a shift on the host (float64, as on the CPU): a few kilobytes
    each way, while the activations stay on the device."""
    cuda = _runtime.require("batch_norm")
    x = as_device(input, "batch_norm: input")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must be (N, C, *), got shape {x.shape}")
    mean, var, w, b = (None if v is None else as_device(v, f"batch_norm: {name}").numpy()
                       for v, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                                       (weight, "weight"), (bias, "bias")))
    scale, shift = F.batch_norm_affine(x.shape, mean, var, w, b, eps)
    out = cuda.empty(x.shape)
    cuda.channel_affine(_channels_view(x), cuda.to_device(scale.astype(np.float32)),
                        cuda.to_device(shift.astype(np.float32)), _channels_view(out))
    return like(out, input)
