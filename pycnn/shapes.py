"""Output sizes of sliding windows: the classic (W − F + 2P)/S + 1, floored as PyTorch does."""

from __future__ import annotations

from typing import Any

from . import _core
from ._args import int_tuple, integer


def window_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int,
                ceil_mode: bool = False) -> int:
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
