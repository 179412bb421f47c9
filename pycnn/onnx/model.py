"""OnnxModel: an ONNX graph as a pycnn.nn.Module, its nodes run in order by their converters (ops/).

Values are of three kinds. Constants (initializers, and every node computable from them alone) are folded at
load time. Static values depend on the inputs' shapes only (Shape and the arithmetic on it): they are computed
with numpy per call, and once per input shape while a plan is traced. Dynamic values carry the data: while a
plan is traced they are traced values, so that the nodes become the plan's layers and fuse as in the built-in
models.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import nn
from .._args import as_float32
from ..nn.trace import Value
from .errors import OnnxFileError, UnsupportedOnnxError
from .graph import Graph, GraphInput, Node, Unsupported
from .ops import MAX_FOLDED_ELEMENTS, OPS, Arrays, Attrs, Compute, Context, Generic, Runner, ShapeOnly

_CONSTANT, _STATIC, _DYNAMIC = "constant", "static", "dynamic"
_FLOATS = ("float16", "float32", "float64", "bfloat16")


@dataclass
class _Step:
    inputs: list[str]
    outputs: list[str]
    run: Runner


class OnnxModel(nn.Module):
    """A network read by pycnn.onnx.load. Called with one image batch it runs through the same fused plan as the
    built-in models; a graph of several inputs or outputs runs node by node and returns a tuple."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        # A graph of one input and one output compiles into a plan; others run node by node.
        self.compiles_on_call = len(graph.inputs) == 1 and len(graph.outputs) == 1
        self.opset, self.graph_name = graph.opset, graph.name
        self.graph_inputs, self.graph_outputs = graph.inputs, graph.outputs
        self._constants: dict[str, np.ndarray] = {}
        self._parameters_read: dict[str, _Parameter] = {}  # constants that are a layer's parameter
        self._steps: list[_Step] = []
        self._build(graph)

    def extra_repr(self) -> str:
        inputs = ", ".join(f"{i.name}: {_shape_text(i.shape)}" for i in self.graph_inputs)
        return f"opset={self.opset}, inputs=({inputs}), outputs={self.graph_outputs}"

    def input_shape(self, batch: int = 1) -> tuple[int, ...]:
        """The first input's shape, with `batch` for an open first dimension."""
        shape = self.graph_inputs[0].shape if self.graph_inputs else None
        if shape is None or None in shape[1:]:
            given = "" if shape is None else f" beyond the batch: {_shape_text(shape)}"
            raise ValueError(f"the graph leaves open its input's shape{given}; pass one (e.g. --input 1,3,224,224)")
        return tuple(batch if d is None else d for d in shape)

    # -- load time ------------------------------------------------------------------------------------------------
    def _build(self, graph: Graph) -> None:
        constants = dict(graph.initializers)
        kinds = {name: _CONSTANT for name in constants} | {i.name: _DYNAMIC for i in graph.inputs}
        reads: dict[str, int] = {}
        for node in graph.nodes:
            for name in node.inputs:
                reads[name] = reads.get(name, 0) + 1
        for name in graph.outputs:
            reads[name] = reads.get(name, 0) + 1
        taken: dict[str, int] = {}
        budget = _FoldingBudget()
        parameters: dict[str, _Parameter] = {}
        for node in graph.nodes:
            spec = _spec(node, graph.opset)
            a = Attrs(node, graph.opset)
            input_kinds = [kinds[n] for n in node.inputs if n]
            if all(k == _CONSTANT for k in input_kinds):
                outputs = budget.fold(spec.compute, dataclasses.replace(a, folding=True),
                                      [constants[n] if n else None for n in node.inputs])
                constants.update((n, v) for n, v in zip(node.outputs, outputs, strict=False) if n)
                kinds.update((n, _CONSTANT) for n in node.outputs if n)
                continue
            run: Runner
            if spec.shape_of or _DYNAMIC not in input_kinds:
                kind, run = _STATIC, ShapeOnly(spec.compute, a)
            else:
                kind = _DYNAMIC
                context = Context(a, [constants.get(n) if n and kinds[n] == _CONSTANT else None for n in node.inputs],
                                  functools.partial(self._register, node, taken=taken),
                                  functools.partial(_share, constants, parameters, node))
                built = spec.build(context) if spec.build is not None else None
                run = built or Generic(spec.compute, a, any(reads.get(n) for n in node.outputs[1:] if n))
            self._steps.append(_Step(node.inputs, node.outputs, run))
            kinds.update((n, kind) for n in node.outputs if n)
        used = {n for step in self._steps for n in step.inputs} | set(graph.outputs)
        self._constants = {n: v for n, v in constants.items() if n in used and n not in parameters}
        self._parameters_read = {n: v for n, v in parameters.items() if n in used}

    def _register(self, node: Node, layer: nn.Module, *, taken: dict[str, int]) -> nn.Module:
        """Adds a node's layer under a name made from the node's (or its output's) name; a name met again gets
        the suffix _2, _3, …"""
        named = node.name and "#" not in node.name  # reading.py names unnamed nodes "<op_type> #<index>"
        base = re.sub(r"\W+", "_", node.name if named else node.outputs[0]).strip("_") or node.op_type.lower()
        base = base if base[0].isalpha() else f"{node.op_type.lower()}_{base}"
        name = base
        while name in taken:  # a base met before, or a name a suffix made
            taken[base] = taken.get(base, 1) + 1
            name = f"{base}_{taken[base]}"
        taken[name] = 1
        self.add_module(name, layer)
        return layer

    # -- run time -------------------------------------------------------------------------------------------------
    def forward(self, *inputs: Any) -> Any:
        if len(inputs) != len(self.graph_inputs):
            names = ", ".join(i.name for i in self.graph_inputs)
            raise TypeError(f"the graph takes {len(self.graph_inputs)} input(s) ({names}), got {len(inputs)}")
        values: dict[str, Any] = self._constants | {n: read() for n, read in self._parameters_read.items()}
        held = {id(v) for v in values.values()}
        for spec, x in zip(self.graph_inputs, inputs, strict=True):
            values[spec.name] = _graph_input(spec, x)
        for step in self._steps:
            outputs = step.run([values[n] if n else None for n in step.inputs])
            values.update((n, v) for n, v in zip(step.outputs, outputs, strict=False) if n)
        given = {id(x) for x in inputs} | held
        results = [values[n] if isinstance(values[n], Value) or id(values[n]) not in given else values[n].copy()
                   for n in self.graph_outputs]
        return results[0] if len(results) == 1 else tuple(results)


