"""Drop-ins for ``torch.nn.functional``: the one front door for ops, on every device.

Same names, argument order and defaults as PyTorch. Inputs are anything numpy can turn into float32
(converted, never modified); outputs are new float32 C-contiguous arrays. Spatial ops take NCHW input,
or CHW for a single unbatched image as PyTorch does. Padding of ``conv2d`` and the pools also accepts a
4-tuple ``(top, bottom, left, right)`` for asymmetric padding (Caffe- and ONNX-exported networks).

Each op checks its arguments once (pycnn.shapes), finds the device its arrays live on (pycnn.backends: device
arrays such as torch CUDA tensors and CuPy arrays run on the GPU; all arrays of a call must live on one
device) and makes one kernel call there. Results are arrays of the caller's kind.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backends
from ._args import Result, check_ndim
from .backends import Backend, Op
from .shapes import (
    adaptive_output_hw,
    avg_pool_divisor,
    batch_norm_affine,
    channels_shape,
    check_linear_shapes,
    conv_arguments,
    flattened_shape,
    lrn_size,
    pad_arguments,
    pool_window,
    softmax_view,
)

__all__ = ["conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "relu", "linear", "softmax",
           "local_response_norm", "batch_norm", "dropout", "dropout2d", "pad", "sigmoid", "tanh", "leaky_relu",
           "relu6", "hardtanh", "log_softmax", "flatten"]


def _batched(x: Any, op: str) -> tuple[Any, bool]:
    """(N, C, H, W) view of a 3-D or 4-D input, and whether it was unbatched."""
    check_ndim(x, (3, 4), f"{op}: input", "(N, C, H, W) or unbatched (C, H, W)")
    return (x.reshape((1, *x.shape)), True) if x.ndim == 3 else (x, False)


def _spatial(backend: Backend, op: Op, x: Any, out_hw: tuple[int, int], unbatched: bool, template: Any) -> Any:
    """Runs a pooling op on a batched input into a new output of spatial size out_hw."""
    out = backend.empty((*x.shape[:2], *out_hw), f"{op.name} output")
    getattr(backend, op.name)(x, out, *op.params)
    return backend.result(out.reshape(out.shape[1:]) if unbatched else out, template)


def _elementwise(backend: Backend, op: Op, x: Any, template: Any) -> Any:
    """Runs an op whose output has its input's shape, seeing both as op.view when it has one."""
    out = backend.empty(x.shape, f"{op.name} output")
    view = op.view or x.shape
    getattr(backend, op.name)(x.reshape(view), out.reshape(view), *op.params)
    return backend.result(out, template)


def conv2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> Result:
    """2-D convolution (cross-correlation, as PyTorch).

    input (N, C, H, W) or (C, H, W); weight (K, C/groups, KH, KW); bias (K,) or None.
    Returns (N, K, OH, OW) with OH = floor((H + pad_top + pad_bottom - dilation·(KH-1) - 1)/stride) + 1.
    """
    backend = backends.for_arrays("conv2d", input=input, weight=weight, bias=bias)
    x, unbatched = _batched(backend.asarray(input, "conv2d: input"), "conv2d")
    w = backend.asarray(weight, "conv2d: weight")
    b = None if bias is None else backend.asarray(bias, "conv2d: bias")
    g, window, out_shape = conv_arguments(x.shape, w.shape, None if b is None else b.shape, stride, padding,
                                          dilation, groups)
    out = backend.empty(out_shape, "conv2d output")
    backend.conv2d(x, w, b, out, window, g)
    return backend.result(out.reshape(out.shape[1:]) if unbatched else out, input)


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Result:
    """Max pooling; NaN in a window gives NaN as in PyTorch. input (N, C, H, W) or (C, H, W).

    With ``return_indices``, also each maximum's flat index h·W + w in its input plane (int64), as PyTorch's
    (computed apart from the SIMD kernel, on the host)."""
    backend = backends.for_arrays("max_pool2d", input=input)
    x, unbatched = _batched(backend.asarray(input, "max_pool2d: input"), "max_pool2d")
    window = pool_window("max_pool2d", kernel_size, stride, padding, dilation, ceil_mode)
    out_hw = window.output_hw("max_pool2d", x.shape)
    if not return_indices:
        return _spatial(backend, Op("max_pool2d", (window,)), x, out_hw, unbatched, input)
    out = backend.empty((*x.shape[:2], *out_hw), "max_pool2d output")
    indices = np.empty(out.shape, np.int64)
    backend.max_pool2d_with_indices(x, out, indices, window)
    if unbatched:
        out, indices = out.reshape(out.shape[1:]), indices.reshape(indices.shape[1:])
    return backend.result(out, input), backend.result(indices, input)


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Result:
    """Average pooling. input (N, C, H, W) or (C, H, W)."""
    backend = backends.for_arrays("avg_pool2d", input=input)
    x, unbatched = _batched(backend.asarray(input, "avg_pool2d: input"), "avg_pool2d")
    window = pool_window("avg_pool2d", kernel_size, stride, padding, 1, ceil_mode)
    op = Op("avg_pool2d", (window, bool(count_include_pad), avg_pool_divisor(divisor_override)))
    return _spatial(backend, op, x, window.output_hw("avg_pool2d", x.shape), unbatched, input)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Result:
    """Average over the PyTorch adaptive windows [floor(i·H/OH), ceil((i+1)·H/OH)).

    output_size: int or (OH, OW), where None keeps that input size.
    """
    backend = backends.for_arrays("adaptive_avg_pool2d", input=input)
    x, unbatched = _batched(backend.asarray(input, "adaptive_avg_pool2d: input"), "adaptive_avg_pool2d")
    out_hw = adaptive_output_hw(x.shape, output_size)
    return _spatial(backend, Op("adaptive_avg_pool2d"), x, out_hw, unbatched, input)


