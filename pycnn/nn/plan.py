"""The inference plan: a container traced once per input shape and ISA, then run as a flat list of steps.

Each convolution gets the algorithm _core.conv_algorithm picks for its input shape (Winograd F(4×4, 3×3) or
im2col + GEMM); PYCNN_VERBOSE=1 prints the choice per layer when a plan is built.

Fusions: BatchNorm folded into the convolution before it; bias, ReLU and a residual addition applied in the
convolution's store; ReLU in the linear layer's store; Dropout and Flatten as views. Convolution and linear
weights are packed once for the micro-kernels. Activations live in buffers planned by liveness and reused
across calls; concurrent calls each take their own set. The plan is derived from the module tree and rebuilt
whenever any parameter, buffer or child changes — never a second source of truth.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeGuard, cast

import numpy as np

from .. import _core
from .._args import F32, as_float32, empty
from . import trace
from .layers import BatchNorm2d, Conv2d, Dropout, Flatten, Layer, Linear, ReLU
from .module import Module, weights_version
from .trace import Node, Value


@dataclass(eq=False)
class Step:
    """One kernel call: reads `inputs`, writes `output` (or, for a view, makes it from inputs[0])."""

    name: str
    inputs: list[Value]
    output: Value
    execute: Callable[..., np.ndarray | None]  # execute(*input_arrays, out); a view returns its array
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


class _Builder:
    """Turns traced nodes into fused steps."""

    def __init__(self, nodes: list[Node], output: Value, packed: dict[Any, Any]):
        self.nodes, self.consumers, self.packed = nodes, _Consumers(nodes, output), packed
        self.absorbed: set[int] = set()
        self.steps_at: dict[int, list[Step]] = {}  # node position → steps emitted there

    def build(self) -> list[Step]:
        position = {id(n): i for i, n in enumerate(self.nodes)}
        for node in self.nodes:
            if id(node) in self.absorbed:
                continue
            step, last = self._step(node)
            self.steps_at.setdefault(position[id(last)], []).append(step)
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
        if node.op == "layer" and isinstance(node.module, (Dropout, Flatten)):
            shape = node.output.shape
            return Step(node.name, node.inputs, node.output, lambda x: x.reshape(shape), is_view=True), node
        if node.op == "add":
            return Step("add", node.inputs, node.output, lambda a, b, out: np.add(a, b, out=out)), node
        if node.op == "cat":
            axis = node.attrs["dim"]
            return Step("cat", node.inputs, node.output,
                        lambda *xs: np.concatenate(xs[:-1], axis=axis, out=xs[-1])), node
        layer: Layer = node.module  # type: ignore[assignment]
        return Step(node.name, node.inputs, node.output, layer.run), node

    def _conv_step(self, node: Node) -> tuple[Step, Node]:
        conv: Conv2d = node.module  # type: ignore[assignment]
        last, fused = node, []
        bn_node = self._next(last.output)
        bn = None
        if _is_layer(bn_node, BatchNorm2d):
            bn, last = cast(BatchNorm2d, bn_node.module), bn_node
            fused.append(bn_node.name)
            self._absorb(bn_node)
        residual = None
        add_node = self._next(last.output)
        if add_node is not None and add_node.op == "add":
            a, b = add_node.inputs
            residual = b if a is last.output else a
            if residual is not last.output:
                last = add_node
                fused.append("add")
                self._absorb(add_node)
            else:
                residual = None
        relu = False
        relu_node = self._next(last.output)
        if _is_layer(relu_node, ReLU):
            relu, last = True, relu_node
            fused.append(relu_node.name)
            self._absorb(relu_node)
        window = conv.window
        algorithm = _core.conv_algorithm(node.inputs[0].shape, conv.weight.shape, window.stride, window.padding,
                                         window.dilation, conv.groups)
        weight, bias = self._packed_conv(conv, bn, algorithm)
        if os.environ.get("PYCNN_VERBOSE", "0") not in ("", "0"):
            print(f"pycnn: {node.name}: {_describe_conv(conv, node.inputs[0].shape)} -> {algorithm}", file=sys.stderr)

        def execute(x: F32, *rest: F32) -> None:
            res, out = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])
            _core.conv2d_packed(x, weight, bias, out, window.stride, window.padding, window.dilation, relu, res)

        inputs = node.inputs + ([residual] if residual is not None else [])
        return Step(node.name, inputs, last.output, execute, fused=fused), last

    def _packed_conv(self, conv: Conv2d, bn: BatchNorm2d | None, algorithm: str) -> tuple[Any, F32 | None]:
        key = ("conv", id(conv), id(bn), _core.isa(), algorithm)
        if key not in self.packed:
            w = conv.weight.astype(np.float64)
            b = np.zeros(conv.out_channels) if conv.bias is None else conv.bias.astype(np.float64)
            if bn is not None:
                scale, shift = bn.affine_terms()
                w, b = w * scale[:, None, None, None], b * scale + shift
            has_bias = conv.bias is not None or bn is not None
            self.packed[key] = (_core.PackedConv2d(w.astype(np.float32), conv.groups, algorithm),
                                b.astype(np.float32) if has_bias else None)
        packed: tuple[Any, F32 | None] = self.packed[key]
        return packed

    def _linear_step(self, node: Node) -> tuple[Step, Node]:
        linear: Linear = node.module  # type: ignore[assignment]
        last, fused, relu = node, [], False
        relu_node = self._next(node.output)
        if _is_layer(relu_node, ReLU):
            relu, last = True, relu_node
            fused.append(relu_node.name)
            self._absorb(relu_node)
        key = ("linear", id(linear), _core.isa())
        if key not in self.packed:
            self.packed[key] = _core.PackedLinear(linear.weight)
        weight, bias, n = self.packed[key], linear.bias, linear.in_features

        def execute(x: F32, out: F32) -> None:
            _core.linear_packed(x.reshape(-1, n), weight, bias, out.reshape(-1, out.shape[-1]), relu)

        return Step(node.name, node.inputs, last.output, execute, fused=fused), last


def _describe_conv(conv: Conv2d, input_shape: tuple[int, ...]) -> str:
    w = conv.window
    return (f"conv {'x'.join(map(str, input_shape))} {conv.in_channels}->{conv.out_channels} "
            f"{'x'.join(map(str, conv.kernel_size))} stride {'x'.join(map(str, w.stride))}"
            f"{f' groups {conv.groups}' if conv.groups > 1 else ''}")


class _Memory:
    """Which buffer slot each computed value lives in: a slot is reused once every reader of it has run."""

    def __init__(self, steps: list[Step], graph_input: Value, graph_output: Value):
        storage: dict[int, int] = {id(graph_input): -1}  # value → the value whose memory it uses
        last_read: dict[int, int] = {}
        for i, step in enumerate(steps):
            root = storage[id(step.inputs[0])] if step.is_view else id(step.output)
            storage[id(step.output)] = root
            for v in step.inputs:
                last_read[storage[id(v)]] = i
        self.storage = storage
        self.slot_of: dict[int, int] = {}
        self.slot_sizes: list[int] = []
        free: list[int] = []
        releases: dict[int, list[int]] = {}
        for root, i in last_read.items():
            releases.setdefault(i, []).append(root)
        out_root = storage[id(graph_output)]
        for i, step in enumerate(steps):
            if not step.is_view and id(step.output) != out_root:
                size = int(np.prod(step.output.shape))
                fits = [s for s in free if self.slot_sizes[s] >= size]
                slot = min(fits, key=lambda s: self.slot_sizes[s]) if fits else \
                    (max(free, key=lambda s: self.slot_sizes[s]) if free else None)
                if slot is None:
                    slot = len(self.slot_sizes)
                    self.slot_sizes.append(size)
                else:
                    free.remove(slot)
                    self.slot_sizes[slot] = max(self.slot_sizes[slot], size)
                self.slot_of[id(step.output)] = slot
            for root in releases.get(i, []):
                if root in self.slot_of:
                    free.append(self.slot_of[root])


class Plan:
    def __init__(self, module: Module, input_shape: tuple[int, ...], packed: dict[Any, Any]):
        self.input_shape = input_shape
        self.graph_input, self.graph_output, nodes = trace.trace(module, input_shape)
        self.steps = _Builder(nodes, self.graph_output, packed).build()
        self.memory = _Memory(self.steps, self.graph_input, self.graph_output)
        self._arenas: list[list[np.ndarray]] = []
        self._lock = threading.Lock()

    def _acquire(self) -> list[np.ndarray]:
        with self._lock:
            if self._arenas:
                return self._arenas.pop()
        return [empty((n,), "plan buffer") for n in self.memory.slot_sizes]

    def run(self, x: F32, step_seconds: list[float] | None = None) -> F32:
        """The plan's output for x; with `step_seconds`, also each step's wall time, in step order."""
        arena = self._acquire()
        try:
            arrays: dict[int, np.ndarray] = {id(self.graph_input): x}
            out_root = self.memory.storage[id(self.graph_output)]
            for step in self.steps:
                ins = [arrays[id(v)] for v in step.inputs]
                if step.is_view:
                    arrays[id(step.output)] = cast(np.ndarray, step.execute(*ins))
                    if step_seconds is not None:
                        step_seconds.append(0.0)
                    continue
                shape = step.output.shape
                if id(step.output) == out_root:
                    out = empty(shape, "model output")
                else:
                    out = arena[self.memory.slot_of[id(step.output)]][:int(np.prod(shape))].reshape(shape)
                start = time.perf_counter()
                step.execute(*ins, out)
                if step_seconds is not None:
                    step_seconds.append(time.perf_counter() - start)
                arrays[id(step.output)] = out
            result = arrays[id(self.graph_output)]
            return result if out_root == id(self.graph_output) else np.array(result, copy=True)
        finally:
            with self._lock:
                self._arenas.append(arena)

    def describe(self) -> str:
        """One line per step: what runs, and what was fused into it."""
        return "\n".join(f"{s.name}{' + ' + ' + '.join(s.fused) if s.fused else ''} -> {s.output.shape}"
                         for s in self.steps)


@dataclass
class StepProfile:
    name: str  # the layer, with what was fused into it after " + "
    output_shape: tuple[int, ...]
    seconds: float  # median over the runs


def profile(module: Module, x: Any, repeat: int = 10) -> list[StepProfile]:
    """Where a model's time goes: the median wall time of each step of its plan for input x, over `repeat` runs
    after one untimed run."""
    x = as_float32(x, f"{type(module).__name__}: input")
    plan = PlanCache(module).plan(x.shape)
    plan.run(x)
    runs: list[list[float]] = []
    for _ in range(repeat):
        runs.append([])
        plan.run(x, runs[-1])
    medians = np.median(np.array(runs), axis=0)
    return [StepProfile(" + ".join([s.name, *s.fused]), s.output.shape, float(t))
            for s, t in zip(plan.steps, medians, strict=True) if not s.is_view]


class PlanCache:
    """The plans of one container, by input shape and ISA, dropped whenever any weight changes."""

    def __init__(self, module: Module):
        self.module = module
        self.plans: dict[tuple[Any, ...], Plan] = {}
        self.packed: dict[Any, Any] = {}
        self.version = -1
        self.untraceable = False
        self._lock = threading.Lock()

    def plan(self, input_shape: tuple[int, ...]) -> Plan:
        with self._lock:
            if self.version != weights_version():
                self.plans.clear()
                self.packed.clear()
                self.version = weights_version()
            key = (input_shape, _core.isa())
            if key not in self.plans:
                self.plans[key] = Plan(self.module, input_shape, self.packed)
            return self.plans[key]

    def run(self, x: Any) -> Any:
        x = as_float32(x, f"{type(self.module).__name__}: input")
        if x.ndim != 4 or self.untraceable:
            with trace.eager():
                return self.module.forward(x)
        try:
            plan = self.plan(x.shape)
        except trace.Untraceable as e:
            warnings.warn(f"{type(self.module).__name__} runs layer by layer: its forward cannot be traced ({e})",
                          RuntimeWarning, stacklevel=3)
            self.untraceable = True
            with trace.eager():
                return self.module.forward(x)
        return plan.run(x)
