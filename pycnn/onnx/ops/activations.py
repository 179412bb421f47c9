"""Relu, LeakyRelu, Sigmoid, Tanh, Clip and Softmax: each a layer with a kernel of its own."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ... import nn
from ..layers import Elementwise
from .registry import Arrays, Attrs, Context, Fallback, Generic, LayerRun, Runner, op


@op("Relu", ("consumed_inputs",), lambda ctx: LayerRun(ctx.register(nn.ReLU())))
def relu(a: Attrs, inputs: Arrays) -> Arrays:
    x = np.asarray(inputs[0])
    return [np.where(x < 0, np.zeros((), x.dtype), x)]


def _leaky_slope(a: Attrs) -> float:
    return float(a.get("alpha", 0.01))


@op("LeakyRelu", ("alpha", "consumed_inputs"),
    lambda ctx: LayerRun(ctx.register(Elementwise("leaky_relu", (_leaky_slope(ctx.attrs),)))))
def leaky_relu(a: Attrs, inputs: Arrays) -> Arrays:
    x = np.asarray(inputs[0])
    return [np.where(x >= 0, x, x * x.dtype.type(_leaky_slope(a)))]


@op("Sigmoid", ("consumed_inputs",), lambda ctx: LayerRun(ctx.register(Elementwise("sigmoid"))))
def sigmoid(a: Attrs, inputs: Arrays) -> Arrays:
    x = np.asarray(inputs[0])
    with np.errstate(over="ignore"):
        return [(1 / (1 + np.exp(-x))).astype(x.dtype)]


@op("Tanh", ("consumed_inputs",), lambda ctx: LayerRun(ctx.register(Elementwise("tanh"))))
def tanh(a: Attrs, inputs: Arrays) -> Arrays:
    return [np.tanh(np.asarray(inputs[0]))]


def _clip_bounds(a: Attrs, inputs: Arrays) -> tuple[Any, Any]:
    """(min, max): attributes before opset 11, optional inputs from it on; None where not given."""
    if a.opset < 11:
        big = float(np.finfo(np.float32).max) if a.opset >= 6 else None  # opset 6's defaults
        return a.get("min", None if big is None else -big), a.get("max", big)
    bounds = [inputs[i] if i < len(inputs) else None for i in (1, 2)]
    return tuple(None if b is None else np.asarray(b).reshape(()) for b in bounds)  # type: ignore[return-value]


def _build_clip(ctx: Context) -> Runner | None:
    a = ctx.attrs
    if a.opset >= 11 and any(not ctx.absent(i) and ctx.const(i) is None for i in (1, 2)):
        return None
    low, high = _clip_bounds(a, [None] + [ctx.const(i) for i in (1, 2)])
    low = -math.inf if low is None else float(low)
    high = math.inf if high is None else float(high)
    if low > high:  # every value becomes max, as ONNX defines it
        return None
    return LayerRun(ctx.register(Elementwise("hardtanh", (low, high))))


@op("Clip", ("min", "max", "consumed_inputs"), _build_clip)
def clip(a: Attrs, inputs: Arrays) -> Arrays:
    x = np.asarray(inputs[0])
    low, high = _clip_bounds(a, inputs)
    y = x if low is None else np.maximum(x, np.asarray(low, x.dtype))
    return [y if high is None else np.minimum(y, np.asarray(high, x.dtype))]


def _softmax_axis(a: Attrs, ndim: int) -> int:
    axis = int(a.get("axis", 1 if a.opset < 13 else -1))
    if not -ndim <= axis < ndim:
        raise a.invalid(f"axis {axis} is out of range for an input of {ndim} dimensions")
    return axis % ndim


def _softmax_layer(a: Attrs, inputs: Arrays) -> Any:
    """The nn.Softmax along one axis, where ONNX's softmax is that: always from opset 13 on, and before it when
    the axes after the given one (which it flattens in) are all of size 1."""
    shape = tuple(inputs[0].shape)
    axis = _softmax_axis(a, len(shape))
    if a.opset < 13 and math.prod(shape[axis + 1:]) != 1:
        return None
    return nn.Softmax(axis)(inputs[0])


def _build_softmax(ctx: Context) -> Runner:
    return Fallback(functools.partial(_softmax_layer, ctx.attrs), Generic(softmax, ctx.attrs))


@op("Softmax", ("axis",), _build_softmax)
def softmax(a: Attrs, inputs: Arrays) -> Arrays:
    x = np.asarray(inputs[0])
    axis = _softmax_axis(a, x.ndim)
    rows = x.reshape(math.prod(x.shape[:axis]), -1) if a.opset < 13 else np.moveaxis(x, axis, -1)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(rows - rows.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
    return [y.reshape(x.shape) if a.opset < 13 else np.moveaxis(y, -1, axis)]
