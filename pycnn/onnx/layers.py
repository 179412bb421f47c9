"""The layers an ONNX graph needs beyond pycnn.nn's: elementwise ops with a kernel of their own, per-channel
affine maps, reshapes that are views, and one layer for any other op, computed with numpy on the host.

Each is a pycnn.nn.Layer, so a traced graph compiles into the same plan as the built-in models.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import functional as F
from .._args import as_float32
from ..nn import Layer, Op
from ..shapes import channels_shape

Shape = tuple[int, ...]


class Elementwise(Layer):
    """An activation with a kernel of its own: Op(kernel, params) on an input of any shape."""

    def __init__(self, kernel: str, params: tuple[float, ...] = ()) -> None:
        super().__init__()
        self.kernel, self.params = kernel, params

    def extra_repr(self) -> str:
        return ", ".join([self.kernel, *map(str, self.params)])

    def op(self, input_shape: Shape) -> Op:
        return Op(self.kernel, self.params)

    def forward(self, x: Any) -> Any:
        return getattr(F, self.kernel)(x, *self.params)


class ChannelAffine(Layer):
    """x·scale + shift per channel of an (N, C, …) input: ONNX's Mul and Add by a per-channel constant."""

    def __init__(self, scale: np.ndarray, shift: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("scale", np.asarray(scale, np.float32))
        self.register_buffer("shift", np.asarray(shift, np.float32))

    def extra_repr(self) -> str:
        return f"{self.scale.shape[0]}"

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) < 2 or input_shape[1] != self.scale.shape[0]:
            raise ValueError(f"ChannelAffine: input of shape {input_shape} does not have {self.scale.shape[0]} "
                             "channels on axis 1")
        return input_shape

    def op(self, input_shape: Shape) -> Op:
        return Op("channel_affine", (self.scale, self.shift), view=channels_shape(input_shape))

    def forward(self, x: Any) -> Any:
        array = as_float32(x, "ChannelAffine: input")
        self.output_shape(array.shape)
        shape = (1, -1) + (1,) * (array.ndim - 2)
        return (array * self.scale.reshape(shape) + self.shift.reshape(shape)).astype(np.float32)


class View(Layer):
    """The input seen as another shape (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout): runs nothing in
    a plan."""

    view_only = True

    def __init__(self, shape: Shape) -> None:
        super().__init__()
        self.shape = tuple(int(d) for d in shape)

    def extra_repr(self) -> str:
        return f"{self.shape}"

    def output_shape(self, input_shape: Shape) -> Shape:
        if math.prod(input_shape) != math.prod(self.shape):
            raise ValueError(f"View: an input of shape {input_shape} cannot be seen as {self.shape}")
        return self.shape

    def forward(self, x: Any) -> Any:
        array = as_float32(x, "View: input")
        self.output_shape(array.shape)
        return array.reshape(self.shape).copy()


class Function(Layer):
    """Any other op on float32 inputs, as a numpy function of them (on the host; in a plan, a "call" step)."""

    def __init__(self, name: str, function: Callable[..., np.ndarray]) -> None:
        super().__init__()
        self.name, self.function = name, function

    def extra_repr(self) -> str:
        return self.name

    def output_shape(self, *input_shapes: Shape) -> Shape:
        return tuple(np.shape(self.function(*(np.zeros(s, np.float32) for s in input_shapes))))

    def op(self, *input_shapes: Shape) -> Op:
        return Op("call", (self.function,))

    def forward(self, *xs: Any) -> Any:
        return np.asarray(self.function(*(as_float32(x, f"{self.name}: input") for x in xs)), np.float32)
