"""The inference plan: a container traced once per input shape and device, then run as a flat list of steps.

Fusions: BatchNorm folded into the convolution before it; bias, ReLU and a residual addition applied in the
convolution's store; ReLU in the linear layer's store; Dropout and Flatten as views. Convolutions that read the
same input through the same window (Inception's 1×1 branches) run as one, when each one's channels of the joint
output can be a view (batch 1 in NCHW); and the inputs of a concatenation that is contiguous along its
dimension are written in place into the output, leaving the concatenation nothing to copy. How each step runs,
and on what memory, is its backend's business (backend.py): _core's kernels on numpy arrays (host.py), or the
CUDA kernels on device arrays (pycnn.cuda.backend). Activations live in buffers planned by liveness and reused
across calls; concurrent calls each take their own set. The plan is derived from the module tree and rebuilt
whenever any parameter, buffer or child changes — never a second source of truth.
"""

from __future__ import annotations

import math
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


class _Builder:
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
        if node.op == "layer" and isinstance(node.module, (Dropout, Flatten)):
            shape = node.output.shape
            return Step(node.name, node.inputs, node.output, lambda x: x.reshape(shape), is_view=True), node
        if node.op == "add":
            return Step("add", node.inputs, node.output, self.backend.add()), node
        if node.op == "cat":
            return self._cat_step(node), node
        layer: Layer = node.module  # type: ignore[assignment]
        return Step(node.name, node.inputs, node.output,
                    self.backend.layer(layer, node.inputs[0].shape, self.packed)), node

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
        execute = self.backend.conv(node.name, [(conv, bn)], tail.relu is not None, node.inputs[0].shape,
                                    self.packed)
        inputs = node.inputs + ([tail.residual] if tail.residual is not None else [])
        return Step(node.name, inputs, tail.last.output, execute, fused=tail.names()), tail.last

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
        joint = Value((batch, sum(c.out_channels for c, _ in convs), *spatial), None)
        execute = self.backend.conv(group[0].name, convs, tails[0].relu is not None, x.shape, self.packed)
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
        copy = self.backend.cat(dim)
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


class _Memory:
    """Where each value lives: a value written in place into another's memory (a concatenation's output) or a
    view lies in its root's slot; a slot holds one root at a time, from the first step that writes into it to the
    last that reads from it, and is then reused. The graph's output is copied out of its slot at the end."""

    def __init__(self, steps: list[Step], graph_output: Value, placements: dict[int, tuple[Value, int]]):
        parent: dict[int, int] = {}  # value → the value whose memory it lies in
        placed_at: dict[int, int] = {}  # a placed value → its element offset in its container
        sizes: dict[int, int] = {}
        for step in steps:
            out = id(step.output)
            if step.is_view:
                parent[out] = id(step.inputs[0])
                continue
            sizes[out] = math.prod(step.output.shape)
            if out in placements:
                container, at = placements[out]
                parent[out], placed_at[out] = id(container), at

        def root(v: int) -> int:
            while v in parent:
                v = parent[v]
            return v

        def offset(v: int) -> int:
            return placed_at[v] + offset(parent[v]) if v in placed_at else 0

        self.root = {v: root(v) for v in [*parent, *sizes]}
        self.offset = {v: offset(v) for v in sizes}  # a written value → its element offset in its root's slot
        first_write: dict[int, int] = {}
        last_read = {self.root.get(id(graph_output), id(graph_output)): len(steps)}  # read when the run ends
        for i, step in enumerate(steps):
            if not step.is_view:
                first_write.setdefault(self.root[id(step.output)], i)
            for v in step.inputs:
                r = self.root.get(id(v), id(v))
                last_read[r] = max(last_read.get(r, i), i)
        releases: dict[int, list[int]] = {}
        for r, i in last_read.items():
            releases.setdefault(i, []).append(r)
        self.slot_of: dict[int, int] = {}
        self.slot_sizes: list[int] = []
        free: list[int] = []
        starts: dict[int, list[int]] = {}
        for r, i in first_write.items():
            starts.setdefault(i, []).append(r)
        for i in range(len(steps)):
            for r in starts.get(i, []):
                size = sizes[r]
                fits = [s for s in free if self.slot_sizes[s] >= size]
                slot = min(fits, key=lambda s: self.slot_sizes[s]) if fits else \
                    (max(free, key=lambda s: self.slot_sizes[s]) if free else None)
                if slot is None:
                    slot = len(self.slot_sizes)
                    self.slot_sizes.append(size)
                else:
                    free.remove(slot)
                    self.slot_sizes[slot] = max(self.slot_sizes[slot], size)
                self.slot_of[r] = slot
            for r in releases.get(i, []):
                if r in self.slot_of:
                    free.append(self.slot_of[r])

    def place(self, value: Value) -> tuple[int, int]:
        """The slot a written value lies in, and its element offset there."""
        v = id(value)
        return self.slot_of[self.root[v]], self.offset[v]


class Plan:
    def __init__(self, module: Module, input_shape: tuple[int, ...], packed: dict[Any, Any], backend: Backend):
        self.input_shape = input_shape
        self.backend = backend
        self.graph_input, self.graph_output, nodes = trace.trace(module, input_shape)
        builder = _Builder(nodes, self.graph_output, packed, backend)
        self.steps = builder.build()
        self.memory = _Memory(self.steps, self.graph_output, builder.placements)
        self._arenas: list[list[Any]] = []  # per concurrent call: each step's output array (None for views)
        self._lock = threading.Lock()

    def _acquire(self) -> list[Any]:
        with self._lock:
            if self._arenas:
                return self._arenas.pop()
        buffers = [self.backend.empty((n,), "plan buffer") for n in self.memory.slot_sizes]
        outs: list[Any] = []
        for step in self.steps:
            if step.is_view:
                outs.append(None)
            else:
                slot, offset = self.memory.place(step.output)
                outs.append(self.backend.slot(buffers[slot], step.output.shape, offset))
        return outs

    def run(self, x: Any, step_seconds: list[float] | None = None) -> Any:
        """The plan's output for x (an array of the backend's kind); with `step_seconds`, also each step's wall
        time, in step order."""
        backend = self.backend
        outs = self._acquire()
        try:
            arrays: dict[int, Any] = {id(self.graph_input): x}
            for step, out in zip(self.steps, outs, strict=True):
                ins = [arrays[id(v)] for v in step.inputs]
                if out is None:  # a view
                    arrays[id(step.output)] = step.execute(*ins)
                    if step_seconds is not None:
                        step_seconds.append(0.0)
                elif step_seconds is None:
                    step.execute(*ins, out)
                    arrays[id(step.output)] = out
                else:
                    backend.synchronize()
                    start = time.perf_counter()
                    step.execute(*ins, out)
                    backend.synchronize()
                    step_seconds.append(time.perf_counter() - start)
                    arrays[id(step.output)] = out
            return backend.copy(arrays[id(self.graph_output)])
        finally:
            with self._lock:
                self._arenas.append(outs)

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
        if isinstance(backend, HostBackend) and backend.uses_winograd and not backend.winograd_takes(x):
            plan = self.plan(x.shape, HostBackend(winograd=False))
        return plan.run(x)
