"""Fusion: traced nodes turned into the plan's steps, each one kernel call of the backend.

BatchNorm is folded into the convolution before it; bias, ReLU and a residual addition are applied in the
convolution's store; ReLU in the linear layer's store; view-only layers (Dropout, Flatten) become views.
Convolutions that read the same input through the same window (Inception's 1×1 branches) run as one, when each
one's channels of the joint output can be a view (batch 1 in NCHW); and the inputs of a concatenation that is
contiguous along its dimension are written in place into the output, leaving the concatenation nothing to copy.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard, cast

import numpy as np

from ..._args import F32
from ...backends import Backend, ConvSpec, Execute
from ..layers import BatchNorm2d, Conv2d, Layer, Linear, ReLU
from ..trace import Node, Value

# A convolution with the BatchNorm after it, if any.
ConvBn = tuple[Conv2d, BatchNorm2d | None]


@dataclass(eq=False)
class Step:
    """One kernel call: reads `inputs`, writes `output` (or, for a view, makes it from inputs[0])."""

    name: str
    inputs: list[Value]
    output: Value
    execute: Callable[..., Any]  # execute(*input_arrays, out); a view returns its array
    is_view: bool = False
    fused: list[str] = field(default_factory=list)


class _Consumers:
    def __init__(self, nodes: list[Node], output: Value):
        self._users: dict[int, list[Node | None]] = {}
        for node in nodes:
            for v in node.inputs:
                self._users.setdefault(id(v), []).append(node)
        self._users.setdefault(id(output), []).append(None)  # the caller reads the graph output

    def sole(self, value: Value) -> Node | None:
        """The one node that reads `value`, if exactly one does (and it is not the graph's output)."""
        users = self._users.get(id(value), [])
        return users[0] if len(users) == 1 else None


def _is_layer(node: Node | None, kind: type) -> TypeGuard[Node]:
    return node is not None and node.op == "layer" and isinstance(node.module, kind)


def _is_contiguous_slice(shape: tuple[int, ...], dim: int) -> bool:
    """Whether a slice along `dim` of a C-contiguous array of `shape` is itself contiguous."""
    return math.prod(shape[:dim]) == 1


@dataclass(eq=False)
class _ConvTail:
    """What a convolution's store can take on: the BatchNorm after it, a residual addition, then a ReLU."""

    last: Node  # the node whose output the fused step writes
    bn: Node | None = None
    add: Node | None = None
    residual: Value | None = None
    relu: Node | None = None

    def nodes(self) -> list[Node]:
        return [n for n in (self.bn, self.add, self.relu) if n is not None]

    def names(self) -> list[str]:
        return [n.name if n is not self.add else "add" for n in self.nodes()]


class Builder:
    """Turns traced nodes into fused steps, and decides which values live inside another's memory."""

    def __init__(self, nodes: list[Node], output: Value, packed: dict[Any, Any], backend: Backend):
        self.nodes, self.packed, self.backend = nodes, packed, backend
        self.consumers = _Consumers(nodes, output)
        self.absorbed: set[int] = set()
        self.steps_at: dict[int, list[Step]] = {}  # node position → steps emitted there
        self.position = {id(n): i for i, n in enumerate(nodes)}
        self.written: set[int] = set()  # values that a step writes (rather than views)
        # value → (the value whose memory it lies in, its element offset there)
        self.placements: dict[int, tuple[Value, int]] = {}
        self.host_layers: list[str] = []  # layers of a device's plan that run their forward on the host

    def build(self) -> list[Step]:
        siblings = self._sibling_convs()
        for node in self.nodes:
            if id(node) in self.absorbed:
                continue
            group = siblings.get(id(node))
            for step, last in self._sibling_steps(group) if group else [self._step(node)]:
                self.steps_at.setdefault(self.position[id(last)], []).append(step)
                if not step.is_view:
                    self.written.add(id(step.output))
        return [s for i in sorted(self.steps_at) for s in self.steps_at[i]]

    def _absorb(self, node: Node) -> None:
        self.absorbed.add(id(node))

    def _next(self, value: Value) -> Node | None:
        """The node that alone reads `value` and is not yet part of a fused step."""
        node = self.consumers.sole(value)
        return None if node is None or id(node) in self.absorbed else node

    def _step(self, node: Node) -> tuple[Step, Node]:
        if _is_layer(node, Conv2d):
            return self._conv_step(node)
        if _is_layer(node, Linear):
            return self._linear_step(node)
        if node.op == "add":
            return Step("add", node.inputs, node.output, self.backend.add_step()), node
        if node.op == "cat":
            return self._cat_step(node), node
        layer: Layer = node.module  # type: ignore[assignment]
        if layer.view_only:
            shape = node.output.shape
            return Step(node.name, node.inputs, node.output, lambda x: x.reshape(shape), is_view=True), node
        op = layer.op(*(v.shape for v in node.inputs))
        if op.name == "call" and not self.backend.is_host:
            self.host_layers.append(type(layer).__name__)
        return Step(node.name, node.inputs, node.output, self.backend.op_step(op, self.packed)), node

    def _conv_tail(self, node: Node) -> _ConvTail:
        tail = _ConvTail(node)
        bn_node = self._next(tail.last.output)
        if _is_layer(bn_node, BatchNorm2d):
            tail.bn = tail.last = bn_node
        add_node = self._next(tail.last.output)
        if add_node is not None and add_node.op == "add":
            a, b = add_node.inputs
            residual = b if a is tail.last.output else a
            if residual is not tail.last.output:  # not x + x
                tail.add, tail.residual, tail.last = add_node, residual, add_node
        relu_node = self._next(tail.last.output)
        if _is_layer(relu_node, ReLU):
            tail.relu = tail.last = relu_node
        return tail

    def _conv_step(self, node: Node) -> tuple[Step, Node]:
        conv: Conv2d = node.module  # type: ignore[assignment]
        tail = self._conv_tail(node)
        for n in tail.nodes():
            self._absorb(n)
        bn = cast(BatchNorm2d, tail.bn.module) if tail.bn else None
        execute = self._conv(node.name, [(conv, bn)], tail.relu is not None, node.inputs[0].shape)
        inputs = node.inputs + ([tail.residual] if tail.residual is not None else [])
        return Step(node.name, inputs, tail.last.output, execute, fused=tail.names()), tail.last

    def _conv(self, name: str, convs: Sequence[ConvBn], relu: bool, input_shape: tuple[int, ...]) -> Execute:
        """The backend's step for these convolutions (their outputs concatenated along channels), BatchNorm
        folded in."""
        conv = convs[0][0]
        weight_shape = (sum(c.out_channels for c, _ in convs), *conv.weight.shape[1:])
        spec = ConvSpec(convs_key(convs), weight_shape, conv.groups, conv.window, relu, lambda: fold_batch_norm(convs))
        execute, choice = self.backend.conv_step(spec, input_shape, self.packed)
        report_conv_choice(name, convs, input_shape, choice)
        return execute

    def _linear_step(self, node: Node) -> tuple[Step, Node]:
        linear: Linear = node.module  # type: ignore[assignment]
        last, fused, relu = node, [], False
        relu_node = self._next(node.output)
        if _is_layer(relu_node, ReLU):
            relu, last = True, relu_node
            fused.append(relu_node.name)
            self._absorb(relu_node)
        execute = self.backend.linear_step(id(linear), linear.weight, linear.bias, relu, self.packed)
        return Step(node.name, node.inputs, last.output, execute, fused=fused), last

    def _sibling_convs(self) -> dict[int, list[Node]]:
        """Convolutions to run as one, by their first node: those reading the same input through the same
        window, without groups or a residual, with the same activation — when each one's channels of the joint
        output can be a view."""
        groups: dict[tuple[Any, ...], list[Node]] = {}
        for node in self.nodes:
            if not _is_layer(node, Conv2d) or not _is_contiguous_slice(node.output.shape, 1):
                continue
            conv: Conv2d = node.module  # type: ignore[assignment]
            tail = self._conv_tail(node)
            if conv.groups == 1 and tail.add is None:
                key = (id(node.inputs[0]), conv.window, tail.relu is not None)
                groups.setdefault(key, []).append(node)
        return {id(g[0]): g for g in groups.values() if len(g) > 1}

    def _sibling_steps(self, group: list[Node]) -> list[tuple[Step, Node]]:
        """One convolution step into a joint output, then each convolution's output as a view of its channels."""
        tails = [self._conv_tail(node) for node in group]
        for node, tail in zip(group, tails, strict=True):
            for n in [node, *tail.nodes()]:
                self._absorb(n)
        x = group[0].inputs[0]
        convs = [(cast(Conv2d, n.module), cast(BatchNorm2d, t.bn.module) if t.bn else None)
                 for n, t in zip(group, tails, strict=True)]
        batch, _, *spatial = group[0].output.shape
        joint = Value((batch, sum(c.out_channels for c, _ in convs), *spatial))
        execute = self._conv(group[0].name, convs, tails[0].relu is not None, x.shape)
        fused = tails[0].names() + [name for n, t in zip(group[1:], tails[1:], strict=True)
                                    for name in [n.name, *t.names()]]
        first = min(tails, key=lambda t: self.position[id(t.last)]).last  # before every reader of any output
        steps = [(Step(group[0].name, [x], joint, execute, fused=fused), first)]
        offset, plane = 0, math.prod(spatial)
        for tail in tails:
            shape = tail.last.output.shape
            steps.append((Step(tail.last.name, [joint], tail.last.output, self._channels(shape, offset),
                               is_view=True), first))
            offset += shape[1] * plane
        return steps

    def _channels(self, shape: tuple[int, ...], offset: int) -> Callable[[Any], Any]:
        slot = self.backend.slot
        return lambda joint: slot(joint, shape, offset)

    def _cat_step(self, node: Node) -> Step:
        """Inputs that only the concatenation reads, and that a step writes, are written in place into its
        output when their part of it is contiguous; the step copies the others."""
        dim, out = node.attrs["dim"], node.output
        copy = self.backend.cat_step(dim)
        if not _is_contiguous_slice(out.shape, dim):
            return Step("cat", node.inputs, out, copy)
        unit = math.prod(out.shape[dim + 1:])
        offsets, start = [], 0
        for v in node.inputs:
            offsets.append(start * unit)
            start += v.shape[dim]
        copied: list[tuple[Value, int]] = []
        for v, offset in zip(node.inputs, offsets, strict=True):
            if self.consumers.sole(v) is node and id(v) in self.written:
                self.placements[id(v)] = (out, offset)
            else:
                copied.append((v, offset))
        slot = self.backend.slot

        def execute(*arrays: Any) -> None:
            for x, (_, offset) in zip(arrays[:-1], copied, strict=True):
                copy(x, slot(arrays[-1], x.shape, offset))

        return Step("cat", [v for v, _ in copied], out, execute)


def fold_batch_norm(convs: Sequence[ConvBn]) -> tuple[F32, F32 | None]:
    """The convolutions' weights and biases with the BatchNorm after each folded in (computed in float64),
    concatenated along output channels."""
    weights, biases = [], []
    for conv, bn in convs:
        w = conv.weight.astype(np.float64)
        b = np.zeros(conv.out_channels) if conv.bias is None else conv.bias.astype(np.float64)
        if bn is not None:
            scale, shift = bn.affine_terms()
            w, b = w * scale[:, None, None, None], b * scale + shift
        weights.append(w)
        biases.append(b)
    has_bias = any(conv.bias is not None or bn is not None for conv, bn in convs)
    return (np.concatenate(weights).astype(np.float32),
            np.concatenate(biases).astype(np.float32) if has_bias else None)


def convs_key(convs: Sequence[ConvBn]) -> tuple[int, ...]:
    """What tells the prepared weights of these convolutions apart within one model."""
    return tuple(id(m) for conv, bn in convs for m in (conv, bn))


def describe_conv(convs: Sequence[ConvBn], input_shape: tuple[int, ...]) -> str:
    conv, w = convs[0][0], convs[0][0].window
    outs = "+".join(str(c.out_channels) for c, _ in convs)
    return (f"conv {'x'.join(map(str, input_shape))} {conv.in_channels}->{outs} "
            f"{'x'.join(map(str, conv.kernel_size))} stride {'x'.join(map(str, w.stride))}"
            f"{f' groups {conv.groups}' if conv.groups > 1 else ''}")


def report_conv_choice(name: str, convs: Sequence[ConvBn], input_shape: tuple[int, ...], choice: str) -> None:
    """With PYCNN_VERBOSE=1, prints how a plan computes this convolution."""
    if os.environ.get("PYCNN_VERBOSE", "0") not in ("", "0"):
        print(f"pycnn: {name}: {describe_conv(convs, input_shape)} -> {choice}", file=sys.stderr)
