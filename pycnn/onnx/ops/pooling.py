"""MaxPool, AveragePool and the global pools: pycnn.nn's pooling layers where the pads are fixed and within
half the kernel (PyTorch's limit, which the kernels share); numpy windows for the rest of ONNX's range (larger
pads, AveragePool's dilations)."""

from __future__ import annotations

import math

import numpy as np

from ... import functional as F
from ... import nn
from .registry import Arrays, Attrs, Context, Fallback, Generic, LayerOfRank, LayerRun, Runner, op
from .windows import Pads, Window2d, as_4d, from_4d, window2d


def _kernels_take(window: Window2d, pads: Pads, kind: str) -> bool:
    """Whether pycnn's pooling kernels compute this window: pads within half the kernel, no dilated average."""
    (kh, kw), (top, bottom, left, right) = window.kernel, pads
    return max(top, bottom) <= kh // 2 and max(left, right) <= kw // 2 and (kind == "max" or
                                                                           window.dilations == (1, 1))


def _indices_read(node_outputs: list[str]) -> bool:
    return len(node_outputs) > 1 and bool(node_outputs[1])


def _build_pool(ctx: Context) -> Runner | None:
    a = ctx.attrs
    kind = "max" if a.node.op_type == "MaxPool" else "average"
    window = window2d(a, None, "pooling")
    pads = window.static_pads()
    if pads is None or window.one_d or _indices_read(a.node.outputs) or not _kernels_take(window, pads, kind):
        return None
    ceil_mode = bool(a.get("ceil_mode", 0))
    if kind == "max":
        layer: nn.Module = nn.MaxPool2d(window.kernel, window.strides, pads, window.dilations, ceil_mode=ceil_mode)
    else:
        layer = nn.AvgPool2d(window.kernel, window.strides, pads, ceil_mode,
                             count_include_pad=bool(a.get("count_include_pad", 0)))
    return LayerRun(ctx.register(layer))


_POOL_ATTRS = ("auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "strides")


@op("MaxPool", (*_POOL_ATTRS, "storage_order"), _build_pool)
def max_pool(a: Attrs, inputs: Arrays) -> Arrays:
    window = window2d(a, None, "pooling")
    x = as_4d(a, window, inputs[0], "pooling")
    pads = window.pads_for(x.shape[2:])
    ceil_mode = bool(a.get("ceil_mode", 0))
    if not _kernels_take(window, pads, "max"):
        if _indices_read(a.node.outputs):
            raise a.refuse(f"the Indices output of pads {list(pads)} beyond half the kernel is not supported")
        return [from_4d(window, _numpy_pool(x, window, pads, ceil_mode, "max", False))]
    if not _indices_read(a.node.outputs):
        return [from_4d(window, F.max_pool2d(x, window.kernel, window.strides, pads, window.dilations, ceil_mode))]
    y, plane_index = F.max_pool2d(x, window.kernel, window.strides, pads, window.dilations, ceil_mode,
                                  return_indices=True)
    n, c, h, w = x.shape
    planes = (np.arange(n * c, dtype=np.int64) * h * w).reshape(n, c, 1, 1)
    if int(a.get("storage_order", 0)) == 1:  # column-major: the plane's index w·H + h
        plane_index = (plane_index % w) * h + plane_index // w
    return [from_4d(window, y), from_4d(window, planes + plane_index)]


@op("AveragePool", (*_POOL_ATTRS, "count_include_pad"), _build_pool)
def average_pool(a: Attrs, inputs: Arrays) -> Arrays:
    window = window2d(a, None, "pooling")
    x = as_4d(a, window, inputs[0], "pooling")
    pads = window.pads_for(x.shape[2:])
    ceil_mode, include_pad = bool(a.get("ceil_mode", 0)), bool(a.get("count_include_pad", 0))
    if not _kernels_take(window, pads, "average"):
        return [from_4d(window, _numpy_pool(x, window, pads, ceil_mode, "average", include_pad))]
    return [from_4d(window, F.avg_pool2d(x, window.kernel, window.strides, pads, ceil_mode, include_pad))]


def _numpy_pool(x: np.ndarray, window: Window2d, pads: Pads, ceil_mode: bool, kind: str,
                include_pad: bool) -> np.ndarray:
    """Pooling over explicit windows: padding never wins a maximum, and an average divides by the taps inside the
    input (and inside the pads, with count_include_pad) — as the kernels do, for any pads and dilations."""
    n, c, h, w = x.shape
    sizes, spans = [], []
    for size, k, s, d, before, after in zip((h, w), window.kernel, window.strides, window.dilations,
                                            pads[0::2], pads[1::2], strict=True):
        span = size + before + after - (k - 1) * d - 1
        if span < 0:
            raise ValueError(f"pooling: a window of {k} (dilation {d}) does not fit an input of {size} padded by "
                             f"{before}, {after}")
        out = (math.ceil(span / s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= size + before:  # the last window must start inside the input or its pad
            out -= 1
        sizes.append(out)
        spans.append(max(size + before + after, (out - 1) * s + (k - 1) * d + 1))
    (oh, ow), (ph, pw) = sizes, spans
    (top, bottom, left, right) = pads
    fill = -np.inf if kind == "max" else 0.0
    padded = np.full((n, c, ph, pw), fill, np.float64)
    padded[:, :, top:top + h, left:left + w] = x
    counted = np.zeros((ph, pw))
    if include_pad:
        counted[:h + top + bottom, :w + left + right] = 1
    else:
        counted[top:top + h, left:left + w] = 1

    def windows(array: np.ndarray) -> np.ndarray:
        (kh, kw), (sh, sw), (dh, dw) = window.kernel, window.strides, window.dilations
        st = array.strides
        return np.lib.stride_tricks.as_strided(
            array, (*array.shape[:-2], oh, ow, kh, kw),
            (*st[:-2], sh * st[-2], sw * st[-1], dh * st[-2], dw * st[-1]), writeable=False)

    if kind == "max":
        result: np.ndarray = windows(padded).max(axis=(-2, -1))
    else:
        result = windows(padded).sum(axis=(-2, -1)) / windows(counted).sum(axis=(-2, -1))
    return result.astype(np.float32)


def _build_global_average(ctx: Context) -> Runner:
    layer = ctx.register(nn.AdaptiveAvgPool2d(1))
    return Fallback(LayerOfRank(layer, 4, 4), Generic(global_average_pool, ctx.attrs))


@op("GlobalAveragePool", (), _build_global_average)
def global_average_pool(a: Attrs, inputs: Arrays) -> Arrays:
    x = np.asarray(inputs[0])
    if x.ndim < 3:
        raise a.invalid(f"the input must be (N, C, D1, …), got shape {x.shape}")
    return [x.mean(axis=tuple(range(2, x.ndim)), keepdims=True, dtype=np.float64).astype(x.dtype)]


@op("GlobalMaxPool")
def global_max_pool(a: Attrs, inputs: Arrays) -> Arrays:
    x = np.asarray(inputs[0])
    if x.ndim < 3:
        raise a.invalid(f"the input must be (N, C, D1, …), got shape {x.shape}")
    return [x.max(axis=tuple(range(2, x.ndim)), keepdims=True)]
