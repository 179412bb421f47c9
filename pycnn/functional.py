"""Drop-ins for ``torch.nn.functional`` on numpy arrays.

Same names, argument order and defaults as PyTorch. Inputs are anything numpy can turn into float32
(converted, never modified); outputs are new float32 C-contiguous arrays. Spatial ops take NCHW input,
or CHW for a single unbatched image as PyTorch does. Padding of ``conv2d`` and the pools also accepts a
4-tuple ``(top, bottom, left, right)`` for asymmetric padding (Caffe- and ONNX-exported networks).

Device arrays (pycnn.cuda.DeviceArray, torch CUDA tensors, CuPy arrays; float32, C-contiguous) run on the GPU
(pycnn.cuda.functional) and give results of their own kind, without a trip through host memory; all arrays of
a call must then be device arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from . import _core
from ._args import F32, as_float32, check_ndim, empty, integer, normalise_dim, optional_float32, padding4, positive_pair
from ._device import on_device
from .shapes import window_size

__all__ = ["conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "relu", "linear", "softmax",
           "local_response_norm", "batch_norm"]


def _cuda() -> ModuleType:
    from .cuda import functional

    return functional


def _batched(x: F32, op: str) -> tuple[F32, bool]:
    """(N, C, H, W) view of a 3-D or 4-D input, and whether it was unbatched."""
    check_ndim(x, (3, 4), f"{op}: input", "(N, C, H, W) or unbatched (C, H, W)")
    return (x[None], True) if x.ndim == 3 else (x, False)


@dataclass(frozen=True)
class Window:
    """A normalised sliding window: what conv2d and the pools hand to the kernels."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    dilation: tuple[int, int]
    ceil_mode: bool = False

    def output_hw(self, op: str, input_shape: tuple[int, ...]) -> tuple[int, int]:
        h, w = input_shape[-2:]
        (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw) = self.kernel, self.stride, self.padding, self.dilation
        try:
            return (window_size(h, kh, sh, pt, pb, dh, self.ceil_mode),
                    window_size(w, kw, sw, pl, pr, dw, self.ceil_mode))
        except ValueError as e:
            raise ValueError(f"{op}: input of shape {input_shape}, kernel {self.kernel}, padding {self.padding}: "
                             f"{e}") from None


