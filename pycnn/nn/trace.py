"""Tracing: running a model's forward on symbolic values to record its graph of layers.

While a Tracer is active, calling a layer records a Node and returns a Value (the shape of its output)
instead of computing; containers run their Python forward as usual. ``+`` on Values and ``cat`` record
the residual additions and channel concatenations of ResNet and Inception. The graph feeds both the
inference plan (plan.py) and pycnn.summary.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._args import as_float32

if TYPE_CHECKING:
    from .module import Module

_state = threading.local()


class Untraceable(TypeError):
    """A forward did something with a traced value that the tracer cannot record."""


@dataclass(eq=False)
class Value:
    shape: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __add__(self, other: Any) -> Value:
        if not isinstance(other, Value):
            raise Untraceable("only two traced values can be added")
        return _require_tracer().record("add", None, [self, other])

    __radd__ = __add__

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise Untraceable("a traced value was used as a numpy array; use pycnn layers and pycnn.nn.cat in forward")


@dataclass(eq=False)
class Node:
    op: str  # "layer", "add" or "cat"
    module: Module | None  # the layer, for op == "layer"
    inputs: list[Value]
    output: Value = field(init=False)
    name: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)


class Tracer:
    def __init__(self, module_names: dict[int, str]):
        self.nodes: list[Node] = []
        self._names = module_names
        self._containers: list[str] = []  # names of the containers whose forward is running

    def call(self, module: Module, args: Sequence[Any]) -> Any:
        if not module.compiles_on_call:  # a layer: record it
            return self.record("layer", module, list(args))
        self._containers.append(self._names.get(id(module), type(module).__name__))
        try:
            return module.forward(*args)
        finally:
            self._containers.pop()

    def record(self, op: str, module: Module | None, inputs: list[Any], **attrs: Any) -> Value:
        for v in inputs:
            if not isinstance(v, Value):
                raise Untraceable(f"{op} got a {type(v).__name__} where a traced value was expected")
        container = self._containers[-1] if self._containers else ""
        if module is not None and id(module) in self._names:
            name = self._names[id(module)]
        else:  # an op or an unregistered layer used in a container's forward: named after the container
            local = op if module is None else type(module).__name__.lower()
            name = f"{container}.{local}" if container else local
        node = Node(op, module, inputs, name=name, attrs=attrs)
        shapes = [v.shape for v in inputs]
        if op == "layer":
            out_shape = module.output_shape(*shapes)  # type: ignore[union-attr]
        elif op == "add":
            if shapes[0] != shapes[1]:
                raise ValueError(f"cannot add values of shapes {shapes[0]} and {shapes[1]}")
            out_shape = shapes[0]
        else:
            out_shape = _cat_shape(shapes, attrs["dim"])
        node.output = Value(tuple(out_shape))
        self.nodes.append(node)
        return node.output


def _cat_shape(shapes: list[tuple[int, ...]], dim: int) -> tuple[int, ...]:
    first = shapes[0]
    for s in shapes[1:]:
        if len(s) != len(first) or any(s[i] != first[i] for i in range(len(first)) if i != dim):
            raise ValueError(f"cat: shapes {shapes} differ outside dimension {dim}")
    return (*first[:dim], sum(s[dim] for s in shapes), *first[dim + 1:])


def active() -> Tracer | None:
    return getattr(_state, "tracer", None)


def _require_tracer() -> Tracer:
    tracer = active()
    if tracer is None:
        raise Untraceable("a traced value was used outside of tracing")
    return tracer


def trace(model: Module, input_shape: tuple[int, ...]) -> tuple[Value, Value, list[Node]]:
    """Runs model.forward on a symbolic input of `input_shape`: returns (input, output, nodes)."""
    tracer = Tracer({id(m): name for name, m in model.named_modules()})
    previous = active()
    _state.tracer = tracer
    try:
        x = Value(tuple(input_shape))
        y = tracer.call(model, [x])
    finally:
        _state.tracer = previous
    if not isinstance(y, Value):
        raise Untraceable(f"forward returned {type(y).__name__}, not a traced value")
    return x, y, tracer.nodes


def eager_mode() -> bool:
    return getattr(_state, "eager", False)


@contextlib.contextmanager
def eager() -> Iterator[None]:
    """Within this block, models run layer by layer as written — no plan, no fusion (a reference path)."""
    previous = eager_mode()
    _state.eager = True
    try:
        yield
    finally:
        _state.eager = previous


def cat(tensors: Sequence[Any], dim: int = 1) -> Any:
    """Concatenation along `dim`, like torch.cat: numpy arrays in, a new float32 array out."""
    if any(isinstance(t, Value) for t in tensors):
        ndim = tensors[0].ndim
        return _require_tracer().record("cat", None, list(tensors), dim=dim % ndim)
    return np.concatenate([as_float32(t, "cat: tensors") for t in tensors], axis=dim)
