"""The operators that move, reshape or make tensors, and the shape arithmetic that feeds Reshape.

Reshapes of a traced value are views (a plan runs nothing for them); Concat of traced values is the plan's
concatenation, written in place where it can be; the rest is numpy.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ... import nn
from ..layers import View
from .registry import Arrays, Attrs, Compute, Context, Fallback, Generic, Runner, is_traced, op

# The most elements a constant made at load time or from shapes may have (ConstantOfShape, Pad of a constant).


def _axis(a: Attrs, axis: int, ndim: int, what: str = "axis") -> int:
    if not -ndim <= axis < ndim:
        raise a.invalid(f"{what} {axis} is out of range for a tensor of {ndim} dimensions")
    return axis % ndim


def _axes(a: Attrs, inputs: Arrays, index: int) -> list[int] | None:
    """`axes`: an attribute before opset 13, the optional input `index` from it on."""
    if a.opset < 13:
        return a.ints("axes")
    value = inputs[index] if index < len(inputs) else None
    return None if value is None else [int(v) for v in np.asarray(value).reshape(-1)]


# -- views of a value: their output is always a reshape of their first input -----------------------------------
def _view(compute: Compute, a: Attrs, inputs: Arrays) -> Any:
    """A traced value's reshape as a View layer (its shape from the numpy definition on a stand-in)."""
    if not is_traced(inputs[0]):
        return None
    stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), tuple(inputs[0].shape),
                                               (0,) * len(inputs[0].shape))
    shape = np.shape(compute(a, [stand_in, *inputs[1:]])[0])
    return View(shape)(inputs[0])


def _build_view(compute: Compute) -> Callable[[Context], Runner]:
    def build(ctx: Context) -> Runner:
        return Fallback(functools.partial(_view, compute, ctx.attrs), Generic(compute, ctx.attrs))

    return build


def _view_op(name: str, attrs: tuple[str, ...] = ()) -> Callable[[Compute], Compute]:
    def register(compute: Compute) -> Compute:
        return op(name, attrs, _build_view(compute))(compute)

    return register


@_view_op("Flatten", ("axis",))
def flatten(a: Attrs, inputs: Arrays) -> Arrays:
    x = np.asarray(inputs[0])
    axis = int(a.get("axis", 1))
    if not -x.ndim <= axis <= x.ndim:
        raise a.invalid(f"axis {axis} is out of range for an input of shape {x.shape}")
    axis = axis + x.ndim if axis < 0 else axis
    return [x.reshape(math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))]


@_view_op("Reshape", ("shape", "consumed_inputs", "allowzero"))
def reshape(a: Attrs, inputs: Arrays) -> Arrays:
    x = np.asarray(inputs[0])
    target = a.ints("shape") if a.opset < 5 else [int(v) for v in np.asarray(inputs[1]).reshape(-1)]
    if target is None:
        raise a.invalid("the target shape is missing")
    allow_zero = bool(a.get("allowzero", 0))
    shape = [x.shape[i] if d == 0 and not allow_zero and i < x.ndim else d for i, d in enumerate(target)]
    if shape.count(-1) > 1 or any(d < -1 for d in shape):
        raise a.invalid(f"target shape {target} may hold one -1 and no other negative size")
    known = math.prod(d for d in shape if d != -1)
    if -1 in shape:
        if known == 0 or x.size % known:
            raise a.invalid(f"an input of shape {x.shape} cannot be reshaped to {target}")
        shape[shape.index(-1)] = x.size // known
    if math.prod(shape) != x.size:
        raise a.invalid(f"an input of shape {x.shape} ({x.size} elements) cannot be reshaped to {target}")
    return [x.reshape(shape)]


@_view_op("Squeeze", ("axes",))
def squeeze(a: Attrs, inputs: Arrays) -> Arrays:
    x = np.asarray(inputs[0])
    axes = _axes(a, inputs, 1)
    if axes is None:
        return [x.reshape([d for d in x.shape if d != 1])]
    axes = [_axis(a, i, x.ndim) for i in axes]
    if any(x.shape[i] != 1 for i in axes):
        raise a.invalid(f"axes {axes} of an input of shape {x.shape} are not all of size 1")
    return [x.reshape([d for i, d in enumerate(x.shape) if i not in axes])]