def conv_window(kernel: tuple[int, int], stride: Any, padding: Any, dilation: Any) -> Window:
    st = positive_pair(stride, "conv2d: stride")
    dil = positive_pair(dilation, "conv2d: dilation")
    if isinstance(padding, str):
        if padding == "valid":
            return Window(kernel, st, (0, 0, 0, 0), dil)
        if padding != "same":
            raise ValueError(f"conv2d: padding must be 'same', 'valid', an int or a tuple, got {padding!r}")
        if st != (1, 1):
            raise ValueError(f"conv2d: padding='same' needs stride 1, got stride={st}")
        # As PyTorch: the odd pixel of padding goes to the bottom and right.
        th, tw = dil[0] * (kernel[0] - 1), dil[1] * (kernel[1] - 1)
        return Window(kernel, st, (th // 2, th - th // 2, tw // 2, tw - tw // 2), dil)
    return Window(kernel, st, padding4(padding, "conv2d: padding"), dil)


def pool_window(op: str, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool) -> Window:
    ks = positive_pair(kernel_size, f"{op}: kernel_size")
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    st = ks if no_stride else positive_pair(stride, f"{op}: stride")
    dil = positive_pair(dilation, f"{op}: dilation")
    pads = padding4(padding, f"{op}: padding")
    if max(pads[:2]) > ks[0] // 2 or max(pads[2:]) > ks[1] // 2:  # PyTorch's limit
        raise ValueError(f"{op}: padding {padding!r} must be at most half the kernel size (kernel_size={ks})")
    return Window(ks, st, pads, dil, bool(ceil_mode))


def check_conv_shapes(input_shape: tuple[int, ...], weight_shape: tuple[int, ...], groups: int) -> None:
    """Raises unless a weight of `weight_shape` convolves an (N, C, H, W) input with `groups`."""
    c, (k, cg, kh, kw) = input_shape[1], weight_shape
    if groups < 1:
        raise ValueError(f"conv2d: groups must be positive, got {groups}")
    if c % groups or k % groups:
        raise ValueError(f"conv2d: groups={groups} must divide both the input channels ({c}, input shape "
                         f"{input_shape}) and the output channels ({k}, weight shape {weight_shape})")
    if cg * groups != c:
        raise ValueError(f"conv2d: weight of shape {weight_shape} expects {cg * groups} input channels "
                         f"(groups={groups}), but the input of shape {input_shape} has {c}")
    if kh < 1 or kw < 1:
        raise ValueError(f"conv2d: weight of shape {weight_shape} has an empty kernel")


def conv2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> F32:
    """2-D convolution (cross-correlation, as PyTorch).

    input (N, C, H, W) or (C, H, W); weight (K, C/groups, KH, KW); bias (K,) or None.
    Returns (N, K, OH, OW) with OH = floor((H + pad_top + pad_bottom - dilation·(KH-1) - 1)/stride) + 1.
    """
    if on_device("conv2d", input=input, weight=weight, bias=bias):
        result: F32 = _cuda().conv2d(input, weight, bias, stride, padding, dilation, groups)
        return result
    x, unbatched = _batched(as_float32(input, "conv2d: input"), "conv2d")
    w = as_float32(weight, "conv2d: weight")
    b = optional_float32(bias, "conv2d: bias")
    g, window, out_shape = conv_arguments(x.shape, w.shape, None if b is None else b.shape, stride, padding,
                                          dilation, groups)
    out = empty(out_shape, "conv2d output")
    _core.conv2d(x, w, b, out, window.stride, window.padding, window.dilation, g)
    return out[0] if unbatched else out


def conv_arguments(input_shape: tuple[int, ...], weight_shape: tuple[int, ...], bias_shape: tuple[int, ...] | None,
                   stride: Any, padding: Any, dilation: Any, groups: Any) -> tuple[int, Window, tuple[int, ...]]:
    """(groups, window, output shape) of conv2d on an (N, C, H, W) input, every argument checked."""
    if len(weight_shape) != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels/groups, kH, kW), got shape "
                         f"{weight_shape}")
    g = integer(groups, "conv2d: groups")
    check_conv_shapes(input_shape, weight_shape, g)
    window = conv_window((weight_shape[2], weight_shape[3]), stride, padding, dilation)
    if bias_shape is not None and bias_shape != (weight_shape[0],):
        raise ValueError(f"conv2d: bias must have shape ({weight_shape[0]},) for weight of shape {weight_shape}, "
                         f"got {bias_shape}")
    oh, ow = window.output_hw("conv2d", input_shape)
    return g, window, (input_shape[0], weight_shape[0], oh, ow)


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> F32:
    """Max pooling; NaN in a window gives NaN as in PyTorch. input (N, C, H, W) or (C, H, W)."""
    if on_device("max_pool2d", input=input):
        result: F32 = _cuda().max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)
        return result
    x, unbatched = _batched(as_float32(input, "max_pool2d: input"), "max_pool2d")
    window = pool_window("max_pool2d", kernel_size, stride, padding, dilation, ceil_mode)
    out = empty((*x.shape[:2], *window.output_hw("max_pool2d", x.shape)), "max_pool2d output")
    _core.max_pool2d(x, out, window.kernel, window.stride, window.padding, window.dilation, window.ceil_mode)
    return out[0] if unbatched else out


