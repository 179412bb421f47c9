"""The layers, with torch.nn's constructor signatures.

Each layer runs eagerly through pycnn.functional, and describes itself to the inference plan: its output shape
and cost, and the one kernel call it stands for (`op`). Convolution and linear layers, whose stores fuse what
follows them, are described by the plan itself.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import backends
from .. import functional as F
from .._args import Result, check_ndim, int_tuple, integer, positive_pair
from ..backends import Op
from ..shapes import (
    adaptive_output_hw,
    avg_pool_divisor,
    batch_norm_affine,
    channels_shape,
    check_conv_shapes,
    conv_window,
    flattened_shape,
    pool_window,
    softmax_view,
)
from .module import Module

Shape = tuple[int, ...]


def _uniform(shape: Shape, bound: float) -> np.ndarray:
    rng = np.random.default_rng()
    values: np.ndarray = rng.random(shape, dtype=np.float32) * np.float32(2 * bound) - np.float32(bound)
    return values


def _padding_repr(padding: Any) -> tuple[int, ...]:
    """Padding as PyTorch shows it: (h, w), or the 4-tuple (top, bottom, left, right) when asymmetric."""
    n = len(padding) if isinstance(padding, (tuple, list)) else 2
    return int_tuple(padding, n, "padding")


def _check_spatial(op: str, shape: Shape) -> None:
    if len(shape) != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {shape}")


class Layer(Module):
    """A module that computes one op: traced as a single node, never compiled on its own."""

    compiles_on_call = False
    # Whether the output is the input reshaped (Dropout, Flatten): a plan then makes it a view, running nothing.
    view_only = False

    def output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def macs(self, input_shape: Shape, output_shape: Shape) -> int:
        """Multiply-accumulates of one call (counted for convolution and linear layers)."""
        return 0

    def op(self, input_shape: Shape) -> Op:
        """The kernel call that computes this layer on an input of `input_shape` (float32, C-contiguous) into an
        output of output_shape(input_shape). By default, forward's result copied into the output (on the host)."""
        return Op("call", (self.forward,))

    def forward(self, x: Any) -> Result:
        """The layer's op, on the device x lives on."""
        backend = backends.for_arrays(type(self).__name__, input=x)
        array = backend.asarray(x, f"{type(self).__name__}: input")
        out = backend.empty(self.output_shape(array.shape), f"{type(self).__name__} output")
        backend.op_step(self.op(array.shape), {})(array, out)
        return backend.result(out, x)



class Conv2d(Layer):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros") -> None:
        super().__init__()
        self.in_channels, self.out_channels = integer(in_channels, "in_channels"), integer(out_channels, "out_channels")
        self.groups = integer(groups, "groups")
        if self.groups < 1 or self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"Conv2d: groups={groups} must be positive and divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        if padding_mode != "zeros":
            raise ValueError(f"Conv2d: only padding_mode='zeros' is supported, got {padding_mode!r}")
        self.padding_mode = padding_mode
        self.kernel_size = positive_pair(kernel_size, "kernel_size")
        self.window = conv_window(self.kernel_size, stride, padding, dilation)
        self.stride, self.dilation = self.window.stride, self.window.dilation
        self.padding = padding if isinstance(padding, str) else _padding_repr(padding)
        fan_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
        bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
        self.register_parameter("weight", _uniform((self.out_channels, self.in_channels // self.groups,
                                                    *self.kernel_size), bound))
        self.register_parameter("bias", _uniform((self.out_channels,), bound) if bias else None)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.padding):  # as PyTorch: a string ("same", "valid") always shows
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + ("" if self.bias is not None else ", bias=False")

    def forward(self, x: Any) -> Result:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.window.padding, self.dilation, self.groups)

    def output_shape(self, input_shape: Shape) -> Shape:
        _check_spatial("Conv2d", input_shape)
        check_conv_shapes(input_shape, self.weight.shape, self.groups)
        return (input_shape[0], self.out_channels, *self.window.output_hw("Conv2d", input_shape))

    def macs(self, input_shape: Shape, output_shape: Shape) -> int:
        return math.prod(output_shape) * self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]



class ReLU(Layer):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace  # accepted for compatibility; pycnn never modifies its input

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""

    def forward(self, x: Any) -> Result:
        return F.relu(x)

    def op(self, input_shape: Shape) -> Op:
        return Op("relu")



class MaxPool2d(Layer):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        if return_indices:
            raise ValueError("MaxPool2d: return_indices=True is not supported")
        self.kernel_size, self.padding, self.dilation = kernel_size, padding, dilation
        self.stride = kernel_size if stride is None else stride  # as PyTorch keeps it
        self.return_indices, self.ceil_mode = False, bool(ceil_mode)
        self.window = pool_window("MaxPool2d", kernel_size, stride, padding, dilation, ceil_mode)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")

    def forward(self, x: Any) -> Result:
        w = self.window
        return F.max_pool2d(x, w.kernel, w.stride, w.padding, w.dilation, w.ceil_mode)

    def output_shape(self, input_shape: Shape) -> Shape:
        _check_spatial("MaxPool2d", input_shape)
        return (*input_shape[:2], *self.window.output_hw("MaxPool2d", input_shape))

    def op(self, input_shape: Shape) -> Op:
        return Op("max_pool2d", (self.window,))



class AvgPool2d(Layer):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride  # as PyTorch keeps it
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        self.divisor_override = divisor_override
        self.window = pool_window("AvgPool2d", kernel_size, stride, padding, 1, ceil_mode)
        self._divisor = avg_pool_divisor(divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x: Any) -> Result:
        w = self.window
        return F.avg_pool2d(x, w.kernel, w.stride, w.padding, w.ceil_mode, self.count_include_pad,
                            self.divisor_override)

    def output_shape(self, input_shape: Shape) -> Shape:
        _check_spatial("AvgPool2d", input_shape)
        return (*input_shape[:2], *self.window.output_hw("AvgPool2d", input_shape))

    def op(self, input_shape: Shape) -> Op:
        return Op("avg_pool2d", (self.window, self.count_include_pad, self._divisor))