@_view_op("Unsqueeze", ("axes",))
def unsqueeze(a: Attrs, inputs: Arrays) -> Arrays:
    x = np.asarray(inputs[0])
    axes = _axes(a, inputs, 1)
    if axes is None:
        raise a.invalid("axes is required")
    ndim = x.ndim + len(axes)
    axes = sorted(_axis(a, i, ndim) for i in axes)
    if len(set(axes)) != len(axes):
        raise a.invalid(f"axes {axes} repeat an axis")
    shape = list(x.shape)
    for i in axes:
        shape.insert(i, 1)
    return [x.reshape(shape)]


# -- the rest ----------------------------------------------------------------------------------------------------
def _concat_traced(a: Attrs, inputs: Arrays) -> Any:
    values = [x for x in inputs if x is not None]
    if not all(is_traced(x) for x in values) or len({len(x.shape) for x in values}) != 1:
        return None
    return nn.cat(values, _axis(a, int(a.get("axis", 1)), len(values[0].shape)))


@op("Concat", ("axis",),
    lambda ctx: Fallback(functools.partial(_concat_traced, ctx.attrs), Generic(concat, ctx.attrs)))
def concat(a: Attrs, inputs: Arrays) -> Arrays:
    arrays = [np.asarray(x) for x in inputs if x is not None]
    if a.opset >= 4 and a.get("axis") is None:
        raise a.invalid("axis is required")
    axis = _axis(a, int(a.get("axis", 1)), arrays[0].ndim)
    try:
        return [np.concatenate(arrays, axis=axis)]
    except ValueError:
        raise a.invalid(f"inputs of shapes {[x.shape for x in arrays]} cannot be joined along axis {axis}") from None


@op("Transpose", ("perm",))
def transpose(a: Attrs, inputs: Arrays) -> Arrays:
    x = np.asarray(inputs[0])
    perm = a.int_list("perm", list(range(x.ndim))[::-1])
    if sorted(perm) != list(range(x.ndim)):
        raise a.invalid(f"perm {perm} is not a permutation of the {x.ndim} axes of an input of shape {x.shape}")
    return [np.ascontiguousarray(np.transpose(x, perm))]


def _first(inputs: Arrays) -> Arrays:
    return inputs[:1]


@op("Identity", (), lambda ctx: _first)
def identity(a: Attrs, inputs: Arrays) -> Arrays:
    return [inputs[0]]


def _dropout_ratio(a: Attrs, inputs: Arrays) -> tuple[float, bool]:
    if a.opset < 12:
        return float(a.get("ratio", 0.5)), False
    ratio = inputs[1] if len(inputs) > 1 and inputs[1] is not None else 0.5
    training = inputs[2] if len(inputs) > 2 and inputs[2] is not None else False
    return float(np.asarray(ratio)), bool(np.asarray(training))


def _dropout_outputs(a: Attrs, inputs: Arrays) -> Arrays:
    ratio, training = _dropout_ratio(a, inputs)
    if training and ratio > 0:
        raise a.refuse(f"training_mode=True drops values at random (ratio {ratio}); pycnn runs inference, where "
                       "Dropout is the identity")
    x = inputs[0]
    wants_mask = len(a.node.outputs) > 1 and bool(a.node.outputs[1])
    mask_type = bool if a.opset >= 10 else np.float32 if is_traced(x) else x.dtype  # ones of x's type before 10
    return [x] + ([np.ones(tuple(x.shape), mask_type)] if wants_mask else [])


@op("Dropout", ("ratio", "is_test", "seed", "consumed_inputs"),
    lambda ctx: functools.partial(_dropout_outputs, ctx.attrs))
def dropout(a: Attrs, inputs: Arrays) -> Arrays:
    return _dropout_outputs(a, inputs)


_PAD_MODES = ("constant", "reflect", "edge", "wrap")  # ONNX's names, which are numpy's


