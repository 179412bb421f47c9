"""The interface every device implements: its arrays, one method per kernel, and prepared steps for plans.

pycnn.functional calls a backend's kernel methods on arrays it has checked; pycnn.nn's plans call the prepared
steps many times. Kernel methods take the arrays first (inputs, then the output they write), then plain
parameters (ints, tuples, a shapes.Window) — never a layer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._precision import checked, get_precision
from ..shapes import Window

# execute(*input_arrays, out): computes one plan step into `out`.
Execute = Callable[..., None]


@dataclass(frozen=True)
class Op:
    """One kernel call: the Backend method `name`, given the input and output arrays, then `params`.

    With `view`, both arrays are seen as that shape (e.g. (N, C, inner) for per-channel kernels)."""

    name: str
    params: tuple[Any, ...] = ()
    view: tuple[int, ...] | None = None


@dataclass(frozen=True)
class ConvSpec:
    """A convolution that a plan runs many times, with what its store fuses."""

    key: Hashable  # tells this convolution's prepared weights apart within one model
    weight_shape: tuple[int, int, int, int]
    groups: int
    window: Window
    relu: bool
    weights: Callable[[], tuple[np.ndarray, np.ndarray | None]]  # (weight, bias) in float32, computed on first need


class Backend:
    """A device: pycnn.backends finds one subclass per module of this folder, by the module's name."""

    # The device's name in messages ("CUDA").
    label: ClassVar[str] = ""
    # Whether arrays of this device are host arrays (numpy): the device every module starts on.
    is_host: ClassVar[bool] = False
    # How to move arrays to or from this device, for errors about mixed arrays.
    move_hint: ClassVar[str] = ""

    def __init__(self, precision: str | None = None) -> None:
        # What the plans built with this backend multiply in: `precision`, or the process's setting now.
        self.precision = get_precision() if precision is None else checked(precision)

    @classmethod
    def owns(cls, value: Any) -> bool:
        """Whether `value` is an array of this device; cheap, and never loads the device's kernels."""
        raise NotImplementedError

    @classmethod
    def require(cls, what: str) -> None:
        """Raises, saying why and naming `what`, when this device cannot run here."""

    @classmethod
    def check_index(cls, device: str, index: str) -> None:
        """Raises ValueError unless `index` (after the colon of 'name:index'; '' when none) names a device
        pycnn can use."""
        if index not in ("", "0"):
            raise ValueError(f"device {device!r}: pycnn runs on one device of each kind, index 0")

    def key(self) -> tuple[Hashable, ...]:
        """What besides the input shape tells this backend's plans apart (ISA, precision, variants)."""
        raise NotImplementedError

    # -- arrays -------------------------------------------------------------------------------------------------
    def asarray(self, value: Any, name: str) -> Any:
        """`value` as a float32 C-contiguous array of this device (a view where possible, never modified)."""
        raise NotImplementedError

    def empty(self, shape: tuple[int, ...], what: str) -> Any:
        raise NotImplementedError

    def slot(self, buffer: Any, shape: tuple[int, ...], offset: int) -> Any:
        """prod(shape) elements of a contiguous array from element `offset` on, as an array of `shape` that
        shares its memory."""
        raise NotImplementedError

    def copy(self, array: Any) -> Any:
        raise NotImplementedError

    def result(self, out: Any, template: Any) -> Any:
        """An op's output `out` as the kind of array the caller passed (`template`)."""
        return out

    def model_input(self, value: Any, name: str) -> Any:
        """A model's input as this device's array (host arrays are uploaded to a device); TypeError for an
        array of another device."""
        raise NotImplementedError

    def model_output(self, out: Any, template: Any) -> Any:
        """A model's output as the kind of array its input was."""
        return self.result(out, template)

    def synchronize(self) -> None:
        """Returns when every kernel queued so far has finished (for timing them)."""

    def for_input(self, x: Any) -> Backend:
        """The backend to run input x with: this one, or a variant that computes x exactly where this one
        would not (plans only)."""
        return self

    # -- kernels ------------------------------------------------------------------------------------------------
    def conv2d(self, x: Any, weight: Any, bias: Any, out: Any, window: Window, groups: int) -> None:
        raise NotImplementedError

    def max_pool2d(self, x: Any, out: Any, window: Window) -> None:
        raise NotImplementedError

    def avg_pool2d(self, x: Any, out: Any, window: Window, count_include_pad: bool, divisor: int) -> None:
        raise NotImplementedError

    def adaptive_avg_pool2d(self, x: Any, out: Any) -> None:
        raise NotImplementedError

    def relu(self, x: Any, out: Any) -> None:
        raise NotImplementedError

    def linear(self, x: Any, weight: Any, bias: Any, out: Any) -> None:
        """x (rows, in) · weightᵀ + bias → out (rows, out)."""
        raise NotImplementedError

    def softmax(self, x: Any, out: Any) -> None:
        """Along the middle axis of (outer, dim, inner) arrays."""
        raise NotImplementedError

    def local_response_norm(self, x: Any, out: Any, size: int, alpha: float, beta: float, k: float) -> None:
        """Across the channels of (N, C, inner) arrays."""
        raise NotImplementedError

    def channel_affine(self, x: Any, out: Any, scale: Any, shift: Any) -> None:
        """x·scale + shift per channel of (N, C, inner) arrays; scale and shift float32 (C,), host or device."""
        raise NotImplementedError

    def add(self, a: Any, b: Any, out: Any) -> None:
        raise NotImplementedError

    # Elementwise and padding ops of pycnn.functional that a device may lack: it then says so.
    def sigmoid(self, x: Any, out: Any) -> None:
        self._lacks("sigmoid")

    def tanh(self, x: Any, out: Any) -> None:
        self._lacks("tanh")

    def leaky_relu(self, x: Any, out: Any, negative_slope: float) -> None:
        self._lacks("leaky_relu")

    def hardtanh(self, x: Any, out: Any, min_val: float, max_val: float) -> None:
        self._lacks("hardtanh")

    def log_softmax(self, x: Any, out: Any) -> None:
        """Along the middle axis of (outer, dim, inner) arrays."""
        self._lacks("log_softmax")

    def pad(self, x: Any, out: Any, pads: tuple[tuple[int, int], ...], mode: str, value: float) -> None:
        """x padded by (before, after) per axis (negative: cropped), as torch.nn.functional.pad's modes."""
        self._lacks("pad")

    def max_pool2d_with_indices(self, x: Any, out: Any, indices: Any, window: Window) -> None:
        """max_pool2d, and each maximum's flat index h·W + w in its input plane (int64), as torch's
        return_indices."""
        self._lacks("max_pool2d with return_indices=True")

    def _lacks(self, op: str) -> None:
        raise TypeError(f"{op}: pycnn has no {self.label} kernel for it; move the arrays to the host first "
                        "(tensor.cpu(), array.numpy())")

    def call(self, *args: Any) -> None:
        """call(*inputs, out, function): out = function(*inputs) for a layer without a kernel of its own (its
        forward, on host arrays)."""
        raise NotImplementedError

    def cat(self, inputs: Sequence[Any], out: Any, dim: int) -> None:
        raise NotImplementedError

    # -- prepared steps (plans) ---------------------------------------------------------------------------------
    def conv_step(self, conv: ConvSpec, input_shape: tuple[int, ...], packed: dict[Any, Any]) -> tuple[Execute, str]:
        """execute(x, [residual,] out): the convolution, + residual, then ReLU if asked; and how it computes.

        Prepared weights go into `packed` (shared by the plans of one model) under keys that start with
        conv.key."""
        raise NotImplementedError

    def linear_step(self, key: Hashable, weight: np.ndarray, bias: np.ndarray | None, relu: bool,
                    packed: dict[Any, Any]) -> Execute:
        """execute(x, out): x·Wᵀ + b over the last axis, then ReLU if asked."""
        raise NotImplementedError

    def constant(self, array: np.ndarray, packed: dict[Any, Any]) -> Any:
        """A host array that a plan passes to a kernel at every call, as this device wants it (kept in
        `packed`)."""
        return array

    def op_step(self, op: Op, packed: dict[Any, Any]) -> Execute:
        """execute(*inputs, out) for any other op (one input, but for "call")."""
        method = getattr(self, op.name)
        params = tuple(self.constant(p, packed) if isinstance(p, np.ndarray) else p for p in op.params)
        view = op.view
        if view is None:
            return lambda *arrays: method(*arrays, *params)
        return lambda *arrays: method(*(a.reshape(view) for a in arrays), *params)

    def add_step(self) -> Execute:
        return self.add

    def cat_step(self, dim: int) -> Execute:
        return lambda *arrays: self.cat(arrays[:-1], arrays[-1], dim)
