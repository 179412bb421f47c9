"""The inference plan: a container traced once per input shape and device, then run as a flat list of steps.

Fusions: BatchNorm folded into the convolution before it; bias, ReLU and a residual addition applied in the
convolution's store; ReLU in the linear layer's store; Dropout and Flatten as views. How each step runs, and
on what memory, is its backend's business (backend.py): _core's kernels on numpy arrays (host.py), or the CUDA
kernels on device arrays (pycnn.cuda.backend). Activations live in buffers planned by liveness and reused
across calls; concurrent calls each take their own set. The plan is derived from the module tree and rebuilt
whenever any parameter, buffer or child changes — never a second source of truth.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeGuard, cast

import numpy as np

from .._args import as_float32
from .._device import is_device_array
from . import trace
from .backend import Backend
from .host import HostBackend
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

    def __init__(self, nodes: list[Node], output: Value, packed: dict[Any, Any], backend: Backend):
        self.nodes, self.consumers, self.packed, self.backend = nodes, _Consumers(nodes, output), packed, backend
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
            return Step("add", node.inputs, node.output, self.backend.add()), node
        if node.op == "cat":
            return Step("cat", node.inputs, node.output, self.backend.cat(node.attrs["dim"])), node
        layer: Layer = node.module  # type: ignore[assignment]
        return Step(node.name, node.inputs, node.output,
                    self.backend.layer(layer, node.inputs[0].shape, self.packed)), node

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
        execute = self.backend.conv(node.name, conv, bn, relu, node.inputs[0].shape, self.packed)
        inputs = node.inputs + ([residual] if residual is not None else [])
        return Step(node.name, inputs, last.output, execute, fused=fused), last

    def _linear_step(self, node: Node) -> tuple[Step, Node]:
        linear: Linear = node.module  # type: ignore[assignment]
        last, fused, relu = node, [], False
        relu_node = self._next(node.output)
        if _is_layer(relu_node, ReLU):
            relu, last = True, relu_node
            fused.append(relu_node.name)
            self._absorb(relu_node)
        execute = self.backend.linear(linear, relu, self.packed)
        return Step(node.name, node.inputs, last.output, execute, fused=fused), last


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
    def __init__(self, module: Module, input_shape: tuple[int, ...], packed: dict[Any, Any], backend: Backend):
        self.input_shape = input_shape
        self.backend = backend
        self.graph_input, self.graph_output, nodes = trace.trace(module, input_shape)
        self.steps = _Builder(nodes, self.graph_output, packed, backend).build()
        self.memory = _Memory(self.steps, self.graph_input, self.graph_output)
        self._arenas: list[list[Any]] = []
        self._lock = threading.Lock()

    def _acquire(self) -> list[Any]:
        with self._lock:
            if self._arenas:
                return self._arenas.pop()
        return [self.backend.empty((n,), "plan buffer") for n in self.memory.slot_sizes]

    def run(self, x: Any, step_seconds: list[float] | None = None) -> Any:
        """The plan's output for x (an array of the backend's kind); with `step_seconds`, also each step's wall
        time, in step order."""
        backend = self.backend
        arena = self._acquire()
        try:
            arrays: dict[int, Any] = {id(self.graph_input): x}
            out_root = self.memory.storage[id(self.graph_output)]
            for step in self.steps:
                ins = [arrays[id(v)] for v in step.inputs]
                if step.is_view:
                    arrays[id(step.output)] = step.execute(*ins)
                    if step_seconds is not None:
                        step_seconds.append(0.0)
                    continue
                shape = step.output.shape
                if id(step.output) == out_root:
                    out = backend.empty(shape, "model output")
                else:
                    out = backend.slot(arena[self.memory.slot_of[id(step.output)]], shape)
                if step_seconds is not None:
                    backend.synchronize()
                start = time.perf_counter()
                step.execute(*ins, out)
                if step_seconds is not None:
                    backend.synchronize()
                    step_seconds.append(time.perf_counter() - start)
                arrays[id(step.output)] = out
            result = arrays[id(self.graph_output)]
            return result if out_root == id(self.graph_output) else backend.copy(result)
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
    after one untimed run (on the device the module was moved to)."""
    cache = PlanCache(module)
    if module._device == "cuda":
        from ..cuda.backend import device_plan

        plan, x = device_plan(cache, x)
    else:
        x = as_float32(x, f"{type(module).__name__}: input")
        plan = cache.plan(x.shape)
    plan.run(x)
    runs: list[list[float]] = []
    for _ in range(repeat):
        runs.append([])
        plan.run(x, runs[-1])
    medians = np.median(np.array(runs), axis=0)
    return [StepProfile(" + ".join([s.name, *s.fused]), s.output.shape, float(t))
            for s, t in zip(plan.steps, medians, strict=True) if not s.is_view]


class PlanCache:
    """The plans of one module, by input shape and backend, dropped whenever any weight changes."""

    def __init__(self, module: Module):
        self.module = module
        self.plans: dict[tuple[Any, ...], Plan] = {}
        self.packed: dict[Any, Any] = {}
        self.version = -1
        self.untraceable = False
        self._lock = threading.Lock()

    def plan(self, input_shape: tuple[int, ...], backend: Backend | None = None) -> Plan:
        backend = HostBackend() if backend is None else backend
        with self._lock:
            if self.version != weights_version():
                self.plans.clear()
                self.packed.clear()
                self.version = weights_version()
            key = (input_shape, *backend.key())
            if key not in self.plans:
                self.plans[key] = Plan(self.module, input_shape, self.packed, backend)
            return self.plans[key]

    def run(self, x: Any) -> Any:
        if self.module._device == "cuda":
            from ..cuda.backend import run_plan

            return run_plan(self, x)
        if is_device_array(x):
            raise TypeError(f"{type(self.module).__name__} is on the CPU, but its input is a CUDA array: move the "
                            "model with .to('cuda'), or the input with .numpy() / .cpu()")
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
        backend = plan.backend
        if isinstance(backend, HostBackend) and backend.uses_winograd and not np.isfinite(x.sum()):
            plan = self.plan(x.shape, HostBackend(winograd=False))  # x holds NaN or Inf (or sums past float32)
        return plan.run(x)