class AdaptiveAvgPool2d(Layer):
    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, x: Any) -> Result:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def output_shape(self, input_shape: Shape) -> Shape:
        _check_spatial("AdaptiveAvgPool2d", input_shape)
        return (*input_shape[:2], *adaptive_output_hw(input_shape, self.output_size))

    def op(self, input_shape: Shape) -> Op:
        return Op("adaptive_avg_pool2d")



class Linear(Layer):
    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = integer(in_features, "in_features"), integer(out_features, "out_features")
        bound = 1 / math.sqrt(self.in_features) if self.in_features else 0.0
        self.register_parameter("weight", _uniform((self.out_features, self.in_features), bound))
        self.register_parameter("bias", _uniform((self.out_features,), bound) if bias else None)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

    def forward(self, x: Any) -> Result:
        return F.linear(x, self.weight, self.bias)

    def output_shape(self, input_shape: Shape) -> Shape:
        if not input_shape or input_shape[-1] != self.in_features:
            raise ValueError(f"Linear: input of shape {input_shape} does not end in in_features={self.in_features}")
        return (*input_shape[:-1], self.out_features)

    def macs(self, input_shape: Shape, output_shape: Shape) -> int:
        return math.prod(output_shape) * self.in_features



class LocalResponseNorm(Layer):
    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = integer(size, "size")
        self.alpha, self.beta, self.k = alpha, beta, k  # as given, as PyTorch shows them
        if self.size < 1:
            raise ValueError(f"LocalResponseNorm: size must be positive, got {size}")

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

    def forward(self, x: Any) -> Result:
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def op(self, input_shape: Shape) -> Op:
        return Op("local_response_norm", (self.size, float(self.alpha), float(self.beta), float(self.k)),
                  view=channels_shape(input_shape))



class BatchNorm2d(Layer):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, *, bias: bool = True) -> None:
        super().__init__()
        if not track_running_stats:
            raise ValueError("BatchNorm2d: track_running_stats=False normalises by batch statistics, which pycnn "
                             "(inference only) does not support")
        self.num_features, self.eps, self.momentum = integer(num_features, "num_features"), float(eps), momentum
        self.affine, self.track_running_stats = affine, True
        c = self.num_features
        self.register_parameter("weight", np.ones(c, np.float32) if affine else None)
        self.register_parameter("bias", np.zeros(c, np.float32) if affine and bias else None)
        self.register_buffer("running_mean", np.zeros(c, np.float32))
        self.register_buffer("running_var", np.ones(c, np.float32))
        self.register_buffer("num_batches_tracked", np.array(0, np.int64))

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, " \
               f"bias={self.bias is not None}, track_running_stats=True"

    def affine_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """(scale, shift) per channel in float64, so that y = x·scale + shift."""
        return batch_norm_affine((1, self.num_features), self.running_mean, self.running_var, self.weight,
                                   self.bias, self.eps)

    def forward(self, x: Any) -> Result:
        backend = backends.for_arrays("BatchNorm2d", input=x)
        array = backend.asarray(x, "BatchNorm2d: input")
        check_ndim(array, (3, 4), "BatchNorm2d: input", "(N, C, H, W) or (C, H, W)")
        batched = array if array.ndim == 4 else array.reshape((1, *array.shape))
        if batched.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d: expected {self.num_features} channels, got input of shape {array.shape}")
        out = F.batch_norm(batched, self.running_mean, self.running_var, self.weight, self.bias, eps=self.eps)
        return backend.result(out if array.ndim == 4 else out.reshape(out.shape[1:]), x)

    def output_shape(self, input_shape: Shape) -> Shape:
        _check_spatial("BatchNorm2d", input_shape)
        if input_shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d: expected {self.num_features} channels, got input of shape {input_shape}")
        return input_shape

    def op(self, input_shape: Shape) -> Op:
        scale, shift = self.affine_terms()
        return Op("channel_affine", (scale.astype(np.float32), shift.astype(np.float32)),
                  view=channels_shape(input_shape))



class Dropout(Layer):
    """Identity: pycnn runs inference only."""

    view_only = True

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability must be between 0 and 1, got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"

    def forward(self, x: Any) -> Result:
        return F.dropout(x, self.p, training=False)


class Flatten(Layer):
    view_only = True

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = integer(start_dim, "start_dim"), integer(end_dim, "end_dim")

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def output_shape(self, input_shape: Shape) -> Shape:
        return flattened_shape(input_shape, self.start_dim, self.end_dim, "Flatten")

    def forward(self, x: Any) -> Result:
        return F.flatten(x, self.start_dim, self.end_dim)


class Softmax(Layer):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def _dim(self, ndim: int) -> int:
        if self.dim is not None:
            return self.dim
        warnings.warn("Softmax with dim=None picks a dimension implicitly, as PyTorch's legacy rule does; "
                      "pass dim", UserWarning, stacklevel=4)  # the caller of the layer, when eager
        return 0 if ndim in (0, 1, 3) else 1

    def forward(self, x: Any) -> Result:
        return F.softmax(x, self._dim(np.ndim(x)))

    def op(self, input_shape: Shape) -> Op:
        return Op("softmax", view=softmax_view(input_shape, self._dim(len(input_shape)), "Softmax"))


class Sequential(Module):
    def __init__(self, *modules: Module | Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    def __getitem__(self, index: int) -> Module:
        return list(self)[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())  # every slot, a layer used twice included, as PyTorch's

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x
