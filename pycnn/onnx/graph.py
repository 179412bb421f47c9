"""An ONNX graph as pycnn reads it: plain Python values, independent of the onnx package once read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Node:
    name: str  # the node's name, or "<op_type> #<index>" when the file gives none
    op_type: str
    inputs: list[str]  # "" for an omitted optional input
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)  # ints, floats, str, lists of them, np.ndarray, Unsupported

    def describe(self, opset: int) -> str:
        return f"node {self.name!r} ({self.op_type}, opset {opset})"


@dataclass
class Unsupported:
    """An attribute of a kind no supported operator takes (a subgraph, a sparse tensor)."""

    what: str


@dataclass
class GraphInput:
    name: str
    shape: tuple[int | None, ...] | None  # None for a dimension (or a whole shape) the file leaves open
    elem_type: str  # numpy's name for the element type, e.g. "float32"


@dataclass
class Graph:
    opset: int  # the default domain's version
    inputs: list[GraphInput]  # the inputs a caller passes (initializers listed as inputs excluded)
    outputs: list[str]
    nodes: list[Node]
    initializers: dict[str, np.ndarray]
    name: str = ""
