"""Add, Sub, Mul, Div and Sum with broadcasting (and the legacy broadcast/axis attributes before opset 7).

Two values of one shape are added as the plan's residual addition (fused into the convolution's store); a
value times or plus a per-channel constant is a channel affine map; anything else is numpy's broadcasting.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ..layers import ChannelAffine
from .registry import Arrays, Attrs, Context, Fallback, Generic, Runner, is_traced, op

_LEGACY = ("broadcast", "axis", "consumed_inputs")


def _aligned(a: Attrs, x_shape: tuple[int, ...], b: Any) -> Any:
    """B as numpy broadcasting reads it: before opset 7, with broadcast=1 its dimensions start at `axis`."""
    if a.opset >= 7 or not int(a.get("broadcast", 0)):
        return b
    b = np.asarray(b)
    axis = int(a.get("axis", len(x_shape) - b.ndim))
    axis = axis % len(x_shape) if x_shape else 0
    return b.reshape(b.shape + (1,) * (len(x_shape) - axis - b.ndim))


def _binary(function: Callable[[Any, Any], Any], a: Attrs, inputs: Arrays) -> Arrays:
    x, y = np.asarray(inputs[0]), np.asarray(inputs[1])
    y = _aligned(a, x.shape, y)
    try:
        shape = np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise a.invalid(f"inputs of shapes {x.shape} and {np.shape(y)} do not broadcast") from None
    a.allocating(shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        return [np.asarray(function(x, y)).astype(np.result_type(x, y))]


def _per_channel(x_shape: tuple[int, ...], constant: np.ndarray) -> np.ndarray | None:
    """The constant as one value per channel of x (axis 1), where broadcasting makes it that."""
    if len(x_shape) < 2 or constant.ndim > len(x_shape):
        return None
    shape: tuple[int, ...] = (1,) * (len(x_shape) - constant.ndim) + tuple(constant.shape)
    if any(d != 1 for i, d in enumerate(shape) if i != 1) or shape[1] not in (1, x_shape[1]):
        return None
    full = constant.reshape(shape)
    return np.broadcast_to(full.reshape(-1).astype(np.float32), (x_shape[1],))


def _fast(kind: str, a: Attrs, inputs: Arrays) -> Any:
    """The plan's form of a traced node, or None: values of one shape added as the residual addition, a value
    plus, minus or times a per-channel constant as a channel affine map."""
    traced = [is_traced(v) for v in inputs]
    if all(traced):
        if kind in ("add", "sum") and len({tuple(v.shape) for v in inputs}) == 1:
            return functools.reduce(operator.add, inputs)
        return None
    if kind == "sum" or len(inputs) != 2 or not any(traced):
        return None
    if traced[0]:
        x, constant = inputs[0], np.asarray(_aligned(a, tuple(inputs[0].shape), inputs[1]))
    elif kind in ("add", "mul"):
        x, constant = inputs[1], np.asarray(inputs[0])
    else:
        return None
    c = _per_channel(tuple(x.shape), constant)
    if c is None:
        return None
    ones, zeros = np.ones_like(c), np.zeros_like(c)
    terms = {"add": (ones, c), "sub": (ones, -c), "mul": (c, zeros)}.get(kind)
    return None if terms is None else ChannelAffine(*terms)(x)


def _build(kind: str, compute: Callable[[Attrs, Arrays], Arrays]) -> Callable[[Context], Runner]:
    def build(ctx: Context) -> Runner:
        return Fallback(functools.partial(_fast, kind, ctx.attrs), Generic(compute, ctx.attrs))

    return build


def _register(name: str, kind: str, function: Callable[[Any, Any], Any]) -> None:
    compute = functools.partial(_binary, function)
    op(name, _LEGACY, _build(kind, compute))(compute)


_register("Add", "add", np.add)
_register("Sub", "sub", np.subtract)
_register("Mul", "mul", np.multiply)
_register("Div", "div", np.divide)


def _sum(a: Attrs, inputs: Arrays) -> Arrays:
    arrays = [np.asarray(x) for x in inputs if x is not None]
    if not arrays:
        raise a.invalid("Sum needs at least one input")
    try:
        shape = np.broadcast_shapes(*(x.shape for x in arrays))
    except ValueError:
        raise a.invalid(f"inputs of shapes {[x.shape for x in arrays]} do not broadcast") from None
    a.allocating(shape)
    return [functools.reduce(np.add, arrays).astype(np.result_type(*arrays))]


op("Sum", ("consumed_inputs",), _build("sum", _sum))(_sum)
