"""Every op's arguments checked and normalised once, and the shapes they give.

pycnn.functional and the layers of pycnn.nn call these before any kernel runs, on every device; each error
names the op, the argument and the shapes involved. Output sizes of sliding windows follow the classic
(W − F + 2P)/S + 1, floored as PyTorch does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _core
from ._args import as_float32, int_tuple, integer, normalise_dim, padding4, positive_pair


def window_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int,
                ceil_mode: bool) -> int:
    """Output length along one axis; raises ValueError when no window fits.

    A window must fit the padded input, except that with ``ceil_mode`` (pooling) the last one may run past
    its end, as in PyTorch: one window of kernel 2 and stride 2 pools a single pixel.
    """
    out = int(_core.window_output_size(size, kernel, stride, pad_before, pad_after, dilation, ceil_mode))
    if out < 1:
        effective = dilation * (kernel - 1) + 1
        raise ValueError(
            f"kernel of effective size {effective} (kernel {kernel}, dilation {dilation}) is larger than the "
            f"padded input ({size} + {pad_before} + {pad_after} = {size + pad_before + pad_after})")
    return out


def conv_output_size(size: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, *,
                     ceil_mode: bool = False, strict: bool = False) -> Any:
    """Output size of a convolution or pooling window: ``floor((W + 2P - D(F-1) - 1) / S) + 1``.

    ``size`` is an int or a tuple (one entry per spatial axis); the other arguments are ints or tuples of
    the same length. ``strict=True`` raises ValueError, with the arithmetic, when the windows do not tile
    the padded input exactly (input elements at the end would never be read) — a 3-wide filter with
    stride 3 on a 7-wide input, say.
    """
    scalar = not isinstance(size, (tuple, list))
    sizes = (integer(size, "size"),) if scalar else tuple(integer(s, "size") for s in size)
    n = len(sizes)
    kernels, strides = int_tuple(kernel_size, n, "kernel_size"), int_tuple(stride, n, "stride")
    pads, dilations = int_tuple(padding, n, "padding"), int_tuple(dilation, n, "dilation")
    out = []
    for w, f, s, p, d in zip(sizes, kernels, strides, pads, dilations, strict=True):
        if w < 0 or f < 1 or s < 1 or p < 0 or d < 1:
            raise ValueError(f"need size ≥ 0, kernel ≥ 1, stride ≥ 1, padding ≥ 0, dilation ≥ 1; got size={w}, "
                             f"kernel_size={f}, stride={s}, padding={p}, dilation={d}")
        o = window_size(w, f, s, p, p, d, ceil_mode)
        span = w + 2 * p - d * (f - 1) - 1
        if strict and span % s:
            raise ValueError(
                f"windows of effective size {d * (f - 1) + 1} with stride {s} do not tile an input of {w} with "
                f"padding {p}: (W - F + 2P)/S + 1 = ({w} - {d * (f - 1) + 1} + 2*{p})/{s} + 1 = {span / s + 1:.4g} "
                f"is not an integer, so the last {span % s} element(s) of the padded input are never read")
        out.append(o)
    return out[0] if scalar else tuple(out)


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


def avg_pool_divisor(divisor_override: int | None) -> int:
    """0 (divide by the window) or the override, checked."""
    if divisor_override is None:
        return 0
    divisor = integer(divisor_override, "avg_pool2d: divisor_override")
    if divisor < 1:
        raise ValueError(f"avg_pool2d: divisor_override must be positive, got {divisor}")
    return divisor


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


def softmax_view(shape: tuple[int, ...], dim: Any, op: str) -> tuple[int, int, int]:
    """(outer, dim, inner): the shape the kernels of `op` (softmax, log_softmax) see an array of `shape` as."""
    d = normalise_dim(dim, len(shape), f"{op}: dim")
    shape = shape if shape else (1,)
    return int(np.prod(shape[:d])), shape[d], int(np.prod(shape[d + 1:]))


def lrn_size(input_shape: tuple[int, ...], size: Any) -> int:
    if len(input_shape) < 3:
        raise ValueError(f"local_response_norm: input must have at least 3 dimensions (N, C, *), got shape "
                         f"{input_shape}")
    n = integer(size, "local_response_norm: size")
    if n < 1:
        raise ValueError(f"local_response_norm: size must be positive, got {n}")
    return n


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


def channels_shape(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(N, C, *) as (N, C, inner): the shape per-channel kernels (LRN, batch norm) see."""
    return shape[0], shape[1], math.prod(shape[2:])


