"""Plans on the CPU: _core's kernels on numpy arrays, weights packed once for the ISA in use.

Each convolution gets the algorithm _core.conv_algorithm picks for its input shape (Winograd F(4×4, 3×3), direct
convolution, or im2col + GEMM); PYCNN_VERBOSE=1 prints the choice per layer when a plan is built. Winograd's
transforms would spread a NaN or an Inf in the input over whole 4×4 output tiles (and turn an Inf into NaN), so
an input that holds any (or magnitudes near overflow: WINOGRAD_INPUT_LIMIT) runs through a plan without Winograd
(winograd=False), whose layers take GEMM instead: it propagates as in PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from .. import _core
from .._args import F32, empty
from .backend import ConvBn, Execute, convs_key, fold_batch_norm, report_conv_choice
from .layers import Layer, Linear

# Input magnitudes Winograd takes: far above any image, far below where its transforms' sums of up to ~100 inputs
# could overflow float32 before direct convolution would.
WINOGRAD_INPUT_LIMIT = 1e30


class HostBackend:
    def __init__(self, winograd: bool = True) -> None:
        self.winograd = winograd
        self.uses_winograd = False  # whether a convolution of the plan built with it took Winograd

    @staticmethod
    def winograd_takes(x: F32) -> bool:
        """Whether a plan with Winograd may run x: no NaN or Inf, no magnitude above WINOGRAD_INPUT_LIMIT."""
        return _core.all_within(x, WINOGRAD_INPUT_LIMIT)

    def key(self) -> tuple[Hashable, ...]:
        return ("cpu", _core.isa(), self.winograd)

    def conv(self, name: str, convs: Sequence[ConvBn], relu: bool, input_shape: tuple[int, ...],
             packed: dict[Any, Any]) -> Execute:
        conv = convs[0][0]
        window, out_channels = conv.window, sum(c.out_channels for c, _ in convs)
        weight_shape = (out_channels, *conv.weight.shape[1:])
        algorithm = _core.conv_algorithm(input_shape, weight_shape, window.stride, window.padding,
                                         window.dilation, conv.groups)
        if algorithm == "winograd" and not self.winograd:
            algorithm = "gemm"
        self.uses_winograd |= algorithm == "winograd"
        key = ("conv", convs_key(convs), _core.isa(), algorithm)
        if key not in packed:
            w, b = fold_batch_norm(convs)
            packed[key] = (_core.PackedConv2d(w, conv.groups, algorithm), b)
        weight, bias = packed[key]
        report_conv_choice(name, convs, input_shape, algorithm)

        def execute(x: F32, *rest: F32) -> None:
            res, out = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])
            _core.conv2d_packed(x, weight, bias, out, window.stride, window.padding, window.dilation, relu, res)

        return execute

    def linear(self, linear: Linear, relu: bool, packed: dict[Any, Any]) -> Execute:
        key = ("linear", id(linear), _core.isa())
        if key not in packed:
            packed[key] = _core.PackedLinear(linear.weight)
        weight, bias, n = packed[key], linear.bias, linear.in_features

        def execute(x: F32, out: F32) -> None:
            _core.linear_packed(x.reshape(-1, n), weight, bias, out.reshape(-1, out.shape[-1]), relu)

        return execute

    def layer(self, layer: Layer, input_shape: tuple[int, ...], packed: dict[Any, Any]) -> Execute:
        return layer.run

    def add(self) -> Execute:
        return lambda a, b, out: np.add(a, b, out=out)

    def cat(self, dim: int) -> Execute:
        return lambda *xs: np.concatenate(xs[:-1], axis=dim, out=xs[-1])

    def empty(self, shape: tuple[int, ...], what: str) -> F32:
        return empty(shape, what)

    def slot(self, buffer: F32, shape: tuple[int, ...], offset: int = 0) -> F32:
        return buffer.reshape(-1)[offset:offset + math.prod(shape)].reshape(shape)

    def copy(self, array: F32) -> F32:
        return np.array(array, copy=True)

    def synchronize(self) -> None:
        pass