def avg_pool_divisor(divisor_override: int | None) -> int:
    """0 (divide by the window) or the override, checked."""
    if divisor_override is None:
        return 0
    divisor = integer(divisor_override, "avg_pool2d: divisor_override")
    if divisor < 1:
        raise ValueError(f"avg_pool2d: divisor_override must be positive, got {divisor}")
    return divisor


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> F32:
    """Average pooling. input (N, C, H, W) or (C, H, W)."""
    if on_device("avg_pool2d", input=input):
        result: F32 = _cuda().avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                         divisor_override)
        return result
    x, unbatched = _batched(as_float32(input, "avg_pool2d: input"), "avg_pool2d")
    window = pool_window("avg_pool2d", kernel_size, stride, padding, 1, ceil_mode)
    divisor = avg_pool_divisor(divisor_override)
    out = empty((*x.shape[:2], *window.output_hw("avg_pool2d", x.shape)), "avg_pool2d output")
    _core.avg_pool2d(x, out, window.kernel, window.stride, window.padding, window.ceil_mode,
                     bool(count_include_pad), divisor)
    return out[0] if unbatched else out


def adaptive_output_hw(input_shape: tuple[int, ...], output_size: Any) -> tuple[int, int]:
    h, w = input_shape[-2:]
    if h == 0 or w == 0:
        raise ValueError(f"adaptive_avg_pool2d: input of shape {input_shape} has empty planes")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(sizes) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}")
    oh, ow = (d if s is None else integer(s, "adaptive_avg_pool2d: output_size")
              for s, d in zip(sizes, (h, w), strict=True))
    if oh < 1 or ow < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size!r}")
    return oh, ow


def adaptive_avg_pool2d(input: Any, output_size: Any) -> F32:
    """Average over the PyTorch adaptive windows [floor(i·H/OH), ceil((i+1)·H/OH)).

    output_size: int or (OH, OW), where None keeps that input size.
    """
    if on_device("adaptive_avg_pool2d", input=input):
        result: F32 = _cuda().adaptive_avg_pool2d(input, output_size)
        return result
    x, unbatched = _batched(as_float32(input, "adaptive_avg_pool2d: input"), "adaptive_avg_pool2d")
    out = empty((*x.shape[:2], *adaptive_output_hw(x.shape, output_size)), "adaptive_avg_pool2d output")
    _core.adaptive_avg_pool2d(x, out)
    return out[0] if unbatched else out


def relu(input: Any, inplace: bool = False) -> F32:
    """max(x, 0), NaN kept. ``inplace`` is accepted for compatibility: pycnn never modifies its input."""
    if on_device("relu", input=input):
        result: F32 = _cuda().relu(input)
        return result
    x = as_float32(input, "relu: input")
    out = empty(x.shape, "relu output")
    _core.relu(x, out)
    return out


def linear(input: Any, weight: Any, bias: Any = None) -> F32:
    """y = x·Wᵀ + b. input (*, in_features); weight (out_features, in_features); bias (out_features,)."""
    if on_device("linear", input=input, weight=weight, bias=bias):
        result: F32 = _cuda().linear(input, weight, bias)
        return result
    x = as_float32(input, "linear: input")
    w = as_float32(weight, "linear: weight")
    b = optional_float32(bias, "linear: bias")
    check_linear_shapes(x.shape, w.shape, None if b is None else b.shape)
    rows = x.reshape(int(np.prod(x.shape[:-1])), w.shape[1])
    out = empty((rows.shape[0], w.shape[0]), "linear output")
    _core.linear(rows, w, b, out)
    return out.reshape(*x.shape[:-1], w.shape[0])


def check_linear_shapes(input_shape: tuple[int, ...], weight_shape: tuple[int, ...],
                        bias_shape: tuple[int, ...] | None) -> None:
    if len(weight_shape) != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {weight_shape}")
    if len(input_shape) == 0 or input_shape[-1] != weight_shape[1]:
        raise ValueError(f"linear: input of shape {input_shape} does not end in in_features={weight_shape[1]} "
                         f"of weight shape {weight_shape}")
    if bias_shape is not None and bias_shape != (weight_shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight_shape[0]},) for weight of shape {weight_shape}, "
                         f"got {bias_shape}")