@op("Pad", ("mode", "pads", "paddings", "value"))
def pad(a: Attrs, inputs: Arrays) -> Arrays:
    x = np.asarray(inputs[0])
    mode = a.get("mode", "constant")
    if mode not in _PAD_MODES:
        raise a.refuse(f"mode {mode!r} is not one of {', '.join(_PAD_MODES)}")
    if a.opset < 11:
        pads, value = a.ints("pads" if a.opset >= 2 else "paddings"), float(a.get("value", 0.0))
        axes = list(range(x.ndim))
    else:
        pads = [int(v) for v in np.asarray(inputs[1]).reshape(-1)]
        value = inputs[2] if len(inputs) > 2 and inputs[2] is not None else 0
        axes_given = inputs[3] if len(inputs) > 3 and inputs[3] is not None else None
        axes = list(range(x.ndim)) if axes_given is None else \
            [_axis(a, int(i), x.ndim) for i in np.asarray(axes_given).reshape(-1)]
    if pads is None or len(pads) != 2 * len(axes):
        raise a.invalid(f"pads {pads} must hold a begin and an end for each of the {len(axes)} padded axes")
    amounts = [(0, 0)] * x.ndim
    for i, axis in enumerate(axes):
        amounts[axis] = (pads[i], pads[i + len(axes)])
    if any(s + min(b, 0) + min(e, 0) < 0 for s, (b, e) in zip(x.shape, amounts, strict=True)):
        raise a.invalid(f"pads {pads} crop more than an input of shape {x.shape} holds")
    crop = tuple(slice(-min(b, 0), s + min(e, 0)) for s, (b, e) in zip(x.shape, amounts, strict=True))
    grown = [(max(b, 0), max(e, 0)) for b, e in amounts]
    kept = x[crop]
    a.allocating([s + b + e for s, (b, e) in zip(kept.shape, grown, strict=True)])
    if mode == "constant":
        return [np.pad(kept, grown, mode="constant", constant_values=np.asarray(value, x.dtype).reshape(()))]
    if any(s == 0 for s in kept.shape) or (mode == "reflect" and any(
            max(g) >= s for g, s in zip(grown, kept.shape, strict=True) if max(g))):
        raise a.invalid(f"{mode} padding {pads} does not fit an input of shape {x.shape}")
    return [np.pad(kept, grown, mode=mode)]


@op("Constant", ("value", "value_float", "value_floats", "value_int", "value_ints", "sparse_value", "value_string",
                 "value_strings"))
def constant(a: Attrs, inputs: Arrays) -> Arrays:
    attrs = a.node.attrs
    if "value" in attrs and isinstance(attrs["value"], np.ndarray):
        return [attrs["value"]]
    for name, dtype in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                        ("value_ints", np.int64)):
        if name in attrs:
            return [np.asarray(attrs[name], dtype)]
    raise a.refuse(f"a Constant of {', '.join(attrs) or 'no value'} is not supported (numeric tensors only)")


@op("ConstantOfShape", ("value",))
def constant_of_shape(a: Attrs, inputs: Arrays) -> Arrays:
    shape = [int(d) for d in np.asarray(inputs[0]).reshape(-1)]
    if any(d < 0 for d in shape):
        raise a.invalid(f"shape {shape} has a negative dimension")
    a.allocating(shape)
    value = a.get("value")
    value = np.zeros(1, np.float32) if value is None else np.asarray(value)
    if value.size != 1:
        raise a.invalid(f"value must hold one element, got shape {value.shape}")
    return [np.full(shape, value.reshape(()), value.dtype)]


@op("Shape", ("start", "end"), shape_of=True)
def shape(a: Attrs, inputs: Arrays) -> Arrays:
    dims = tuple(inputs[0].shape)
    start, end = int(a.get("start", 0)), a.get("end")
    return [np.array(dims[start:None if end is None else int(end)], np.int64)]


@op("Gather", ("axis",))
def gather(a: Attrs, inputs: Arrays) -> Arrays:
    x, indices = np.asarray(inputs[0]), np.asarray(inputs[1])
    axis = _axis(a, int(a.get("axis", 0)), x.ndim)
    if indices.dtype.kind not in "iu":
        raise a.invalid(f"indices must be integers, got {indices.dtype}")
    size = x.shape[axis]
    if indices.size and (indices.min() < -size or indices.max() >= size):
        raise a.invalid(f"indices from {indices.min()} to {indices.max()} fall outside axis {axis} of size {size}")
    a.allocating(x.shape[:axis] + indices.shape + x.shape[axis + 1:])
    return [np.asarray(np.take(x, np.where(indices < 0, indices + size, indices), axis=axis))]
