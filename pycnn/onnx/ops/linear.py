"""Gemm and MatMul: a pycnn.nn.Linear when the second operand (and Gemm's C) are constants."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ... import nn
from .registry import Arrays, Attrs, Context, Fallback, Generic, LayerOfRank, Runner, op


def _linear(weight: np.ndarray, bias: np.ndarray | None, register: Callable[[nn.Module], nn.Module]) -> nn.Module:
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    layer.weight = weight
    if bias is not None:
        layer.bias = bias
    return register(layer)


def _build_gemm(ctx: Context) -> Runner | None:
    a, b, c = ctx.attrs, ctx.const(1), ctx.const(2)
    if b is None or b.ndim != 2 or (c is None and not ctx.absent(2)) or int(a.get("transA", 0)):
        return None
    alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
    weight = (b if int(a.get("transB", 0)) else b.T).astype(np.float64) * alpha  # (N, K)
    n = weight.shape[0]
    bias = None
    if c is not None:
        if c.size not in (1, n) or (c.ndim == 2 and c.shape[0] != 1) or c.ndim > 2:
            return None  # C varies along the batch: numpy
        bias = np.broadcast_to(c.astype(np.float64).reshape(-1), (n,)) * beta
    layer = _linear(weight.astype(np.float32), None if bias is None else bias.astype(np.float32), ctx.register)
    if alpha == 1:
        ctx.share(1, layer, "weight", transposed=not int(a.get("transB", 0)))
    if beta == 1 and c is not None:
        ctx.share(2, layer, "bias")
    return Fallback(LayerOfRank(layer, 2, 2), Generic(gemm, a))


@op("Gemm", ("alpha", "beta", "transA", "transB", "broadcast"), _build_gemm)
def gemm(a: Attrs, inputs: Arrays) -> Arrays:
    x, b = np.asarray(inputs[0]), np.asarray(inputs[1])
    c = inputs[2] if len(inputs) > 2 else None
    if x.ndim != 2 or b.ndim != 2:
        raise a.invalid(f"A and B must be matrices, got shapes {x.shape} and {b.shape}")
    x = x.T if int(a.get("transA", 0)) else x
    b = b.T if int(a.get("transB", 0)) else b
    if x.shape[1] != b.shape[0]:
        raise a.invalid(f"A{' (transposed)' if int(a.get('transA', 0)) else ''} of shape {x.shape} and "
                        f"B{' (transposed)' if int(a.get('transB', 0)) else ''} of shape {b.shape} do not multiply")
    a.allocating((x.shape[0], b.shape[1]))
    y = (x @ b) * x.dtype.type(a.get("alpha", 1.0))
    if c is not None:
        y = y + np.asarray(c, x.dtype) * x.dtype.type(a.get("beta", 1.0))
    return [y.astype(x.dtype)]


def _build_matmul(ctx: Context) -> Runner | None:
    b = ctx.const(1)
    if b is None or b.ndim != 2:
        return None
    layer = _linear(np.ascontiguousarray(b.T), None, ctx.register)
    ctx.share(1, layer, "weight", transposed=True)
    return Fallback(LayerOfRank(layer, 2, 64), Generic(matmul, ctx.attrs))


@op("MatMul", (), _build_matmul)
def matmul(a: Attrs, inputs: Arrays) -> Arrays:
    x, b = np.asarray(inputs[0]), np.asarray(inputs[1])
    mismatch = a.invalid(f"inputs of shapes {x.shape} and {b.shape} do not multiply")
    if x.ndim >= 2 and b.ndim >= 2:
        try:
            stacks = np.broadcast_shapes(x.shape[:-2], b.shape[:-2])
        except ValueError:
            raise mismatch from None
        a.allocating((*stacks, x.shape[-2], b.shape[-1]))
    try:
        return [np.matmul(x, b)]
    except ValueError:
        raise mismatch from None
