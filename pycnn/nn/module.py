"""Module: the PyTorch-style tree of layers that holds parameters and buffers as numpy arrays.

Parameters and buffers are stored read-only, so they can only change through assignment or
``load_state_dict`` — which is what lets a compiled inference plan (plan.py) know when to rebuild.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .. import backends
from .._precision import checked as checked_precision
from .._precision import get_precision
from . import trace
from .state_hints import state_dict_hint

_weights_version = 0  # bumped by every change of any parameter, buffer or child anywhere


def weights_version() -> int:
    return _weights_version


def _changed() -> None:
    global _weights_version
    _weights_version += 1


def to_numpy(value: Any, name: str) -> np.ndarray:
    """An array from anything array-like: numpy, lists, torch tensors (bfloat16 included)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, read without importing torch
        value = value.detach().cpu()
        try:
            return np.asarray(value.numpy())
        except TypeError:
            return np.asarray(value.float().numpy())
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{name} cannot be converted to an array: {e}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True, order="C")
    array.flags.writeable = False
    return array


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class StateDictError(ValueError):
    """load_state_dict found missing, unexpected or mis-shaped entries."""


class Module:
    """Base class of layers and models, with torch.nn.Module's names.

    pycnn runs inference only: modules are always in eval mode.
    """

    training = False
    # Whether the module takes images, (N, C, H, W) or one (C, H, W), as the classic networks do: its calls then
    # check that shape up front (with a hint for channels-last images) and run one image as a batch of one.
    takes_images = False
    # Containers compile into an inference plan when called; layers (layers.py) run directly on the CPU.
    compiles_on_call = True
    _device = backends.HOST  # the backend calls run on (pycnn.backends); off the host, every module runs through a plan
    _precision: str | None = None  # what its plans multiply in; None: the process's setting (pycnn.set_precision)

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_plans", None)  # a plan.PlanCache, made on the first call

    # -- pickling: the modules, their parameters and buffers, and the device's name — never the compiled plans,
    # which the receiving process builds on its first call -------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_plans": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for tensors in (state["_parameters"], state["_buffers"]):
            for name, value in tensors.items():
                tensors[name] = None if value is None else _frozen(value)  # unpickled arrays come writeable
        self.__dict__.update(state)

    # -- registration -------------------------------------------------------------------------------------------
    def register_parameter(self, name: str, value: Any | None) -> None:
        self._parameters[name] = None if value is None else _frozen(to_numpy(value, name).astype(np.float32))
        _changed()

    def register_buffer(self, name: str, value: Any | None) -> None:
        self._buffers[name] = None if value is None else _frozen(to_numpy(value, name))
        _changed()

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{name} must be a pycnn.nn.Module, got {type(module).__name__}")
        self._modules[name] = module
        _changed()

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Module):
            self._parameters.pop(name, None)
            self._buffers.pop(name, None)
            self.add_module(name, value)
        elif name in self._parameters:
            self.register_parameter(name, value)
        elif name in self._buffers:
            old = self._buffers[name]
            array = to_numpy(value, name) if value is not None else None
            self.register_buffer(name, array if old is None or array is None else array.astype(old.dtype))
        elif name in self._modules and value is None:
            self.add_module(name, None)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    # -- traversal ----------------------------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct children by name; one held under several names once, under its first (as PyTorch's)."""
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        return (m for _, m in self.named_children())

    def named_modules(self, prefix: str = "", remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """Every module of the tree by dotted name, this one first; a module held in several places once, under its
        first name, unless remove_duplicate is False (as state dicts list them, like PyTorch's)."""
        seen: set[int] = set()

        def walk(module: Module, path: str) -> Iterator[tuple[str, Module]]:
            if remove_duplicate and id(module) in seen:
                return
            seen.add(id(module))
            yield path, module
            for name, child in module._modules.items():
                if child is not None:
                    yield from walk(child, f"{path}.{name}" if path else name)

        return walk(self, prefix)

    def modules(self) -> Iterator[Module]:
        return (m for _, m in self.named_modules())

    def _named_tensors(self, table: str) -> Iterator[tuple[str, np.ndarray]]:
        for path, module in self.named_modules():
            for name, value in getattr(module, table).items():
                if value is not None:
                    yield (f"{path}.{name}" if path else name), value

    def named_parameters(self) -> Iterator[tuple[str, np.ndarray]]:
        return self._named_tensors("_parameters")

    def parameters(self) -> Iterator[np.ndarray]:
        return (p for _, p in self.named_parameters())

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        return self._named_tensors("_buffers")

    def buffers(self) -> Iterator[np.ndarray]:
        return (b for _, b in self.named_buffers())

    # -- state --------------------------------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Parameters and buffers by dotted name, in PyTorch's order (read-only arrays)."""
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for path, module in self.named_modules(remove_duplicate=False):
            for table in (module._parameters, module._buffers):
                for name, value in table.items():
                    if value is not None:
                        state[f"{path}.{name}" if path else name] = value
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copies values (numpy arrays, torch tensors, anything array-like) into parameters and buffers.

        Raises StateDictError listing every missing, unexpected (when strict) and mis-shaped key;
        nothing is changed unless everything fits.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a mapping of name to array, got {type(state_dict).__name__}")
        owners = {}
        for path, module in self.named_modules(remove_duplicate=False):
            for table in ("_parameters", "_buffers"):
                for name, value in getattr(module, table).items():
                    if value is not None:
                        owners[f"{path}.{name}" if path else name] = (module, name, value)
        missing = [k for k in owners if k not in state_dict]
        unexpected = [k for k in state_dict if k not in owners]
        if strict and missing:  # a wrapped or nested checkpoint: one line saying how to unwrap it
            hint = state_dict_hint(list(owners), state_dict, "state_dict")
            if hint is not None:
                raise StateDictError(f"Error(s) in loading state_dict for {type(self).__name__}: {hint}")
        arrays, mismatched = {}, []
        for key, (_, _, current) in owners.items():
            if key in state_dict:
                array = to_numpy(state_dict[key], key)
                if array.shape != current.shape:
                    mismatched.append(f"size mismatch for {key}: checkpoint shape {array.shape}, "
                                      f"model shape {current.shape}")
                arrays[key] = array
        problems = mismatched + ([f"Missing key(s): {', '.join(missing)}"] if strict and missing else []) + \
            ([f"Unexpected key(s): {', '.join(unexpected)}"] if strict and unexpected else [])
        if problems:
            raise StateDictError(f"Error(s) in loading state_dict for {type(self).__name__}:\n  " +
                                 "\n  ".join(problems))
        for key, array in arrays.items():
            module, name, current = owners[key]
            table = module._parameters if name in module._parameters else module._buffers
            table[name] = _frozen(array.astype(current.dtype))
        _changed()
        return IncompatibleKeys(missing, unexpected)

    # -- mode ---------------------------------------------------------------------------------------------------
    def eval(self) -> Module:
        return self

    def train(self, mode: bool = True) -> Module:
        if mode:
            raise NotImplementedError("pycnn runs inference only: modules cannot be put in training mode")
        return self

    # -- device -------------------------------------------------------------------------------------------------
    def to(self, device: Any) -> Module:
        """Runs this module and its children on `device`: "cpu", or "cuda" (also "cuda:0", torch.device("cuda")).

        Parameters stay numpy arrays on the host, the source of truth. On CUDA, the first call with an input
        shape builds the plan (BatchNorm folded, as on the CPU) and uploads its weights, once for every later call
        until a weight changes; numpy input gives numpy output, device input (pycnn.cuda.DeviceArray, torch CUDA
        tensors, CuPy) device output. Raises pycnn.cuda.CudaUnavailableError where CUDA cannot run.
        """
        name = backends.parse_device(device)
        backends.backend_class(name).require(f"{type(self).__name__}.to({str(device)!r})")
        for module in self.modules():
            object.__setattr__(module, "_device", name)
            object.__setattr__(module, "_plans", None)  # device memory goes with the plans
        return self

    def set_precision(self, precision: str | None) -> Module:
        """Runs this module and its children in `precision` — 'fp32', 'tf32' or 'bf16' (see pycnn.set_precision) —
        whatever the process's setting; None follows the process's setting again. Returns the module.

        Only what the plans multiply changes (convolutions and linear layers; sums stay float32): a bf16 model
        keeps float32 parameters and takes and returns float32 arrays."""
        if precision is not None:
            precision = checked_precision(precision)
        for module in self.modules():
            object.__setattr__(module, "_precision", precision)
        return self

    @property
    def precision(self) -> str:
        """What this module's plans multiply in now: its own precision, else the process's setting."""
        return self._precision if self._precision is not None else get_precision()

    def cuda(self) -> Module:
        return self.to("cuda")

    def cpu(self) -> Module:
        return self.to("cpu")

    # -- calling ------------------------------------------------------------------------------------------------
    def forward(self, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any) -> Any:
        tracer = trace.active()
        if tracer is not None:
            return tracer.call(self, args)
        on_host = backends.backend_class(self._device).is_host
        if not on_host and (len(args) != 1 or trace.eager_mode()):
            label = backends.backend_class(self._device).label
            raise RuntimeError(f"{type(self).__name__} is on {label}, where it runs one input through its plan; "
                               f"pycnn.nn.eager() and several inputs need .to({backends.HOST!r})")
        if not on_host or (self.compiles_on_call and len(args) == 1 and not trace.eager_mode()):
            if self._plans is None:
                from .plan import PlanCache  # late: the plan is built from layers, which are modules

                object.__setattr__(self, "_plans", PlanCache(self))
            return self._plans.run(args[0])
        return self.forward(*args)

    # -- printing -----------------------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [self.extra_repr()] if self.extra_repr() else []
        for name, child in self._modules.items():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
