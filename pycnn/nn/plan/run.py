"""The inference plan: a container traced once per input shape and backend, then run as a flat list of steps.

How each step runs, and on what memory, is its backend's business (pycnn.backends); the plan never names a
device. Activations live in buffers planned by liveness and reused across calls; concurrent calls each take
their own set. The plan is derived from the module tree and rebuilt whenever any parameter, buffer or child
changes — never a second source of truth.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import backends
from ..._fork import ForkSafeLock
from ...backends import Backend
from .. import trace
from ..layers import Conv2d
from ..module import Module, weights_version
from .fuse import Builder
from .memory import Memory


class Plan:
    def __init__(self, module: Module, input_shape: tuple[int, ...], packed: dict[Any, Any], backend: Backend):
        self.input_shape = input_shape
        self.backend = backend
        self.graph_input, self.graph_output, nodes = trace.trace(module, input_shape)
        builder = Builder(nodes, self.graph_output, packed, backend)
        self.steps = builder.build()
        self.warnings = [f"{layer} has no {backend.label} kernel: it runs on the CPU, its input and output copied "
                         "between host and device at every call" for layer in dict.fromkeys(builder.host_layers)]
        self.memory = Memory(self.steps, self.graph_output, builder.placements)
        self._arenas: list[list[Any]] = []  # per concurrent call: each step's output array (None for views)
        self._lock = ForkSafeLock()

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
    backend = backends.get(module._device, module._precision)
    x = backend.model_input(x, type(module).__name__)
    if module.takes_images:
        check_image_shape(type(module).__name__, x.shape, image_channels(module))
        x = x.reshape((1, *x.shape)) if x.ndim == 3 else x
    if x.ndim != 4:
        raise ValueError(f"profile: {type(module).__name__}'s plan takes (N, C, H, W) input, got shape {x.shape}")
    plan = PlanCache(module).plan(x.shape, backend)
    plan.run(x)
    runs: list[list[float]] = []
    for _ in range(repeat):
        runs.append([])
        plan.run(x, runs[-1])
    medians = np.median(np.array(runs), axis=0)
    return [StepProfile(" + ".join([s.name, *s.fused]), s.output.shape, float(t))
            for s, t in zip(plan.steps, medians, strict=True) if not s.is_view]


def image_channels(module: Module) -> int | None:
    """The input channels of the module's first convolution, if it has one."""
    conv = next((m for m in module.modules() if isinstance(m, Conv2d)), None)
    return None if conv is None else conv.in_channels


def check_image_shape(name: str, shape: tuple[int, ...], channels: int | None) -> None:
    """Raises ValueError, saying what to pass, unless `shape` is (N, C, H, W) or (C, H, W) with `channels`
    channels (any, for None)."""
    expected = f"(N, {channels or 'C'}, H, W) images, or one ({channels or 'C'}, H, W) image"
    if len(shape) not in (3, 4):
        raise ValueError(f"{name} takes {expected}; got an input of shape {shape}")
    if channels is not None and shape[-3] != channels:
        hint = ""
        if shape[-1] == channels:
            order = "(2, 0, 1)" if len(shape) == 3 else "(0, 3, 1, 2)"
            hint = (f": this looks like a channels-last (H, W, C) image — pass x.transpose{order} "
                    "(numpy; torch: x.permute" + order + ")")
        raise ValueError(f"{name} takes {expected}; got an input of shape {shape}, with {shape[-3]} channels "
                         f"where {channels} are expected{hint}")


class PlanCache:
    """The plans of one module, by input shape and backend, dropped whenever any weight changes."""

    def __init__(self, module: Module):
        self.module = module
        self.plans: dict[tuple[Any, ...], Plan] = {}
        self.packed: dict[Any, Any] = {}
        self.version = -1
        self.untraceable = False
        self._lock = ForkSafeLock()
        self._channels: int | None = None
        self._channels_version = -1

    def plan(self, input_shape: tuple[int, ...], backend: Backend | None = None) -> Plan:
        """The plan for inputs of `input_shape` on `backend` (default: a new one for the module's device)."""
        backend = backends.get(self.module._device, self.module._precision) if backend is None else backend
        with self._lock:
            if self.version != weights_version():
                self.plans.clear()
                self.packed.clear()
                self.version = weights_version()
            key = (input_shape, *backend.key())
            if key not in self.plans:
                self.plans[key] = Plan(self.module, input_shape, self.packed, backend)
            return self.plans[key]

    def _image_channels(self) -> int | None:
        """image_channels of the module, found again only when a weight or child changes."""
        if self._channels_version != weights_version():
            self._channels, self._channels_version = image_channels(self.module), weights_version()
        return self._channels

    def run(self, value: Any) -> Any:
        """module(value) through its plan on the module's device: the output as the kind of array value is."""
        name = type(self.module).__name__
        backend = backends.get(self.module._device, self.module._precision)
        x = backend.model_input(value, name)
        if self.module.takes_images:
            check_image_shape(name, x.shape, self._image_channels())
            if x.ndim == 3:  # one image: a batch of one, and the batch axis dropped from the result
                out = self.run(x.reshape((1, *x.shape)))
                return backend.model_output(out.reshape(tuple(out.shape[1:])), value)
        if self.untraceable:
            return backend.model_output(self._eager(backend, x, "its forward cannot be traced"), value)
        if x.ndim != 4 and backend.is_host:  # the host plans images; other inputs run layer by layer there
            return backend.model_output(self._eager(backend, x, f"its input has shape {x.shape}"), value)
        try:
            plan = self.plan(x.shape, backend)
        except trace.Untraceable as e:
            why = f"its forward cannot be traced ({e})"
            if backend.is_host:
                warnings.warn(f"{name} runs layer by layer: {why}", RuntimeWarning, stacklevel=3)
                self.untraceable = True
            return backend.model_output(self._eager(backend, x, why), value)
        safer = plan.backend.for_input(x)
        if safer is not plan.backend:
            plan = self.plan(x.shape, safer)
        messages, plan.warnings = plan.warnings, []  # given once per plan, pointing at the caller
        for message in messages:
            warnings.warn(message, RuntimeWarning, stacklevel=3)
        return backend.model_output(plan.run(x), value)

    def _eager(self, backend: Backend, x: Any, why: str) -> Any:
        """module.forward layer by layer, where a plan cannot run; only on the host."""
        name = type(self.module).__name__
        if not backend.is_host:
            raise RuntimeError(f"{name} cannot run on {backend.label}: {why}; it runs through a plan there")
        with trace.eager():
            return self.module.forward(x)
