"""pycnn.summary: a model's layers with output shapes, parameters and multiply-accumulates."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .nn import Module
from .nn.trace import trace


@dataclass(frozen=True)
class LayerRow:
    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    activation_bytes: int  # float32 output of the layer


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

    def __str__(self) -> str:
        headers = ("layer", "type", "output shape", "params", "MACs", "activations")
        body = [(r.name, r.type, str(r.output_shape), f"{r.params:,}", f"{r.macs:,}", _bytes(r.activation_bytes))
                for r in self.rows]
        widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(headers)]
        right = {3, 4, 5}

        def line(cells: tuple[str, ...]) -> str:
            return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

        rule = "-" * len(line(headers))
        return "\n".join([f"{self.model}, input {self.input_shape}", rule, line(headers), rule,
                          *(line(r) for r in body), rule,
                          f"total parameters: {self.params:,} ({self.params * 4 / 2**20:.1f} MiB as float32)",
                          f"total MACs: {self.macs:,} ({self.macs / 1e9:.3f} G)",
                          f"activations: {_bytes(self.activation_bytes)} summed over layers"])


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def summary(model: Module, input_shape: Any = (1, 3, 224, 224)) -> Summary:
    """Traces `model` on an input of `input_shape` (nothing is computed) and tabulates its layers."""
    shape = tuple(int(d) for d in input_shape)
    _, _, nodes = trace(model, shape)
    rows = []
    for node in nodes:
        in_shape = node.inputs[0].shape
        out_shape = node.output.shape
        if node.module is not None:
            kind = type(node.module).__name__
            params = sum(p.size for p in node.module._parameters.values() if p is not None)
            macs = node.module.macs(in_shape, out_shape)
        else:
            kind, params, macs = node.op, 0, 0
        rows.append(LayerRow(node.name, kind, out_shape, params, macs, 4 * math.prod(out_shape)))
    return Summary(type(model).__name__, shape, rows, sum(p.size for p in model.parameters()),
                   sum(r.macs for r in rows))
