"""A PyTorch checkpoint's data.pkl, unpickled against an allow-list of stand-ins that only describe tensors,
then flattened into {name: tensor description or scalar}."""

from __future__ import annotations

import io
import math
import pickle
import pickletools
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .elements import ELEMENTS, Element, check_view_bounds, checked_dims, checked_index, checked_shape, refuse_setstate
from .errors import UnsafeCheckpointError, WeightsFileError, fail

_MAX_NESTING = 100


@dataclass(frozen=True, slots=True)
class _StorageType:
    """Stand-in for torch.FloatStorage & co.: the element type a storage record counts in."""

    element: Element
    __setstate__ = refuse_setstate


@dataclass(frozen=True, slots=True)
class _StorageRef:
    """A `('storage', type, key, location, numel)` record: `numel` elements in `<archive>/data/<key>`."""

    key: str
    element: Element
    numel: int
    __setstate__ = refuse_setstate

    @property
    def nbytes(self) -> int:
        return self.numel * self.element.stored.itemsize


@dataclass(frozen=True, slots=True)
class TensorRef:
    """A tensor described by the pickle, already bounds-checked against its storage; read later."""

    storage: _StorageRef
    element: Element
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]
    __setstate__ = refuse_setstate

    @property
    def numel(self) -> int:
        return math.prod(self.size)


def _storage_arg(storage: Any) -> _StorageRef:
    if not isinstance(storage, _StorageRef):
        raise ValueError(f"a tensor is rebuilt from {type(storage).__name__}, not from a storage record")
    return storage


def _tensor_ref(storage: _StorageRef, element: Element, offset: Any, size: Any, stride: Any) -> TensorRef:
    offset, size = checked_index(offset, "storage offset"), checked_shape(size, "size")
    stride = checked_dims(stride, "stride")
    if len(size) != len(stride):
        raise ValueError(f"tensor size {size} and stride {stride} differ in length")
    elements, rest = divmod(storage.nbytes, element.stored.itemsize)
    if rest:
        raise ValueError(f"a storage of {storage.nbytes} bytes cannot hold {element.name} elements")
    check_view_bounds(elements, offset, size, stride)
    return TensorRef(storage, element, offset, size, stride)


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any) -> TensorRef:
    storage = _storage_arg(storage)
    return _tensor_ref(storage, storage.element, storage_offset, size, stride)


def _rebuild_tensor_v2(
    storage: Any, storage_offset: Any, size: Any, stride: Any,
    requires_grad: Any = False, backward_hooks: Any = None, metadata: Any = None,
) -> TensorRef:
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v3(
    storage: Any, storage_offset: Any, size: Any, stride: Any,
    requires_grad: Any, backward_hooks: Any, dtype: Any, metadata: Any = None,
) -> TensorRef:
    if not isinstance(dtype, Element):
        raise ValueError(f"tensor dtype is {type(dtype).__name__}, not a torch dtype")
    return _tensor_ref(_storage_arg(storage), dtype, storage_offset, size, stride)


def _rebuild_parameter(data: Any, requires_grad: Any = False, backward_hooks: Any = None) -> TensorRef:
    if not isinstance(data, TensorRef):
        raise ValueError(f"a Parameter wraps {type(data).__name__}, not a tensor")
    return data


def _rebuild_parameter_with_state(data: Any, requires_grad: Any, backward_hooks: Any, state: Any) -> TensorRef:
    return _rebuild_parameter(data)


def _torch_size(dims: Any = ()) -> tuple[int, ...]:
    return checked_dims(dims, "torch.Size")


def _torch_device(kind: Any, index: Any = None) -> str:
    if not isinstance(kind, str) or not (index is None or isinstance(index, int)):
        raise ValueError(f"torch.device({kind!r:.40}, {index!r:.40}) is not a device")
    return kind


