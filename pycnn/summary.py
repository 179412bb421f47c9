"""pycnn.summary: a model's layers with output shapes, parameters, multiply-accumulates and receptive fields."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

from .nn import Module
from .nn.trace import trace
from .receptive_field import receptive_fields


@dataclass(frozen=True)
class LayerRow:
    """One traced layer or op. `receptive_field` is (H, W): the input pixels one output value depends on, per
    axis (None when unknown); `jump` is (H, W): the input pixels between neighbouring output values — the
    layer's effective stride on the input — or None once the output has no spatial axes (after Flatten), whose
    field is then that of all positions together. See pycnn.receptive_field for the rules."""

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    activation_bytes: int  # float32 output of the layer
    receptive_field: tuple[int, int] | None
    jump: tuple[int, int] | None


@dataclass(frozen=True)
class Summary:
    """Per-layer rows in execution order, and totals. ``params`` counts every parameter of the model (also
    of parts inference does not run, such as GoogLeNet's auxiliary classifiers); ``macs`` sums the
    multiply-accumulates of the convolution and linear layers for one call on ``input_shape``."""

    model: str
    input_shape: tuple[int, ...]
    rows: list[LayerRow]
    params: int
    macs: int

    @property
    def activation_bytes(self) -> int:
        return sum(r.activation_bytes for r in self.rows)

    def row(self, name: str) -> LayerRow:
        """The last row named `name` (a layer called several times, such as a shared ReLU, has one per call)."""
        for r in reversed(self.rows):
            if r.name == name:
                return r
        close = difflib.get_close_matches(name, list(dict.fromkeys(r.name for r in self.rows)), n=3)
        raise KeyError(f"no layer named {name!r} in the summary of {self.model}"
                       + (f"; close: {', '.join(close)}" if close else ""))

    def __str__(self) -> str:
        headers = ("layer", "type", "output shape", "params", "MACs", "activations", "receptive field", "jump")
        body = [(r.name, r.type, str(r.output_shape), f"{r.params:,}", f"{r.macs:,}", _bytes(r.activation_bytes),
                 _pair(r.receptive_field), _pair(r.jump)) for r in self.rows]
        widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(headers)]
        right = {3, 4, 5, 6, 7}

        def line(cells: tuple[str, ...]) -> str:
            return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

        rule = "-" * len(line(headers))
        return "\n".join([f"{self.model}, input {self.input_shape}", rule, line(headers), rule,
                          *(line(r) for r in body), rule,
                          f"total parameters: {self.params:,} ({self.params * 4 / 2**20:.1f} MiB as float32)",
                          f"total MACs: {self.macs:,} ({self.macs / 1e9:.3f} G)",
                          f"activations: {_bytes(self.activation_bytes)} summed over layers",
                          "receptive field: input pixels one output value sees; jump: input pixels between "
                          "neighbouring outputs"])


def _pair(value: tuple[int, int] | None) -> str:
    """(196, 196) → '196', (11, 7) → '11x7', None → '-'."""
    if value is None:
        return "-"
    return str(value[0]) if value[0] == value[1] else f"{value[0]}x{value[1]}"


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def summary(model: Module, input_shape: Any = (1, 3, 224, 224)) -> Summary:
    """Traces `model` on an input of `input_shape` (N, C, H, W; nothing is computed) and tabulates its layers: output
    shape, parameters, MACs, activation bytes, receptive field and jump on the input."""
    shape = tuple(int(d) for d in input_shape)
    graph_input, _, nodes = trace(model, shape)
    rows = []
    for node, field in zip(nodes, receptive_fields(graph_input, nodes), strict=True):
        in_shape = node.inputs[0].shape
        out_shape = node.output.shape
        if node.module is not None:
            kind = type(node.module).__name__
            params = sum(p.size for p in node.module._parameters.values() if p is not None)
            macs = node.module.macs(in_shape, out_shape)
        else:
            kind, params, macs = node.op, 0, 0
        rows.append(LayerRow(node.name, kind, out_shape, params, macs, 4 * math.prod(out_shape),
                             None if field is None else field.size, None if field is None else field.jump))
    return Summary(type(model).__name__, shape, rows, sum(p.size for p in model.parameters()),
                   sum(r.macs for r in rows))
