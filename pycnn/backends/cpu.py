"""The host: _core's kernels on numpy arrays, with weights packed once per ISA for plans.

A plan's convolutions take the algorithm _core.conv_algorithm picks for their input shape (Winograd F(4×4, 3×3),
direct convolution, or im2col + GEMM; in bf16, one of the GEMMs). Convolutions and linear layers multiply in the
backend's precision: 'bf16', or 'fp32' (asked for 'tf32', which the CPU has no arithmetic for, they compute in
fp32). Winograd's transforms would spread a NaN or an Inf in the input over
whole 4×4 output tiles (and turn an Inf into NaN), so an input that holds any, or magnitudes near overflow
(WINOGRAD_INPUT_LIMIT), runs through the plan's variant without Winograd, whose layers take GEMM instead.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from .. import _core
from .._args import F32, as_float32, empty, host_result
from .._precision import get_precision
from ..shapes import Window
from . import backend_class, base, names

# Input magnitudes Winograd takes: far above any image, far below where its transforms' sums of up to ~100 inputs
# could overflow float32 before direct convolution would.
WINOGRAD_INPUT_LIMIT = 1e30


def _cpu_precision(name: str) -> str:
    """What the CPU multiplies in when asked for `name`: bf16, else fp32."""
    return "bf16" if name == "bf16" else "fp32"


class Backend(base.Backend):
    label = "CPU"
    is_host = True
    move_hint = ".numpy() / .cpu()"

    def __init__(self, precision: str | None = None, winograd: bool = True) -> None:
        super().__init__(precision)
        self.precision = _cpu_precision(self.precision)
        self.winograd = winograd
        self.uses_winograd = False  # whether a convolution of a plan built with this backend took Winograd

    @classmethod
    def owns(cls, value: Any) -> bool:
        return True

    def key(self) -> tuple[Hashable, ...]:
        return ("cpu", _core.isa(), self.winograd, self.precision)

    # -- arrays -------------------------------------------------------------------------------------------------
    def asarray(self, value: Any, name: str) -> F32:
        return as_float32(value, name)

    def empty(self, shape: tuple[int, ...], what: str) -> F32:
        return empty(shape, what)

    def slot(self, buffer: F32, shape: tuple[int, ...], offset: int) -> F32:
        return buffer.reshape(-1)[offset:offset + math.prod(shape)].reshape(shape)

    def copy(self, array: F32) -> F32:
        return np.array(array, copy=True)

    def result(self, out: F32, template: Any) -> Any:
        return host_result(out, template)

    def model_input(self, value: Any, name: str) -> F32:
        for device in names()[1:]:
            other = backend_class(device)
            if other.owns(value):
                raise TypeError(f"{name} is on the CPU, but its input is a {other.label} array: move the model with "
                                f".to({device!r}), or the input with {self.move_hint}")
        return self.asarray(value, f"{name}: input")

    def for_input(self, x: F32) -> Backend:
        if self.uses_winograd and not _core.all_within(x, WINOGRAD_INPUT_LIMIT):
            return Backend(self.precision, winograd=False)
        return self

    # -- kernels ------------------------------------------------------------------------------------------------
    def conv2d(self, x: F32, weight: F32, bias: F32 | None, out: F32, window: Window, groups: int) -> None:
        _core.conv2d(x, weight, bias, out, window.stride, window.padding, window.dilation, groups,
                     precision=_cpu_precision(get_precision()))

    def max_pool2d(self, x: F32, out: F32, window: Window) -> None:
        _core.max_pool2d(x, out, window.kernel, window.stride, window.padding, window.dilation, window.ceil_mode)

    def avg_pool2d(self, x: F32, out: F32, window: Window, count_include_pad: bool, divisor: int) -> None:
        _core.avg_pool2d(x, out, window.kernel, window.stride, window.padding, window.ceil_mode, count_include_pad,
                         divisor)

    def adaptive_avg_pool2d(self, x: F32, out: F32) -> None:
        _core.adaptive_avg_pool2d(x, out)

    def relu(self, x: F32, out: F32) -> None:
        _core.relu(x, out)

    def linear(self, x: F32, weight: F32, bias: F32 | None, out: F32) -> None:
        _core.linear(x, weight, bias, out, precision=_cpu_precision(get_precision()))

    def softmax(self, x: F32, out: F32) -> None:
        _core.softmax(x, out)

    def local_response_norm(self, x: F32, out: F32, size: int, alpha: float, beta: float, k: float) -> None:
        _core.local_response_norm(x, out, size, alpha, beta, k)

    def channel_affine(self, x: F32, out: F32, scale: F32, shift: F32) -> None:
        _core.channel_affine(x, scale, shift, out)

    def add(self, a: F32, b: F32, out: F32) -> None:
        np.add(a, b, out=out)

    def cat(self, inputs: Sequence[F32], out: F32, dim: int) -> None:
        np.concatenate(inputs, axis=dim, out=out)

    def sigmoid(self, x: F32, out: F32) -> None:
        with np.errstate(over="ignore"):  # exp(-x) overflows to inf for x < -88: the result is then 0, as in torch
            np.divide(1.0, 1.0 + np.exp(-x), out=out)

    def tanh(self, x: F32, out: F32) -> None:
        np.tanh(x, out=out)

    def leaky_relu(self, x: F32, out: F32, negative_slope: float) -> None:
        with np.errstate(invalid="ignore"):  # -inf · 0 is NaN, as in torch
            np.copyto(out, np.where(x > 0, x, x * np.float32(negative_slope)))  # as torch: zeros times the slope too

    def hardtanh(self, x: F32, out: F32, min_val: float, max_val: float) -> None:
        np.clip(x, np.float32(min_val), np.float32(max_val), out=out)

    def log_softmax(self, x: F32, out: F32) -> None:
        # NaN and ±Inf propagate as in torch, and so does a -inf from x − max past float32's range.
        with np.errstate(over="ignore", invalid="ignore"):
            shifted = x - x.max(axis=1, keepdims=True)
            np.subtract(shifted, np.log(np.exp(shifted).sum(axis=1, keepdims=True)), out=out)

    def pad(self, x: F32, out: F32, pads: tuple[tuple[int, int], ...], mode: str, value: float) -> None:
        # As torch: negative amounts crop first, and the positive ones pad what remains.
        crop = tuple(slice(-min(a, 0), min(b, 0) or None) for a, b in pads)
        grown = tuple((max(a, 0), max(b, 0)) for a, b in pads)
        numpy_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
        extra = {"constant_values": value} if mode == "constant" else {}
        np.copyto(out, np.pad(x[crop], grown, mode=numpy_mode, **extra))  # type: ignore[call-overload]

    def max_pool2d_with_indices(self, x: F32, out: F32, indices: np.ndarray, window: Window) -> None:
        (kh, kw), (sh, sw), (top, _, left, _), (dh, dw) = window.kernel, window.stride, window.padding, window.dilation
        n, c, h, w = x.shape
        oh, ow = out.shape[2:]
        # Every window whole inside a -inf border (ceil mode's last window may run past the padding).
        ph = max(top + h, (oh - 1) * sh + (kh - 1) * dh + 1)
        pw = max(left + w, (ow - 1) * sw + (kw - 1) * dw + 1)
        padded = np.full((n, c, ph, pw), -np.inf, np.float32)
        padded[:, :, top:top + h, left:left + w] = x
        s = padded.strides
        windows = np.lib.stride_tricks.as_strided(
            padded, (n, c, oh, ow, kh, kw), (s[0], s[1], sh * s[2], sw * s[3], dh * s[2], dw * s[3]),
            writeable=False).reshape(n, c, oh, ow, kh * kw)
        # Each window tap's row and column in the input, (oh, ow, kh·kw), negative or past the end in the border.
        row = np.arange(oh)[:, None, None] * sh + np.repeat(np.arange(kh) * dh, kw)[None, None, :] - top
        col = np.arange(ow)[None, :, None] * sw + np.tile(np.arange(kw) * dw, kh)[None, None, :] - left
        inside = (row >= 0) & (row < h) & (col >= 0) & (col < w)  # (oh, ow, taps)
        # As torch: the first maximum, or the last NaN of a window that holds any.
        best = windows.argmax(axis=-1)
        nans = np.isnan(windows)
        last_nan = windows.shape[-1] - 1 - nans[..., ::-1].argmax(axis=-1)
        best = np.where(nans.any(axis=-1), last_nan, best)

        def pick(values: np.ndarray) -> np.ndarray:
            return np.take_along_axis(np.broadcast_to(values, windows.shape), best[..., None], -1)[..., 0]

        # A window of -inf only keeps its first tap inside the input, as torch does, not a border tap.
        best = np.where(pick(inside), best, inside.argmax(axis=-1))
        np.copyto(out, pick(windows))
        np.copyto(indices, pick(row).astype(np.int64) * w + pick(col))
        # A window with no tap inside the input (padding and dilation) points, as torch's, at its first tap at
        # or past the input's start on each axis.
        outside = ~inside.any(axis=-1)
        if outside.any():
            first_row = np.where(row >= 0, row, np.iinfo(np.int64).max).min(axis=-1)
            first_col = np.where(col >= 0, col, np.iinfo(np.int64).max).min(axis=-1)
            np.copyto(indices, np.broadcast_to(first_row * w + first_col, indices.shape), where=outside)

    def call(self, *args: Any) -> None:
        *inputs, out, function = args
        out[...] = function(*inputs)

    # -- prepared steps -----------------------------------------------------------------------------------------
    def conv_step(self, conv: base.ConvSpec, input_shape: tuple[int, ...],
                  packed: dict[Any, Any]) -> tuple[base.Execute, str]:
        window, relu = conv.window, conv.relu
        algorithm = _core.conv_algorithm(input_shape, conv.weight_shape, window.stride, window.padding,
                                         window.dilation, conv.groups, self.precision)
        if algorithm == "winograd" and not self.winograd:
            algorithm = "gemm"
        self.uses_winograd |= algorithm == "winograd"
        key = (conv.key, _core.isa(), algorithm, self.precision)
        if key not in packed:
            w, b = conv.weights()
            packed[key] = (_core.PackedConv2d(w, conv.groups, algorithm, self.precision), b)
        weight, bias = packed[key]

        def execute(x: F32, *rest: F32) -> None:
            res, out = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])
            _core.conv2d_packed(x, weight, bias, out, window.stride, window.padding, window.dilation, relu, res)

        return execute, algorithm

    def linear_step(self, key: Hashable, weight: np.ndarray, bias: np.ndarray | None, relu: bool,
                    packed: dict[Any, Any]) -> base.Execute:
        packed_key = (key, _core.isa(), self.precision)
        if packed_key not in packed:
            packed[packed_key] = _core.PackedLinear(weight, self.precision)
        packed_weight, n = packed[packed_key], weight.shape[1]

        def execute(x: F32, out: F32) -> None:
            _core.linear_packed(x.reshape(-1, n), packed_weight, bias, out.reshape(-1, out.shape[-1]), relu)

        return execute
