"""Model plans on the GPU: _cuda's kernels on DeviceArrays, weights uploaded once per precision.

A model moved with ``model.to("cuda")`` runs every call through a plan built by pycnn.nn.plan with this
backend: the same fusions as on the CPU (BatchNorm folded into the convolution, bias, residual and ReLU in its
store), activations in device buffers reused across calls, and the convolution and linear weights uploaded on
the plan's first call, then kept (in the precision of pycnn.cuda.get_precision()) until a weight changes.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from .. import functional as F
from .._args import as_float32
from .._device import is_device_array
from ..nn import trace
from ..nn.backend import ConvBn, Execute, convs_key, fold_batch_norm, report_conv_choice
from ..nn.layers import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    Layer,
    Linear,
    LocalResponseNorm,
    MaxPool2d,
    ReLU,
    Softmax,
)
from ..nn.plan import Plan, PlanCache
from . import _runtime
from ._precision import get_precision
from .arrays import as_device, like


def _channels_view(x: Any) -> Any:
    """(N, C, *) as (N, C, inner)."""
    return x.reshape((x.shape[0], x.shape[1], int(np.prod(x.shape[2:]))))


def _around(x: Any, dim: int) -> Any:
    """x as (before dim, dim, after dim)."""
    shape = x.shape
    return x.reshape((int(np.prod(shape[:dim])), shape[dim], int(np.prod(shape[dim + 1:]))))


class CudaBackend:
    def __init__(self, precision: str):
        self.precision = precision
        self.cuda = _runtime.require("a model plan on CUDA")

    def key(self) -> tuple[Hashable, ...]:
        return ("cuda", self.precision)

    def conv(self, name: str, convs: Sequence[ConvBn], relu: bool, input_shape: tuple[int, ...],
             packed: dict[Any, Any]) -> Execute:
        cuda, conv = self.cuda, convs[0][0]
        window = conv.window
        key = ("cuda conv", convs_key(convs), self.precision)
        if key not in packed:
            w, b = fold_batch_norm(convs)
            packed[key] = (cuda.PackedConv2d(w, conv.groups, self.precision), None if b is None else cuda.to_device(b))
        weight, bias = packed[key]
        report_conv_choice(name, convs, input_shape, f"CUDA implicit GEMM ({self.precision})")

        def execute(x: Any, *rest: Any) -> None:
            res, out = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])
            cuda.conv2d_packed(x, weight, bias, out, window.stride, window.padding, window.dilation, relu, res)

        return execute

    def linear(self, linear: Linear, relu: bool, packed: dict[Any, Any]) -> Execute:
        cuda, n = self.cuda, linear.in_features
        key = ("cuda linear", id(linear), self.precision)
        if key not in packed:
            bias = None if linear.bias is None else cuda.to_device(linear.bias)
            packed[key] = (cuda.PackedLinear(linear.weight, self.precision), bias)
        weight, bias = packed[key]

        def execute(x: Any, out: Any) -> None:
            cuda.linear_packed(x.reshape((-1, n)), weight, bias, out.reshape((-1, out.shape[-1])), relu)

        return execute

    def layer(self, layer: Layer, input_shape: tuple[int, ...], packed: dict[Any, Any]) -> Execute:
        cuda = self.cuda
        if isinstance(layer, ReLU):
            return cuda.relu  # type: ignore[no-any-return]
        if isinstance(layer, (MaxPool2d, AvgPool2d)):
            w = layer.window
            if isinstance(layer, MaxPool2d):
                return lambda x, out: cuda.max_pool2d(x, out, w.kernel, w.stride, w.padding, w.dilation, w.ceil_mode)
            include_pad, divisor = layer.count_include_pad, F.avg_pool_divisor(layer.divisor_override)
            return lambda x, out: cuda.avg_pool2d(x, out, w.kernel, w.stride, w.padding, w.ceil_mode, include_pad,
                                                  divisor)
        if isinstance(layer, AdaptiveAvgPool2d):
            return cuda.adaptive_avg_pool2d  # type: ignore[no-any-return]
        if isinstance(layer, LocalResponseNorm):
            size, alpha, beta, k = layer.size, layer.alpha, layer.beta, layer.k
            return lambda x, out: cuda.local_response_norm(_channels_view(x), _channels_view(out), size, alpha, beta,
                                                           k)
        if isinstance(layer, Softmax):
            view = F.softmax_view(input_shape, layer._dim(len(input_shape)))
            return lambda x, out: cuda.softmax(x.reshape(view), out.reshape(view))
        if hasattr(layer, "affine_terms"):  # BatchNorm2d on its own, GoogLeNet's input transform
            return self._channel_affine(layer, packed)
        return self._on_host(layer)

    def _channel_affine(self, layer: Any, packed: dict[Any, Any]) -> Execute:
        cuda = self.cuda
        key = ("cuda affine", id(layer))
        if key not in packed:
            scale, shift = layer.affine_terms()
            packed[key] = (cuda.to_device(scale.astype(np.float32)), cuda.to_device(shift.astype(np.float32)))
        scale, shift = packed[key]
        return lambda x, out: cuda.channel_affine(_channels_view(x), scale, shift, _channels_view(out))

    def _on_host(self, layer: Layer) -> Execute:
        warnings.warn(f"{type(layer).__name__} has no CUDA kernel: it runs on the CPU, its input and output copied "
                      "between host and device at every call", RuntimeWarning, stacklevel=2)

        def execute(x: Any, out: Any) -> None:
            host_out = np.empty(tuple(out.shape), np.float32)
            layer.run(x.numpy(), host_out)
            out.copy_from_host(host_out)

        return execute

    def add(self) -> Execute:
        return self.cuda.add  # type: ignore[no-any-return]

    def cat(self, dim: int) -> Execute:
        cuda = self.cuda

        def execute(*arrays: Any) -> None:
            cuda.concat([_around(x, dim) for x in arrays[:-1]], _around(arrays[-1], dim))

        return execute

    def empty(self, shape: tuple[int, ...], what: str) -> Any:
        return self.cuda.empty(shape)

    def slot(self, buffer: Any, shape: tuple[int, ...], offset: int = 0) -> Any:
        return buffer.view(shape, offset)

    def copy(self, array: Any) -> Any:
        return array.copy()

    def synchronize(self) -> None:
        self.cuda.synchronize()


def device_plan(cache: PlanCache, x: Any) -> tuple[Plan, Any]:
    """The CUDA plan of cache's module for input x, and x as a DeviceArray (uploaded when x is a host array)."""
    name = type(cache.module).__name__
    cuda = _runtime.require(f"{name} on CUDA")
    if is_device_array(x):
        device_input = as_device(x, f"{name}: input")
    else:
        device_input = cuda.to_device(as_float32(x, f"{name}: input"))
    try:
        plan = cache.plan(tuple(device_input.shape), CudaBackend(get_precision()))
    except trace.Untraceable as e:
        raise RuntimeError(f"{name} cannot run on CUDA: its forward cannot be traced into a plan ({e})") from None
    return plan, device_input


def run_plan(cache: PlanCache, x: Any) -> Any:
    """model(x) on CUDA: numpy in, numpy out; a device array in, a device array of its kind out."""
    plan, device_input = device_plan(cache, x)
    out = plan.run(device_input)
    return like(out, x) if is_device_array(x) else out.numpy()
