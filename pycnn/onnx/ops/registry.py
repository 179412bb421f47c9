"""How an ONNX operator becomes pycnn code: one OpSpec per operator type.

Every operator has a numpy definition (`compute`) of its ONNX semantics for any inputs: it folds constants at
load time, evaluates shape arithmetic per input shape, and runs whatever has no faster form. An operator may
also have a `build` that maps it, when its constant inputs allow, onto pycnn.nn layers — the convolutions,
pools and linear layers that a plan fuses and packs exactly as in the built-in models.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...nn import Module
from ...nn.trace import Untraceable, Value
from ..errors import OnnxFileError, UnsupportedOnnxError
from ..graph import Node
from ..layers import Function

Arrays = list[Any]  # per input: an np.ndarray, a traced Value (shape only), or None where omitted
Runner = Callable[[Arrays], Arrays]


MAX_FOLDED_ELEMENTS = 1 << 28  # the largest value folded at load time (a classic CNN's largest weight: 2^27)


@dataclass
class Attrs:
    """A node's attributes and operator-set version, with the messages its errors need."""

    node: Node
    opset: int
    folding: bool = False  # computing a constant at load time, from the file's constants alone

    def get(self, name: str, default: Any = None) -> Any:
        return self.node.attrs.get(name, default)

    def ints(self, name: str) -> list[int] | None:
        value = self.node.attrs.get(name)
        return None if value is None else [int(v) for v in value]

    def int_list(self, name: str, default: list[int]) -> list[int]:
        value = self.ints(name)
        return default if value is None else value

    def where(self) -> str:
        return self.node.describe(self.opset)

    def refuse(self, problem: str) -> UnsupportedOnnxError:
        return UnsupportedOnnxError(f"{self.where()}: {problem}")

    def invalid(self, problem: str) -> ValueError:
        return ValueError(f"{self.where()}: {problem}")

    def allocating(self, shape: tuple[int, ...] | list[int]) -> None:
        """Checks, before a converter allocates an output of `shape`, that folding may make it (no bound applies
        to values computed from the caller's data)."""
        if self.folding and math.prod(shape) > MAX_FOLDED_ELEMENTS:
            raise OnnxFileError(f"{self.where()}: folding it at load time would make a constant of shape "
                                f"{tuple(shape)}; pycnn folds constants of at most {MAX_FOLDED_ELEMENTS} elements")


Compute = Callable[[Attrs, Arrays], Arrays]


@dataclass
class Context:
    """What a build function knows at load time: the node, and which of its inputs are constants."""

    attrs: Attrs
    constants: list[np.ndarray | None]  # per input: its value when it is a load-time constant
    register: Callable[[Module], Module]  # adds a layer (with its weights) to the model's state
    # share(i, layer, name, transposed=False): input i's constant is the layer's parameter `name` (or its
    # transpose) holding the same values: held once, not twice, and read from the layer after load_state_dict
    share: Callable[..., None]

    def const(self, i: int) -> np.ndarray | None:
        return self.constants[i] if i < len(self.constants) else None

    def absent(self, i: int) -> bool:
        inputs = self.attrs.node.inputs
        return i >= len(inputs) or not inputs[i]


@dataclass(frozen=True)
class OpSpec:
    compute: Compute
    attrs: frozenset[str]  # the attributes it accepts (any opset)
    build: Callable[[Context], Runner | None] | None = None
    shape_of: bool = False  # its output depends only on its input's shape (Shape), never on its values


OPS: dict[str, OpSpec] = {}


def op(name: str, attrs: tuple[str, ...] = (), build: Callable[[Context], Runner | None] | None = None,
       shape_of: bool = False) -> Callable[[Compute], Compute]:
    def register(compute: Compute) -> Compute:
        OPS[name] = OpSpec(compute, frozenset(attrs), build, shape_of)
        return compute

    return register


def is_traced(x: Any) -> bool:
    return isinstance(x, Value)


def _first_output(compute: Compute, attrs: Attrs, inputs: Arrays, *dynamic: np.ndarray) -> np.ndarray:
    values, it = [], iter(dynamic)
    for x in inputs:
        values.append(next(it) if is_traced(x) else x)
    return np.asarray(compute(attrs, values)[0])


@dataclass
class Generic:
    """Runs a node with its numpy definition: directly on arrays, or, while a plan is traced, as a Function layer
    (so the plan calls it) — which can only stand for the node's first output."""

    compute: Compute
    attrs: Attrs
    more_outputs_read: bool = False  # whether anything reads an output after the first

    def __call__(self, inputs: Arrays) -> Arrays:
        if not any(is_traced(x) for x in inputs):
            return self.compute(self.attrs, inputs)
        if self.more_outputs_read:
            raise Untraceable(f"{self.attrs.where()}: a plan runs nodes of one output")
        function = functools.partial(_first_output, self.compute, self.attrs,
                                     [x if not is_traced(x) else _TRACED for x in inputs])
        return [Function(self.attrs.node.op_type, function)(*(x for x in inputs if is_traced(x)))]


_TRACED = Value(())  # stands for a traced input among a Function's bound arguments


def _stand_in(x: Value) -> np.ndarray:
    """A traced value as an array of its shape that takes no memory (every element is the same zero)."""
    return np.broadcast_to(np.float32(0), x.shape)


@dataclass
class ShapeOnly:
    """Runs a node whose outputs depend on its inputs' shapes alone (Shape, and the arithmetic on shapes) with
    numpy, also while a plan is traced: a traced input stands in as an array of its shape, so the results are
    arrays that the plan takes as constants of the input shape it is traced for."""

    compute: Compute
    attrs: Attrs

    def __call__(self, inputs: Arrays) -> Arrays:
        return self.compute(self.attrs, [_stand_in(x) if is_traced(x) else x for x in inputs])


@dataclass
class LayerRun:
    """Runs a node as one pycnn.nn layer applied to its first input."""

    layer: Module

    def __call__(self, inputs: Arrays) -> Arrays:
        return [self.layer(inputs[0])]


@dataclass
class LayerOfRank:
    """A node's layer applied to its first input where that input's rank is one the layer takes; None elsewhere
    (for a Fallback to run the numpy form)."""

    layer: Module
    min_rank: int
    max_rank: int

    def __call__(self, inputs: Arrays) -> Any:
        return self.layer(inputs[0]) if self.min_rank <= len(inputs[0].shape) <= self.max_rank else None


@dataclass
class Fallback:
    """A fast form where it applies to the inputs at hand (`fast` returns None where not), else the numpy one."""

    fast: Callable[[Arrays], Any]
    generic: Generic = field(repr=False)

    def __call__(self, inputs: Arrays) -> Arrays:
        result = self.fast(inputs)
        return [result] if result is not None else self.generic(inputs)