def relu(input: Any, inplace: bool = False) -> Result:
    """max(x, 0), NaN kept. ``inplace`` is accepted for compatibility: pycnn never modifies its input."""
    backend = backends.for_arrays("relu", input=input)
    return _elementwise(backend, Op("relu"), backend.asarray(input, "relu: input"), input)


def linear(input: Any, weight: Any, bias: Any = None) -> Result:
    """y = x·Wᵀ + b. input (*, in_features); weight (out_features, in_features); bias (out_features,)."""
    backend = backends.for_arrays("linear", input=input, weight=weight, bias=bias)
    x = backend.asarray(input, "linear: input")
    w = backend.asarray(weight, "linear: weight")
    b = None if bias is None else backend.asarray(bias, "linear: bias")
    check_linear_shapes(x.shape, w.shape, None if b is None else b.shape)
    rows = math.prod(x.shape[:-1])
    out = backend.empty((rows, w.shape[0]), "linear output")
    backend.linear(x.reshape((rows, w.shape[1])), w, b, out)
    return backend.result(out.reshape((*x.shape[:-1], w.shape[0])), input)


def softmax(input: Any, dim: int) -> Result:
    """exp(x) / sum(exp(x)) along ``dim``, computed with the maximum subtracted."""
    backend = backends.for_arrays("softmax", input=input)
    x = backend.asarray(input, "softmax: input")
    return _elementwise(backend, Op("softmax", view=softmax_view(x.shape, dim, "softmax")), x, input)


