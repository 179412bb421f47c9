"""Receptive fields: which input pixels each traced value depends on, per spatial axis.

Along one axis, output i of a value sees input pixels ``[start + i·jump, start + i·jump + size)``. A window of
kernel k, dilation d, stride s and padding p (before) on a value (size r, jump j, start a) gives

    size  = r + d·(k − 1)·j        jump = j·s        start = a − p·j

the usual recurrence (Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks",
Distill 2019). Sizes are not clipped to the image: a field larger than the input reaches into the padding.
A residual addition or a concatenation sees the union of its inputs' fields (the largest one, when they are
centred alike, as in every classic network). A layer without a window works on each position by itself,
except those that mix a whole axis — Flatten, Linear, Softmax over a spatial axis — after which every output
sees the union of all positions' fields along that axis (jump 0: neighbours see the same pixels).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .nn.layers import AdaptiveAvgPool2d, Flatten, Linear, Softmax
from .nn.trace import Node, Value

SPATIAL_AXES = (2, 3)  # H and W of an (N, C, H, W) value


@dataclass(frozen=True)
class AxisField:
    """The field along one axis: `size` input pixels, starting at input coordinate `start` (negative: in the
    padding) for the first output, `jump` input pixels further on for each next output."""

    size: int
    jump: int
    start: int

    def through_window(self, kernel: int, stride: int, pad_before: int, dilation: int) -> AxisField:
        return AxisField(self.size + dilation * (kernel - 1) * self.jump, self.jump * stride,
                         self.start - pad_before * self.jump)

    def whole_axis(self, length: int) -> AxisField:
        """The union of the fields of all `length` positions: what a layer mixing the whole axis sees."""
        return AxisField(self.size + (length - 1) * self.jump, 0, self.start)


@dataclass(frozen=True)
class ReceptiveField:
    """A value's field on the model's input: one AxisField for H and one for W. `spatial` is False once the
    value has no spatial axes (after Flatten): its fields are then the union over the positions it came from."""

    h: AxisField
    w: AxisField
    spatial: bool = True

    @property
    def size(self) -> tuple[int, int]:
        return (self.h.size, self.w.size)

    @property
    def jump(self) -> tuple[int, int] | None:
        return (self.h.jump, self.w.jump) if self.spatial else None


def union(fields: Sequence[ReceptiveField]) -> ReceptiveField:
    """The field of a value computed from all of `fields` (an addition, a concatenation). Fields with different
    jumps (in no classic network) are joined at their first output, with the largest jump."""

    def axis(parts: list[AxisField]) -> AxisField:
        start = min(p.start for p in parts)
        end = max(p.start + p.size for p in parts)
        return AxisField(end - start, max(p.jump for p in parts), start)

    return ReceptiveField(axis([f.h for f in fields]), axis([f.w for f in fields]), all(f.spatial for f in fields))


def _adaptive_axis(field: AxisField, length: int, out: int) -> AxisField:
    """Adaptive pooling's window i spans [floor(i·L/O), ceil((i+1)·L/O)): uniform when O divides L; otherwise
    the largest window and the largest step between window starts."""
    starts = [i * length // out for i in range(out)]
    ends = [math.ceil((i + 1) * length / out) for i in range(out)]
    kernel = max(e - s for s, e in zip(starts, ends, strict=True))
    stride = max((b - a for a, b in itertools.pairwise(starts)), default=kernel)
    return field.through_window(kernel, stride, 0, 1)


def _sliding_window(module: Any) -> Any:
    """The normalised window of a convolution or pooling layer (its `window`: kernel, stride, padding as (top,
    bottom, left, right), dilation, each per axis); None for other layers."""
    window = getattr(module, "window", None)
    if all(hasattr(window, a) for a in ("kernel", "stride", "padding", "dilation")):
        return window
    return None


def _mixed_axes(node: Node, in_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The spatial axes of the input that a window-less layer mixes whole."""
    module = node.module
    if isinstance(module, Linear):
        return (3,)
    if isinstance(module, Softmax) and module.dim is not None:
        return tuple(a for a in SPATIAL_AXES if a == module.dim % len(in_shape))
    if isinstance(module, Flatten):
        n = len(in_shape)
        first, last = module.start_dim % n, module.end_dim % n
        return tuple(a for a in SPATIAL_AXES if first <= a <= last and first < last)
    return ()


def _through_layer(node: Node, field: ReceptiveField) -> ReceptiveField | None:
    in_shape, out_shape = node.inputs[0].shape, node.output.shape
    if not field.spatial:  # nothing left to slide over: every output sees all of it
        return field
    window = _sliding_window(node.module)
    if window is not None:
        (kh, kw), (sh, sw), (pt, _, pl, _), (dh, dw) = window.kernel, window.stride, window.padding, window.dilation
        return ReceptiveField(field.h.through_window(kh, sh, pt, dh), field.w.through_window(kw, sw, pl, dw))
    if isinstance(node.module, AdaptiveAvgPool2d):
        return ReceptiveField(_adaptive_axis(field.h, in_shape[2], out_shape[2]),
                              _adaptive_axis(field.w, in_shape[3], out_shape[3]))
    mixed = _mixed_axes(node, in_shape)
    h = field.h.whole_axis(in_shape[2]) if 2 in mixed else field.h
    w = field.w.whole_axis(in_shape[3]) if 3 in mixed else field.w
    if len(out_shape) != 4:
        return ReceptiveField(field.h.whole_axis(in_shape[2]), field.w.whole_axis(in_shape[3]), spatial=False)
    if any(out_shape[a] != in_shape[a] for a in SPATIAL_AXES if a not in mixed):
        return None  # a layer that resizes its input without a known window: the field is unknown
    return ReceptiveField(h, w)


def receptive_fields(graph_input: Value, nodes: Sequence[Node]) -> list[ReceptiveField | None]:
    """The field of each traced node's output on `graph_input`, in the order of `nodes`; None where unknown (an
    input that is not (N, C, H, W), or a layer that resizes its input without a window)."""
    one_pixel = AxisField(size=1, jump=1, start=0)
    by_value: dict[int, ReceptiveField | None] = {
        id(graph_input): ReceptiveField(one_pixel, one_pixel) if len(graph_input.shape) == 4 else None}
    for node in nodes:
        inputs = [by_value.get(id(v)) for v in node.inputs]
        known = [f for f in inputs if f is not None]
        field = None
        if known and len(known) == len(inputs):
            field = _through_layer(node, known[0]) if node.op == "layer" else union(known)
        by_value[id(node.output)] = field
    return [by_value[id(node.output)] for node in nodes]
