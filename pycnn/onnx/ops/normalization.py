"""BatchNormalization (inference) and LRN, as pycnn.nn's BatchNorm2d and LocalResponseNorm where they apply."""

from __future__ import annotations

import numpy as np

from ... import nn
from .registry import Arrays, Attrs, Context, Fallback, Generic, LayerOfRank, LayerRun, Runner, op


def _check_inference(a: Attrs) -> None:
    if int(a.get("training_mode", 0)):
        raise a.refuse("training_mode=1 normalises by batch statistics; pycnn runs inference (training_mode=0)")
    if a.opset < 7 and not int(a.get("is_test", 0)):
        raise a.refuse("is_test=0 asks for training-mode batch statistics; pycnn runs inference: re-export the "
                       "model for inference (is_test=1)")
    if len([y for y in a.node.outputs if y]) > 1:
        raise a.refuse("the running statistics outputs exist in training only; pycnn runs inference")


def _build_batch_norm(ctx: Context) -> Runner | None:
    a = ctx.attrs
    _check_inference(a)
    params = [ctx.const(i) for i in range(1, 5)]
    if any(p is None or p.ndim != 1 for p in params) or not int(a.get("spatial", 1)):
        return None
    scale, bias, mean, var = params
    if len({p.shape for p in params}) != 1:  # type: ignore[union-attr]
        raise a.invalid(f"scale, B, mean and var must have one shape, got {[p.shape for p in params]}")  # type: ignore[union-attr]
    bn = nn.BatchNorm2d(scale.shape[0], eps=float(a.get("epsilon", 1e-5)))  # type: ignore[union-attr]
    bn.load_state_dict({"weight": scale, "bias": bias, "running_mean": mean, "running_var": var,
                        "num_batches_tracked": np.array(0)})
    for i, name in enumerate(("weight", "bias", "running_mean", "running_var"), start=1):
        ctx.share(i, bn, name)
    layer = ctx.register(bn)
    return Fallback(LayerOfRank(layer, 4, 4), Generic(batch_normalization, a))


@op("BatchNormalization", ("epsilon", "momentum", "spatial", "is_test", "consumed_inputs", "training_mode"),
    _build_batch_norm)
def batch_normalization(a: Attrs, inputs: Arrays) -> Arrays:
    _check_inference(a)
    x, scale, bias, mean, var = (np.asarray(v, np.float64) for v in inputs[:5])
    # Per channel, or (spatial=0, before opset 9) per element of a sample.
    shape = (1, *scale.shape) if not int(a.get("spatial", 1)) else (1, -1) + (1,) * (x.ndim - 2)
    scale, bias, mean, var = (p.reshape(shape) for p in (scale, bias, mean, var))
    y = (x - mean) / np.sqrt(var + float(a.get("epsilon", 1e-5))) * scale + bias
    return [y.astype(np.asarray(inputs[0]).dtype)]


def _build_lrn(ctx: Context) -> Runner | None:
    a = ctx.attrs
    size = int(a.get("size", 0))
    if size < 1:
        raise a.invalid(f"size must be positive, got {size}")
    if size % 2 == 0:  # ONNX and PyTorch centre an even window differently
        return None
    return LayerRun(ctx.register(nn.LocalResponseNorm(size, float(a.get("alpha", 1e-4)), float(a.get("beta", 0.75)),
                                                      float(a.get("bias", 1.0)))))


@op("LRN", ("alpha", "beta", "bias", "size"), _build_lrn)
def lrn(a: Attrs, inputs: Arrays) -> Arrays:
    x = np.asarray(inputs[0])
    size = int(a.get("size", 0))
    if size < 1 or x.ndim < 3:
        raise a.invalid(f"size={size} must be positive and the input (N, C, …), got shape {x.shape}")
    alpha, beta, bias = float(a.get("alpha", 1e-4)), float(a.get("beta", 0.75)), float(a.get("bias", 1.0))
    squares = np.square(x.astype(np.float64))
    before = (size - 1) // 2
    padded = np.pad(squares, [(0, 0), (before, size - 1 - before)] + [(0, 0)] * (x.ndim - 2))
    sums = sum(padded[:, i:i + x.shape[1]] for i in range(size))
    return [(x / (bias + alpha / size * sums) ** beta).astype(x.dtype)]
