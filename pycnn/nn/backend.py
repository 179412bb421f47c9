"""What a model plan asks of the device it runs on: one kernel call per fused step, and buffers.

The plan (plan.py) decides what fuses with what; a backend turns each step into a call and owns the memory
the steps read and write: host.py runs _core's kernels on numpy arrays, pycnn.cuda.backend runs _cuda's on
DeviceArrays.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Protocol

import numpy as np

from .._args import F32
from .layers import BatchNorm2d, Conv2d, Layer, Linear

# execute(*input_arrays, out): computes a step into `out`.
Execute = Callable[..., None]
# A convolution with the BatchNorm after it, if any.
ConvBn = tuple[Conv2d, BatchNorm2d | None]


class Backend(Protocol):
    def key(self) -> tuple[Hashable, ...]:
        """What besides the input shape tells this backend's plans apart: the device, the ISA or precision."""
        ...

    def conv(self, name: str, convs: Sequence[ConvBn], relu: bool, input_shape: tuple[int, ...],
             packed: dict[Any, Any]) -> Execute:
        """execute(x, [residual,] out): conv, then BatchNorm folded in, + residual, then ReLU if asked.

        Several convolutions (of one input, through one window) run as one, their outputs concatenated along
        channels. Prepared weights go into `packed` (shared by the plans of one model) under keys the backend
        chooses."""
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

    def slot(self, buffer: Any, shape: tuple[int, ...], offset: int = 0) -> Any:
        """prod(shape) elements of a contiguous array from element `offset` on, as an array of `shape` that
        shares its memory."""
        ...

    def copy(self, array: Any) -> Any:
        ...

    def synchronize(self) -> None:
        """Returns when every step so far has finished (for timing them)."""
        ...


def fold_batch_norm(convs: Sequence[ConvBn]) -> tuple[F32, F32 | None]:
    """The convolutions' weights and biases with the BatchNorm after each folded in (computed in float64),
    concatenated along output channels."""
    weights, biases = [], []
    for conv, bn in convs:
        w = conv.weight.astype(np.float64)
        b = np.zeros(conv.out_channels) if conv.bias is None else conv.bias.astype(np.float64)
        if bn is not None:
            scale, shift = bn.affine_terms()
            w, b = w * scale[:, None, None, None], b * scale + shift
        weights.append(w)
        biases.append(b)
    has_bias = any(conv.bias is not None or bn is not None for conv, bn in convs)
    return (np.concatenate(weights).astype(np.float32),
            np.concatenate(biases).astype(np.float32) if has_bias else None)


def convs_key(convs: Sequence[ConvBn]) -> tuple[int, ...]:
    """What tells the prepared weights of these convolutions apart within one model."""
    return tuple(id(m) for conv, bn in convs for m in (conv, bn))


def describe_conv(convs: Sequence[ConvBn], input_shape: tuple[int, ...]) -> str:
    conv, w = convs[0][0], convs[0][0].window
    outs = "+".join(str(c.out_channels) for c, _ in convs)
    return (f"conv {'x'.join(map(str, input_shape))} {conv.in_channels}->{outs} "
            f"{'x'.join(map(str, conv.kernel_size))} stride {'x'.join(map(str, w.stride))}"
            f"{f' groups {conv.groups}' if conv.groups > 1 else ''}")


def report_conv_choice(name: str, convs: Sequence[ConvBn], input_shape: tuple[int, ...], choice: str) -> None:
    """With PYCNN_VERBOSE=1, prints how a plan computes this convolution."""
    if os.environ.get("PYCNN_VERBOSE", "0") not in ("", "0"):
        print(f"pycnn: {name}: {describe_conv(convs, input_shape)} -> {choice}", file=sys.stderr)