class _FoldingBudget:
    """Bounds what folding constants at load time may allocate: no one folded value over MAX_FOLDED_ELEMENTS
    (the converters check before they allocate), and all of them together at most four times that, so that a
    file of a few bytes cannot make gigabytes."""

    def __init__(self) -> None:
        self.elements = 0

    def fold(self, compute: Compute, a: Attrs, inputs: Arrays) -> list[np.ndarray]:
        try:
            outputs = [np.asarray(v) for v in compute(a, inputs)]
        except MemoryError:
            raise OnnxFileError(f"{a.where()}: folding it at load time needs more memory than there is") from None
        for v in outputs:
            a.allocating(v.shape)
            self.elements += v.size
        if self.elements > 4 * MAX_FOLDED_ELEMENTS:
            raise OnnxFileError(f"{a.where()}: the values folded at load time exceed {4 * MAX_FOLDED_ELEMENTS} "
                                "elements in all")
        return outputs


@dataclass
class _Parameter:
    """A constant of the graph that a layer holds as its parameter `name` (transposed, for a MatMul's matrix)."""

    layer: nn.Module
    name: str
    transposed: bool

    def __call__(self) -> np.ndarray:
        array: np.ndarray = getattr(self.layer, self.name)
        return array.T if self.transposed else array


def _share(constants: dict[str, np.ndarray], parameters: dict[str, _Parameter], node: Node, index: int,
           layer: nn.Module, name: str, transposed: bool = False) -> None:
    """Input `index` of the node is the layer's parameter from now on, if it holds the same values in the same
    type (not where the layer's copy is scaled, like a Gemm's alpha * B)."""
    constant, parameter = node.inputs[index], _Parameter(layer, name, transposed)
    old, array = constants.get(constant), parameter()
    if old is not None and old.shape == array.shape and old.dtype == array.dtype and np.array_equal(old, array):
        constants[constant], parameters[constant] = array, parameter


def _spec(node: Node, opset: int) -> Any:
    spec = OPS.get(node.op_type)
    where = node.describe(opset)
    if spec is None:
        raise UnsupportedOnnxError(f"{where}: pycnn does not run {node.op_type}; it runs {', '.join(sorted(OPS))}")
    unknown = sorted(set(node.attrs) - spec.attrs)
    if unknown:
        raise UnsupportedOnnxError(f"{where}: attribute(s) {', '.join(unknown)} not supported; {node.op_type} takes "
                                   f"{', '.join(sorted(spec.attrs)) or 'none'}")
    odd = [name for name, value in node.attrs.items() if isinstance(value, Unsupported)]
    if odd:
        raise UnsupportedOnnxError(f"{where}: attribute(s) {', '.join(odd)} are subgraphs or sparse tensors, which "
                                   "pycnn does not run")
    return spec


def _shape_text(shape: tuple[int | None, ...] | None) -> str:
    return "?" if shape is None else "(" + ", ".join("N" if d is None else str(d) for d in shape) + ")"


def _graph_input(spec: GraphInput, x: Any) -> Any:
    what = f"input {spec.name!r}"
    if isinstance(x, Value):
        shape = x.shape
    else:
        x = as_float32(x, what) if spec.elem_type in _FLOATS else np.asarray(x, spec.elem_type)
        shape = x.shape
    expected = spec.shape
    if expected is not None and (len(shape) != len(expected) or
                                 any(e is not None and e != s for e, s in zip(expected, shape, strict=False))):
        raise ValueError(f"{what} must have shape {_shape_text(expected)} (N: any size), got {tuple(shape)}")
    return x