def local_response_norm(input: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Result:
    """Cross-channel LRN (AlexNet): x / (k + alpha/size · Σ x²)^beta over `size` neighbouring channels.

    input (N, C, *) with at least 3 dimensions, as in PyTorch.
    """
    backend = backends.for_arrays("local_response_norm", input=input)
    x = backend.asarray(input, "local_response_norm: input")
    n = lrn_size(x.shape, size)
    op = Op("local_response_norm", (n, float(alpha), float(beta), float(k)), view=channels_shape(x.shape))
    return _elementwise(backend, op, x, input)


def batch_norm(input: Any, running_mean: Any, running_var: Any, weight: Any = None, bias: Any = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Result:
    """Inference batch normalisation: (x − mean)/sqrt(var + eps)·weight + bias per channel of (N, C, *).

    The statistics are folded into a scale and a shift per channel on the host (float64), a few kilobytes
    whichever device the activations live on."""
    if training:
        raise ValueError("batch_norm: pycnn implements inference only; training=True is not supported")
    backend = backends.for_arrays("batch_norm", input=input, running_mean=running_mean, running_var=running_var,
                                  weight=weight, bias=bias)
    x = backend.asarray(input, "batch_norm: input")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must be (N, C, *), got shape {x.shape}")
    mean, var, w, b = (None if v is None else _host(backend.asarray(v, f"batch_norm: {name}"))
                       for v, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                                       (weight, "weight"), (bias, "bias")))
    scale, shift = batch_norm_affine(x.shape, mean, var, w, b, eps)
    op = Op("channel_affine", (scale.astype(np.float32), shift.astype(np.float32)), view=channels_shape(x.shape))
    return _elementwise(backend, op, x, input)


def _host(array: Any) -> np.ndarray:
    """A host copy of a small array of any device (numpy arrays as they are)."""
    return array if isinstance(array, np.ndarray) else np.asarray(array.numpy())


def sigmoid(input: Any) -> Result:
    """1 / (1 + exp(-x))."""
    backend = backends.for_arrays("sigmoid", input=input)
    return _elementwise(backend, Op("sigmoid"), backend.asarray(input, "sigmoid: input"), input)


def tanh(input: Any) -> Result:
    backend = backends.for_arrays("tanh", input=input)
    return _elementwise(backend, Op("tanh"), backend.asarray(input, "tanh: input"), input)


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Result:
    """x where x ≥ 0, else negative_slope·x. ``inplace`` is accepted for compatibility: the input is never
    modified."""
    backend = backends.for_arrays("leaky_relu", input=input)
    op = Op("leaky_relu", (float(negative_slope),))
    return _elementwise(backend, op, backend.asarray(input, "leaky_relu: input"), input)


def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Result:
    """x clipped to [min_val, max_val]."""
    if float(min_val) > float(max_val):
        raise ValueError(f"hardtanh: min_val={min_val} is above max_val={max_val}")
    backend = backends.for_arrays("hardtanh", input=input)
    op = Op("hardtanh", (float(min_val), float(max_val)))
    return _elementwise(backend, op, backend.asarray(input, "hardtanh: input"), input)


def relu6(input: Any, inplace: bool = False) -> Result:
    """min(max(x, 0), 6) (MobileNet's activation)."""
    return hardtanh(input, 0.0, 6.0)


def log_softmax(input: Any, dim: int) -> Result:
    """log(softmax(x)) along ``dim``, computed as x − max − log Σ exp(x − max)."""
    backend = backends.for_arrays("log_softmax", input=input)
    x = backend.asarray(input, "log_softmax: input")
    return _elementwise(backend, Op("log_softmax", view=softmax_view(x.shape, dim, "log_softmax")), x, input)


def pad(input: Any, pad: Any, mode: str = "constant", value: float | None = None) -> Result:
    """Pads the last len(pad)/2 dimensions, as torch.nn.functional.pad: pad = (left, right, top, bottom, …),
    the last dimension first; negative amounts crop. Modes 'constant' (with ``value``, default 0), 'reflect',
    'replicate' and 'circular'; the last three pad k dimensions of a (k+1)-D or (k+2)-D input."""
    backend = backends.for_arrays("pad", input=input)
    x = backend.asarray(input, "pad: input")
    pads, out_shape = pad_arguments(x.shape, pad, mode, value)
    out = backend.empty(out_shape, "pad output")
    backend.pad(x, out, pads, mode, 0.0 if value is None else float(value))
    return backend.result(out, input)


def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Result:
    """The input (a copy) when ``training=False``: pycnn runs inference only, so training=True, torch's default,
    is an error."""
    return _inference_dropout("dropout", input, p, training)


def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Result:
    """As dropout, for whole channels."""
    return _inference_dropout("dropout2d", input, p, training)


def _inference_dropout(op: str, input: Any, p: float, training: bool) -> Result:
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"{op}: p must be between 0 and 1, got {p}")
    if training:
        raise ValueError(f"{op}: pycnn runs inference only, where dropout is the identity: pass training=False "
                         "(torch's default for this function is True)")
    backend = backends.for_arrays(op, input=input)
    return backend.result(backend.copy(backend.asarray(input, f"{op}: input")), input)


def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Result:
    """Dimensions start_dim..end_dim merged into one, as torch.flatten (a new array)."""
    backend = backends.for_arrays("flatten", input=input)
    x = backend.asarray(input, "flatten: input")
    shape = flattened_shape(x.shape, start_dim, end_dim, "flatten")
    return backend.result(backend.copy(x.reshape(shape)), input)