def softmax(input: Any, dim: int) -> F32:
    """exp(x) / sum(exp(x)) along ``dim``, computed with the maximum subtracted."""
    if on_device("softmax", input=input):
        result: F32 = _cuda().softmax(input, dim)
        return result
    x = as_float32(input, "softmax: input")
    view = softmax_view(x.shape, dim)
    out = empty(x.shape, "softmax output")
    _core.softmax(x.reshape(view), out.reshape(view))
    return out


def softmax_view(shape: tuple[int, ...], dim: Any) -> tuple[int, int, int]:
    """(outer, dim, inner): the shape softmax's kernels see an array of `shape` as."""
    d = normalise_dim(dim, len(shape), "softmax: dim")
    shape = shape if shape else (1,)
    return int(np.prod(shape[:d])), shape[d], int(np.prod(shape[d + 1:]))


def channels_view(x: F32) -> F32:
    """(N, C, *) as (N, C, inner)."""
    return x.reshape(x.shape[0], x.shape[1], int(np.prod(x.shape[2:])))


def local_response_norm(input: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> F32:
    """Cross-channel LRN (AlexNet): x / (k + alpha/size · Σ x²)^beta over `size` neighbouring channels.

    input (N, C, *) with at least 3 dimensions, as in PyTorch.
    """
    if on_device("local_response_norm", input=input):
        result: F32 = _cuda().local_response_norm(input, size, alpha, beta, k)
        return result
    x = as_float32(input, "local_response_norm: input")
    n = lrn_size(x.shape, size)
    out = empty(x.shape, "local_response_norm output")
    _core.local_response_norm(channels_view(x), channels_view(out),
                              n, float(alpha), float(beta), float(k))
    return out


def lrn_size(input_shape: tuple[int, ...], size: Any) -> int:
    if len(input_shape) < 3:
        raise ValueError(f"local_response_norm: input must have at least 3 dimensions (N, C, *), got shape "
                         f"{input_shape}")
    n = integer(size, "local_response_norm: size")
    if n < 1:
        raise ValueError(f"local_response_norm: size must be positive, got {n}")
    return n


def batch_norm(input: Any, running_mean: Any, running_var: Any, weight: Any = None, bias: Any = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> F32:
    """Inference batch normalisation: (x − mean)/sqrt(var + eps)·weight + bias per channel of (N, C, *)."""
    if training:
        raise ValueError("batch_norm: pycnn implements inference only; training=True is not supported")
    if on_device("batch_norm", input=input, running_mean=running_mean, running_var=running_var, weight=weight,
                 bias=bias):
        result: F32 = _cuda().batch_norm(input, running_mean, running_var, weight, bias, eps)
        return result
    x = as_float32(input, "batch_norm: input")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must be (N, C, *), got shape {x.shape}")
    scale, shift = batch_norm_affine(x.shape, running_mean, running_var, weight, bias, eps)
    out = empty(x.shape, "batch_norm output")
    _core.channel_affine(channels_view(x), scale.astype(np.float32), shift.astype(np.float32),
                         channels_view(out))
    return out


def batch_norm_affine(input_shape: tuple[int, ...], running_mean: Any, running_var: Any, weight: Any, bias: Any,
                      eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Inference batch norm as y = x·scale + shift per channel (float64): the form a convolution absorbs."""
    c = input_shape[1]
    stats = {}
    for name, value, default in (("running_mean", running_mean, None), ("running_var", running_var, None),
                                 ("weight", weight, 1.0), ("bias", bias, 0.0)):
        if value is None and default is None:
            raise ValueError(f"batch_norm: {name} is required for inference")
        v = np.full(c, default) if value is None else as_float32(value, f"batch_norm: {name}")
        if v.shape != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for input of shape {input_shape}, "
                             f"got {v.shape}")
        stats[name] = v.astype(np.float64)
    scale = stats["weight"] / np.sqrt(stats["running_var"] + float(eps))
    return scale, stats["bias"] - stats["running_mean"] * scale
