"""What a model plan asks of the device it runs on: one kernel call per fused step, and buffers.

The plan (plan.py) decides what fuses with what; a backend turns each step into a call and owns the memory
the steps read and write: host.py runs _core's kernels on numpy arrays, pycnn.cuda.backend runs _cuda's on
DeviceArrays.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Hashable
from typing import Any, Protocol

import numpy as np

from .._args import F32
from .layers import BatchNorm2d, Conv2d, Layer, Linear

# execute(*input_arrays, out): computes a step into `out`.
Execute = Callable[..., None]


class Backend(Protocol):
    def key(self) -> tuple[Hashable, ...]:
        """What besides the input shape tells this backend's plans apart: the device, the ISA or precision."""
        ...

    def conv(self, name: str, conv: Conv2d, bn: BatchNorm2d | None, relu: bool, input_shape: tuple[int, ...],
             packed: dict[Any, Any]) -> Execute:
        """execute(x, [residual,] out): conv, then BatchNorm folded in, + residual, then ReLU if asked.

        Prepared weights go into `packed` (shared by the plans of one model) under keys the backend chooses."""
        ...

    def linear(self, linear: Linear, relu: bool, packed: dict[Any, Any]) -> Execute:
        """execute(x, out): x·Wᵀ + b over the last axis, then ReLU if asked."""
        ...

    def layer(self, layer: Layer, input_shape: tuple[int, ...], packed: dict[Any, Any]) -> Execute:
        """execute(x, out): any other layer."""
        ...

    def add(self) -> Execute:
        """execute(a, b, out)."""
        ...

    def cat(self, dim: int) -> Execute:
        """execute(*inputs, out): the inputs concatenated along dim."""
        ...

    def empty(self, shape: tuple[int, ...], what: str) -> Any:
        """A new uninitialised float32 array."""
        ...

    def slot(self, buffer: Any, shape: tuple[int, ...]) -> Any:
        """The first prod(shape) elements of a 1-D buffer from empty(), as an array of `shape`."""
        ...

    def copy(self, array: Any) -> Any:
        ...

    def synchronize(self) -> None:
        """Returns when every step so far has finished (for timing them)."""
        ...


def fold_batch_norm(conv: Conv2d, bn: BatchNorm2d | None) -> tuple[F32, F32 | None]:
    """The convolution's weight and bias with the BatchNorm after it folded in (computed in float64)."""
    w = conv.weight.astype(np.float64)
    b = np.zeros(conv.out_channels) if conv.bias is None else conv.bias.astype(np.float64)
    if bn is not None:
        scale, shift = bn.affine_terms()
        w, b = w * scale[:, None, None, None], b * scale + shift
    has_bias = conv.bias is not None or bn is not None
    return w.astype(np.float32), (b.astype(np.float32) if has_bias else None)


def describe_conv(conv: Conv2d, input_shape: tuple[int, ...]) -> str:
    w = conv.window
    return (f"conv {'x'.join(map(str, input_shape))} {conv.in_channels}->{conv.out_channels} "
            f"{'x'.join(map(str, conv.kernel_size))} stride {'x'.join(map(str, w.stride))}"
            f"{f' groups {conv.groups}' if conv.groups > 1 else ''}")


def report_conv_choice(name: str, conv: Conv2d, input_shape: tuple[int, ...], choice: str) -> None:
    """With PYCNN_VERBOSE=1, prints how a plan computes this convolution."""
    if os.environ.get("PYCNN_VERBOSE", "0") not in ("", "0"):
        print(f"pycnn: {name}: {describe_conv(conv, input_shape)} -> {choice}", file=sys.stderr)
