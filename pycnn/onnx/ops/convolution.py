"""Conv: a pycnn.nn.Conv2d when its weight (and bias) are constants and its pads do not depend on the input."""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import functional as F
from ... import nn
from .registry import Arrays, Attrs, Context, LayerRun, Runner, op
from .windows import as_4d, from_4d, window2d


def _build(ctx: Context) -> Runner | None:
    a, w, b = ctx.attrs, ctx.const(1), ctx.const(2)
    if w is None:
        return None
    window = window2d(a, w.shape[2:], "convolutions")  # refuses a 3-D kernel at load time
    pads = window.static_pads()
    group = int(a.get("group", 1))
    if (b is None and not ctx.absent(2)) or pads is None or group < 1 or window.one_d:
        return None
    try:
        conv = nn.Conv2d(w.shape[1] * group, w.shape[0], w.shape[2:], window.strides, pads, window.dilations,
                         group, bias=b is not None)
    except ValueError as e:
        raise a.invalid(str(e)) from None
    conv.weight = w
    if b is not None:
        if b.shape != (w.shape[0],):
            raise a.invalid(f"bias of shape {b.shape} does not match the weight of shape {w.shape}")
        conv.bias = b
    ctx.share(1, conv, "weight")
    if b is not None:
        ctx.share(2, conv, "bias")
    return LayerRun(ctx.register(conv))


@op("Conv", ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"), _build)
def conv(a: Attrs, inputs: Arrays) -> Arrays:
    x, w, b = (*inputs, None)[:3]
    w = np.asarray(w)
    window = window2d(a, w.shape[2:], "convolutions")
    x, w = as_4d(a, window, x, "convolution"), as_4d(a, window, w, "convolution weight")
    pads = window.pads_for(x.shape[2:])
    y: Any = F.conv2d(x, w, b, window.strides, pads, window.dilations, int(a.get("group", 1)))
    return [from_4d(window, y)]