def flattened_shape(shape: tuple[int, ...], start_dim: Any, end_dim: Any, op: str) -> tuple[int, ...]:
    """`shape` with dimensions start_dim..end_dim merged (a 0-D shape flattens to (1,), as in PyTorch)."""
    if not shape:
        return (1,)
    n = len(shape)
    start = normalise_dim(start_dim, n, f"{op}: start_dim")
    end = normalise_dim(end_dim, n, f"{op}: end_dim")
    if start > end:
        raise ValueError(f"{op}: start_dim {start_dim} comes after end_dim {end_dim} for shape {shape}")
    return (*shape[:start], math.prod(shape[start:end + 1]), *shape[end + 1:])


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad_arguments(shape: tuple[int, ...], pad: Any, mode: str, value: Any) -> tuple[tuple[tuple[int, int], ...],
                                                                                  tuple[int, ...]]:
    """((before, after) per axis of `shape`, the output shape) for torch.nn.functional.pad's arguments."""
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(map(repr, _PAD_MODES))}, got {mode!r}")
    if not isinstance(pad, (tuple, list)) or len(pad) % 2 or len(pad) == 0:
        raise ValueError(f"pad: pad must be a tuple of an even number of ints (left, right, top, bottom, …), "
                         f"got {pad!r}")
    amounts = [integer(p, "pad: pad") for p in pad]
    axes = len(amounts) // 2
    if axes > len(shape):
        raise ValueError(f"pad: {len(amounts)} amounts pad {axes} dimensions, but the input of shape {shape} has "
                         f"{len(shape)}")
    if mode != "constant":
        if value not in (None, 0, 0.0):
            raise ValueError(f"pad: value={value} is only for mode='constant', not {mode!r}")
        if len(shape) not in (axes + 1, axes + 2):  # as torch: a batch and a channel axis, or a channel axis
            raise ValueError(f"pad: mode {mode!r} pads {axes} dimension(s) of a {axes + 1}-D or {axes + 2}-D input "
                             f"(channels first, optionally a batch); got shape {shape} and {len(amounts)} amounts")
    pads = [(0, 0)] * len(shape)
    for i in range(axes):
        pads[len(shape) - 1 - i] = (amounts[2 * i], amounts[2 * i + 1])
    out_shape = tuple(size + a + b for size, (a, b) in zip(shape, pads, strict=True))
    for axis, (size, (a, b)) in enumerate(zip(shape, pads, strict=True)):
        if size + a + b < 0 or (size + a + b == 0 and size > 0):
            raise ValueError(f"pad: amounts {(a, b)} leave dimension {axis} of shape {shape} with no elements")
        if mode == "reflect" and (a >= size or b >= size):
            raise ValueError(f"pad: reflect padding of {(a, b)} must be below the size {size} of dimension {axis} "
                             f"(input shape {shape})")
        if mode in ("replicate", "circular") and size == 0 and (a > 0 or b > 0):
            raise ValueError(f"pad: cannot {mode}-pad the empty dimension {axis} of shape {shape}")
        if mode == "circular" and (a > size or b > size):
            raise ValueError(f"pad: circular padding of {(a, b)} must be at most the size {size} of dimension "
                             f"{axis} (input shape {shape})")
    return tuple(pads), out_shape