def _codecs_encode(text: Any, encoding: Any = None) -> bytes:
    """How protocol-2 pickles spell a bytes object: _codecs.encode(str, 'latin1')."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise ValueError("_codecs.encode is only accepted as the latin1 encoding of a string")
    return text.encode("latin1")


def _frozenset(items: Any = ()) -> frozenset[Any]:
    if not isinstance(items, (list, tuple)):
        raise ValueError(f"a set is built from {type(items).__name__}, not a list")
    return frozenset(items)


_TORCH_STORAGES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
    "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
}


_SAFE_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("torch", "Size"): _torch_size,
    ("torch", "device"): _torch_device,
    ("_codecs", "encode"): _codecs_encode,
    ("builtins", "set"): _frozenset,
    ("builtins", "frozenset"): _frozenset,
    ("torch", "UntypedStorage"): _StorageType(ELEMENTS["uint8"]),
    ("torch.storage", "UntypedStorage"): _StorageType(ELEMENTS["uint8"]),
    **{("torch", storage): _StorageType(ELEMENTS[e]) for storage, e in _TORCH_STORAGES.items()},
    **{("torch", name): element for name, element in ELEMENTS.items()},
}


# torch.save writes pickle protocol 2, which names builtins (a set's `set`) by their Python 2 module.
_PYTHON2_MODULES = {"__builtin__": "builtins"}

# Known torch globals that are harmless but describe tensors pycnn cannot represent.
_UNSUPPORTED_GLOBALS = {
    **{("torch._utils", f): "quantized, sparse, nested or subclassed tensors" for f in (
        "_rebuild_qtensor", "_rebuild_sparse_tensor", "_rebuild_nested_tensor", "_rebuild_wrapper_subclass",
        "_rebuild_meta_tensor_no_storage", "_rebuild_device_tensor_from_numpy")},
    ("torch._tensor", "_rebuild_from_type_v2"): "tensor subclasses or tensors with Python attributes",
    **{("torch", n): "complex tensors" for n in (
        "ComplexFloatStorage", "ComplexDoubleStorage", "complex32", "complex64", "complex128")},
    **{("torch", n): "quantized tensors" for n in (
        "QInt8Storage", "QUInt8Storage", "QInt32Storage", "QUInt4x2Storage", "QUInt2x4Storage",
        "qint8", "quint8", "qint32", "quint4x2", "quint2x4")},
    **{("torch", n): "float8 tensors" for n in (
        "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu")},
}


class _CheckpointUnpickler(pickle.Unpickler):
    """Unpickles data.pkl with an allow-list: every global it can reach is a stand-in from this module.

    REDUCE, NEWOBJ and OBJ can only call what `find_class` returned, since no pickle opcode makes any
    other callable. BUILD on a stand-in is refused (see `refuse_setstate`); on an OrderedDict, as torch writes for
    a state dict's `_metadata`, it only sets instance attributes, which flattening never reads.
    """

    def __init__(self, path: str, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self._path = path
        self._storages: dict[str, _StorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        key = (_PYTHON2_MODULES.get(module, module), name)
        found = _SAFE_GLOBALS.get(key)
        if found is not None:
            return found
        if key in _UNSUPPORTED_GLOBALS:
            what = _UNSUPPORTED_GLOBALS[key]
            raise fail(self._path, f"holds {what} ({module}.{name}), which pycnn cannot load")
        raise UnsafeCheckpointError(self._path, f"{module}.{name}")

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise ValueError(f"unexpected persistent id {pid!r:.120}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise ValueError(f"storage record {key!r:.40} has type {storage_type!r:.40}, not a torch storage type")
        if not isinstance(key, str) or not key or "/" in key:
            raise ValueError(f"storage key {key!r:.40} is not a record name")
        storage = _StorageRef(key, storage_type.element, checked_index(numel, f"numel of storage {key}"))
        known = self._storages.setdefault(key, storage)
        if known != storage:
            raise ValueError(f"storage {key} is described twice, differently: {known} and {storage}")
        return known


def _check_pickle_opcodes(data: bytes) -> None:
    """Parse without executing: rejects truncation, unknown opcodes and memo indices that would make the
    C unpickler allocate a memo table of up to 2**33 entries."""
    for count, (opcode, arg, _pos) in enumerate(pickletools.genops(data), start=1):
        if opcode.name in ("PUT", "BINPUT", "LONG_BINPUT") and isinstance(arg, int) and arg > count:
            raise ValueError(f"memo index {arg} at opcode {count} is implausible")


def unpickle(path: str, data: bytes) -> Any:
    try:
        _check_pickle_opcodes(data)
        return _CheckpointUnpickler(path, data).load()
    except (WeightsFileError, MemoryError):
        raise
    except Exception as e:  # stand-ins and the unpickler report a malformed pickle in many types
        raise fail(path, f"data.pkl is not a valid checkpoint pickle: {type(e).__name__}: {e}") from None


def _scalar_array(value: Any) -> np.ndarray | None:
    """A 0-d array for a bool, int64-range int or float; None for anything else."""
    if isinstance(value, bool):
        return np.array(value)
    if isinstance(value, int):
        return np.array(value, dtype=np.int64) if -(2**63) <= value < 2**63 else None
    if isinstance(value, float):
        return np.array(value, dtype=np.float64)
    return None


def _children(node: Any) -> Iterable[tuple[str, Any]] | None:
    """(key, value) pairs of a mapping (str and int keys) or sequence; None for a leaf."""
    if isinstance(node, dict):  # dict.items, not node.items: BUILD can shadow methods on an OrderedDict
        return ((str(k), v) for k, v in dict.items(node) if isinstance(k, (str, int)))
    if isinstance(node, (list, tuple)):
        return ((str(i), v) for i, v in enumerate(node))
    return None


def _flatten_into(out: dict[str, Any], name: str, node: Any, seen: set[int], depth: int) -> None:
    children = _children(node)
    if children is None:
        leaf = node if isinstance(node, TensorRef) else _scalar_array(node)
        if leaf is not None:
            if name in out:
                raise ValueError(f"two entries flatten to the same name {name!r}")
            out[name] = leaf
        return
    if len(node) == 0:  # nothing to name; and () is one shared object, so `seen` must not count it
        return
    if depth > _MAX_NESTING:
        raise ValueError(f"containers nested deeper than {_MAX_NESTING} levels at {name!r:.200}")
    if id(node) in seen:
        raise ValueError(f"container at {name!r:.200} appears twice (a cycle or a shared reference)")
    seen.add(id(node))
    for key, child in children:
        _flatten_into(out, f"{name}.{key}" if name else key, child, seen, depth + 1)


def flatten(path: str, root: Any) -> dict[str, Any]:
    """Name → TensorRef or 0-d array: nested containers joined with '.', strings/None/others skipped."""
    if not isinstance(root, dict):
        raise fail(path, f"holds a {type(root).__name__}, not a mapping of names to tensors")
    out: dict[str, Any] = {}
    try:
        _flatten_into(out, "", root, set(), 0)
    except ValueError as e:
        raise fail(path, str(e)) from None
    return out
