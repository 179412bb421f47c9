"""Read and write weight files: PyTorch checkpoints (.pth/.pt), .safetensors and .npz.

Threat model: a weights file is untrusted input. `torch.load` would run any code its pickle names, and a
lying zip directory, header or tensor record could ask for terabytes or point outside the data; so this
module never imports torch, lets a pickle reach only a few stand-ins that describe tensors, and checks
every size, offset and stride against the bytes actually present before it allocates or copies anything.

    state = pycnn.io.load("resnet18.pth")          # {name: np.ndarray}
    pycnn.io.save(state, "resnet18.safetensors")

Every malformed or unsupported file raises `WeightsFileError` (a `ValueError`) naming the file and the
problem; a pickle that names anything outside the allow-list raises its subclass `UnsafeCheckpointError`
(also a `pickle.UnpicklingError`). A missing or unreadable file raises the usual `OSError`.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import pickletools
import struct
import zipfile
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["load", "save", "WeightsFileError", "UnsafeCheckpointError"]

_SUPPORTED_FORMATS = (
    "PyTorch zip checkpoints (.pth, .pt, .bin, .ckpt as written by torch.save)",
    ".safetensors",
    ".npz",
)

_MAX_PICKLE_BYTES = 32 << 20  # a state dict's data.pkl is ~100 bytes per tensor
_MAX_SAFETENSORS_HEADER = 100 << 20
_MAX_COMPRESSION_RATIO = 1000  # deflate tops out near 1030:1; torch never compresses at all
_MAX_NESTING = 100
_MAX_NDIM = 64  # numpy's limit
_MAX_ELEMENTS = 1 << 60  # times an element of up to 8 bytes stays below numpy's 2^63-byte limit, even when empty
# Stride-0 views let a tiny storage describe a huge tensor; copies may exceed the file's tensor data by this much.
_MAX_EXPANSION = 8
_EXPANSION_SLACK_BYTES = 1 << 30
_SNIFF_BYTES = 16
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_ZIP_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".npz", ".zip")


class WeightsFileError(ValueError):
    """A weights file is malformed, truncated, inconsistent or in an unsupported format."""


class UnsafeCheckpointError(WeightsFileError, pickle.UnpicklingError):
    """A checkpoint's pickle names a global outside the allow-list; `global_name` is 'module.name'."""

    def __init__(self, path: str, global_name: str) -> None:
        hint = (
            " (a TorchScript archive: load it with torch.jit.load and save its state_dict())"
            if global_name.startswith("__torch__")
            else ""
        )
        super().__init__(
            f"{path}: refused to unpickle global '{global_name}'{hint}. pycnn only rebuilds tensors and plain "
            "containers and never calls code a checkpoint names; if you trust the file, re-save just its "
            "tensors with torch: torch.save(model.state_dict(), path)"
        )
        self.global_name = global_name


def _fail(path: str, problem: str) -> WeightsFileError:
    return WeightsFileError(f"{path}: {problem}")


# ----------------------------------------------------------------------------------------------- elements


def _refuse_setstate(self: Any, state: Any) -> None:
    raise ValueError(f"the pickle tries to modify a {type(self).__name__} (BUILD), which torch never does")


def _sealed(cls: type) -> type:
    """Stand-ins reach the pickle's BUILD opcode; dataclass(frozen=True, slots=True) gives them a __setstate__
    that writes fields past `frozen`, so replace it with one that refuses."""
    cls.__setstate__ = _refuse_setstate  # type: ignore[attr-defined]
    return cls


@_sealed
@dataclass(frozen=True, slots=True)
class _Element:
    """One tensor element type: the little-endian dtype of its stored bytes and the dtype pycnn returns."""

    name: str
    stored: np.dtype
    returned: np.dtype


def _element(name: str, stored: str, returned: str | None = None) -> _Element:
    return _Element(name, np.dtype(stored), np.dtype(returned or stored).newbyteorder("="))


_ELEMENTS = {
    e.name: e
    for e in (
        _element("float64", "<f8"),
        _element("float32", "<f4"),
        _element("float16", "<f2"),
        _element("bfloat16", "<u2", "f4"),  # numpy has no bfloat16; widening to float32 is exact
        _element("int64", "<i8"),
        _element("int32", "<i4"),
        _element("int16", "<i2"),
        _element("int8", "i1"),
        _element("uint64", "<u8"),
        _element("uint32", "<u4"),
        _element("uint16", "<u2"),
        _element("uint8", "u1"),
        _element("bool", "u1", "?"),
    )
}


def _decode(stored: np.ndarray, element: _Element) -> np.ndarray:
    """A new C-contiguous, writeable, native-endian array of `element.returned` from raw stored values."""
    if element.name == "bfloat16":
        return (stored.astype(np.uint32, order="C") << 16).view(np.float32)
    return stored.astype(element.returned, order="C")


# -------------------------------------------------------------------------------------- pickle stand-ins


@_sealed
@dataclass(frozen=True, slots=True)
class _StorageType:
    """Stand-in for torch.FloatStorage & co.: the element type a storage record counts in."""

    element: _Element


@_sealed
@dataclass(frozen=True, slots=True)
class _StorageRef:
    """A `('storage', type, key, location, numel)` record: `numel` elements in `<archive>/data/<key>`."""

    key: str
    element: _Element
    numel: int

    @property
    def nbytes(self) -> int:
        return self.numel * self.element.stored.itemsize


@_sealed
@dataclass(frozen=True, slots=True)
class _TensorRef:
    """A tensor described by the pickle, already bounds-checked against its storage; read later."""

    storage: _StorageRef
    element: _Element
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    @property
    def numel(self) -> int:
        return math.prod(self.size)


def _index(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r:.80}")
    return value


def _dims(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or len(value) > _MAX_NDIM:
        raise ValueError(f"{what} must be a tuple of at most {_MAX_NDIM} integers, got {value!r:.80}")
    return tuple(_index(v, what) for v in value)


def _shape(value: Any, what: str) -> tuple[int, ...]:
    """A tensor's dimensions, which numpy must be able to hold (a zero among them does not make any size fine)."""
    shape = _dims(value, what)
    if math.prod(n for n in shape if n) > _MAX_ELEMENTS:
        raise ValueError(f"{what} {list(shape)!r:.120} is larger than any array can be")
    return shape


def _check_view_bounds(elements: int, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> None:
    if math.prod(size) == 0:
        return
    last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if last >= elements:
        raise ValueError(
            f"tensor view (offset {offset}, size {size}, stride {stride}) needs element {last} of a "
            f"storage that holds {elements}"
        )


def _storage_arg(storage: Any) -> _StorageRef:
    if not isinstance(storage, _StorageRef):
        raise ValueError(f"a tensor is rebuilt from {type(storage).__name__}, not from a storage record")
    return storage


def _tensor_ref(storage: _StorageRef, element: _Element, offset: Any, size: Any, stride: Any) -> _TensorRef:
    offset, size, stride = _index(offset, "storage offset"), _shape(size, "size"), _dims(stride, "stride")
    if len(size) != len(stride):
        raise ValueError(f"tensor size {size} and stride {stride} differ in length")
    elements, rest = divmod(storage.nbytes, element.stored.itemsize)
    if rest:
        raise ValueError(f"a storage of {storage.nbytes} bytes cannot hold {element.name} elements")
    _check_view_bounds(elements, offset, size, stride)
    return _TensorRef(storage, element, offset, size, stride)


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any) -> _TensorRef:
    storage = _storage_arg(storage)
    return _tensor_ref(storage, storage.element, storage_offset, size, stride)


def _rebuild_tensor_v2(
    storage: Any, storage_offset: Any, size: Any, stride: Any,
    requires_grad: Any = False, backward_hooks: Any = None, metadata: Any = None,
) -> _TensorRef:
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v3(
    storage: Any, storage_offset: Any, size: Any, stride: Any,
    requires_grad: Any, backward_hooks: Any, dtype: Any, metadata: Any = None,
) -> _TensorRef:
    if not isinstance(dtype, _Element):
        raise ValueError(f"tensor dtype is {type(dtype).__name__}, not a torch dtype")
    return _tensor_ref(_storage_arg(storage), dtype, storage_offset, size, stride)


def _rebuild_parameter(data: Any, requires_grad: Any = False, backward_hooks: Any = None) -> _TensorRef:
    if not isinstance(data, _TensorRef):
        raise ValueError(f"a Parameter wraps {type(data).__name__}, not a tensor")
    return data


def _rebuild_parameter_with_state(data: Any, requires_grad: Any, backward_hooks: Any, state: Any) -> _TensorRef:
    return _rebuild_parameter(data)


def _torch_size(dims: Any = ()) -> tuple[int, ...]:
    return _dims(dims, "torch.Size")


def _torch_device(kind: Any, index: Any = None) -> str:
    if not isinstance(kind, str) or not (index is None or isinstance(index, int)):
        raise ValueError(f"torch.device({kind!r:.40}, {index!r:.40}) is not a device")
    return kind


def _codecs_encode(text: Any, encoding: Any = "utf-8") -> bytes:
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
    ("torch", "UntypedStorage"): _StorageType(_ELEMENTS["uint8"]),
    ("torch.storage", "UntypedStorage"): _StorageType(_ELEMENTS["uint8"]),
    **{("torch", storage): _StorageType(_ELEMENTS[e]) for storage, e in _TORCH_STORAGES.items()},
    **{("torch", name): element for name, element in _ELEMENTS.items()},
}

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


# ------------------------------------------------------------------------------------------- unpickling


class _CheckpointUnpickler(pickle.Unpickler):
    """Unpickles data.pkl with an allow-list: every global it can reach is a stand-in from this module.

    REDUCE, NEWOBJ and OBJ can only call what `find_class` returned, since no pickle opcode makes any
    other callable. BUILD on a stand-in is refused (see `_sealed`); on an OrderedDict, as torch writes for
    a state dict's `_metadata`, it only sets instance attributes, which flattening never reads.
    """

    def __init__(self, path: str, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self._path = path
        self._storages: dict[str, _StorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        found = _SAFE_GLOBALS.get((module, name))
        if found is not None:
            return found
        if (module, name) in _UNSUPPORTED_GLOBALS:
            what = _UNSUPPORTED_GLOBALS[(module, name)]
            raise _fail(self._path, f"holds {what} ({module}.{name}), which pycnn cannot load")
        raise UnsafeCheckpointError(self._path, f"{module}.{name}")

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise ValueError(f"unexpected persistent id {pid!r:.120}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise ValueError(f"storage record {key!r:.40} has type {storage_type!r:.40}, not a torch storage type")
        if not isinstance(key, str) or not key or "/" in key:
            raise ValueError(f"storage key {key!r:.40} is not a record name")
        storage = _StorageRef(key, storage_type.element, _index(numel, f"numel of storage {key}"))
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


def _unpickle(path: str, data: bytes) -> Any:
    try:
        _check_pickle_opcodes(data)
        return _CheckpointUnpickler(path, data).load()
    except (WeightsFileError, MemoryError):
        raise
    except Exception as e:  # stand-ins and the unpickler report a malformed pickle in many types
        raise _fail(path, f"data.pkl is not a valid checkpoint pickle: {type(e).__name__}: {e}") from None


# ------------------------------------------------------------------------------------------- flattening


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
        leaf = node if isinstance(node, _TensorRef) else _scalar_array(node)
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


def _flatten(path: str, root: Any) -> dict[str, Any]:
    """Name → _TensorRef or 0-d array: nested containers joined with '.', strings/None/others skipped."""
    if not isinstance(root, dict):
        raise _fail(path, f"holds a {type(root).__name__}, not a mapping of names to tensors")
    out: dict[str, Any] = {}
    try:
        _flatten_into(out, "", root, set(), 0)
    except ValueError as e:
        raise _fail(path, str(e)) from None
    return out


# ------------------------------------------------------------------------------------------ zip members


def _open_zip(path: str, file: io.BufferedReader) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(file)
    except MemoryError:
        raise
    except Exception as e:  # whatever a damaged directory makes zipfile raise, the file is corrupt
        raise _fail(path, f"corrupt or truncated zip archive: {e}") from None


def _member_info(path: str, zf: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise _fail(path, f"record {name} is missing from the archive") from None
    compressed = info.compress_type != zipfile.ZIP_STORED
    if compressed and info.file_size > _MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise _fail(
            path, f"record {name} would expand {info.compress_size} bytes to {info.file_size} "
            f"(more than {_MAX_COMPRESSION_RATIO}:1): refusing a likely zip bomb"
        )
    return info


def _read_member(path: str, zf: zipfile.ZipFile, name: str, *,
                 size: int | None = None, limit: int | None = None) -> bytes:
    """The bytes of a zip member whose size must be exactly `size` or at most `limit`; CRC-checked."""
    info = _member_info(path, zf, name)
    if size is not None and info.file_size != size:
        raise _fail(path, f"record {name} holds {info.file_size} bytes, its description needs {size}")
    if limit is not None and info.file_size > limit:
        raise _fail(path, f"record {name} is {info.file_size} bytes, more than the {limit} accepted")
    try:
        with zf.open(info) as member:
            data = member.read(info.file_size)
    except MemoryError:
        raise
    except Exception as e:  # bad CRC, damaged deflate/bz2/lzma stream, encryption, unknown method
        raise _fail(path, f"cannot read record {name}: {e}") from None
    if len(data) != info.file_size:
        raise _fail(path, f"record {name} is truncated: {len(data)} of {info.file_size} bytes")
    return data


# ------------------------------------------------------------------------------------ torch checkpoints


def _archive_prefix(path: str, names: list[str]) -> str | None:
    """The top-level folder holding data.pkl (torch names it after the file), or None if there is none."""
    prefixes = [n[: -len("/data.pkl")] for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(prefixes) > 1:
        raise _fail(path, f"archive holds several checkpoints: {sorted(prefixes)[:5]}")
    return prefixes[0] if prefixes else None


def _read_byteorder(path: str, zf: zipfile.ZipFile, prefix: str) -> str:
    name = f"{prefix}/byteorder"
    if name not in zf.NameToInfo:
        return "little"  # what torch assumes for archives written before the record existed
    order = _read_member(path, zf, name, limit=16)
    if order not in (b"little", b"big"):
        raise _fail(path, f"byteorder record says {order!r}, expected b'little' or b'big'")
    return order.decode()


def _check_output_size(path: str, tensors: list[_TensorRef]) -> None:
    stored = sum(s.nbytes for s in {t.storage for t in tensors})
    returned = sum(t.numel * t.element.returned.itemsize for t in tensors)
    if returned > _MAX_EXPANSION * stored + _EXPANSION_SLACK_BYTES:
        raise _fail(
            path, f"tensors would take {returned} bytes from {stored} bytes of stored data "
            "(strided views expanding far beyond the file)"
        )


def _tensor_array(data: bytes, tensor: _TensorRef, byteorder: str) -> np.ndarray:
    """Copy one (possibly strided, offset or shared) view out of its storage's bytes."""
    dtype = tensor.element.stored.newbyteorder("<" if byteorder == "little" else ">")
    if tensor.numel == 0:
        return _decode(np.empty(tensor.size, dtype), tensor.element)
    storage = np.frombuffer(data, dtype=dtype, count=len(data) // dtype.itemsize)
    _check_view_bounds(storage.size, tensor.offset, tensor.size, tensor.stride)  # again, right before the raw view
    strides = tuple(0 if n == 1 else s * dtype.itemsize for n, s in zip(tensor.size, tensor.stride, strict=True))
    view = np.lib.stride_tricks.as_strided(storage[tensor.offset:], tensor.size, strides, writeable=False)
    return _decode(view, tensor.element)


def _materialize(path: str, zf: zipfile.ZipFile, prefix: str, byteorder: str,
                 entries: dict[str, Any]) -> dict[str, np.ndarray]:
    """Replace each _TensorRef by its array, reading every storage once and dropping it after its last use."""
    tensors = [v for v in entries.values() if isinstance(v, _TensorRef)]
    _check_output_size(path, tensors)
    uses = Counter(t.storage.key for t in tensors)
    storages: dict[str, bytes] = {}
    out: dict[str, np.ndarray] = {}
    for name, value in entries.items():
        if not isinstance(value, _TensorRef):
            out[name] = value
            continue
        key = value.storage.key
        if key not in storages:
            storages[key] = _read_member(path, zf, f"{prefix}/data/{key}", size=value.storage.nbytes)
        try:
            out[name] = _tensor_array(storages[key], value, byteorder)
        except ValueError as e:
            raise _fail(path, f"tensor {name!r}: {e}") from None
        uses[key] -= 1
        if uses[key] == 0:
            del storages[key]
    return out


def _load_torch(path: str, zf: zipfile.ZipFile, prefix: str) -> dict[str, np.ndarray]:
    byteorder = _read_byteorder(path, zf, prefix)
    root = _unpickle(path, _read_member(path, zf, f"{prefix}/data.pkl", limit=_MAX_PICKLE_BYTES))
    return _materialize(path, zf, prefix, byteorder, _flatten(path, root))


# ------------------------------------------------------------------------------------------------- npz


def _check_npy_member(path: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """A member's .npy header must describe a numeric array exactly as large as the member's data."""
    _member_info(path, zf, info.filename)
    try:
        with zf.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_1_0(member)
            else:
                shape, _fortran, dtype = np.lib.format.read_array_header_2_0(member)
            data_bytes = info.file_size - member.tell()
    except MemoryError:
        raise
    except Exception as e:  # a damaged member or header (numpy raises ValueError, zipfile its own errors)
        raise _fail(path, f"member {info.filename} is not a valid .npy array: {e}") from None
    if dtype.hasobject:
        raise _fail(path, f"array {info.filename[:-4]!r} holds Python objects, which pycnn never unpickles")
    if dtype.kind not in "biuf":
        raise _fail(path, f"array {info.filename[:-4]!r} has non-numeric dtype {dtype}")
    if math.prod(shape) * dtype.itemsize != data_bytes:
        raise _fail(path, f"array {info.filename[:-4]!r} of shape {shape} {dtype} does not match its "
                          f"{data_bytes} data bytes")


def _load_npz(path: str, file: io.BufferedReader, zf: zipfile.ZipFile) -> dict[str, np.ndarray]:
    if len(set(zf.namelist())) != len(zf.namelist()):
        raise _fail(path, "archive lists the same array twice")
    for info in zf.infolist():
        _check_npy_member(path, zf, info)
    file.seek(0)
    try:
        with np.load(file, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except MemoryError:
        raise
    except Exception as e:  # same as above, met while reading the data
        raise _fail(path, f"cannot read .npz: {e}") from None
    return {name: a.astype(a.dtype.newbyteorder("="), order="C", copy=False) for name, a in arrays.items()}


def _load_zip(path: str, file: io.BufferedReader) -> dict[str, np.ndarray]:
    with _open_zip(path, file) as zf:
        names = zf.namelist()
        prefix = _archive_prefix(path, names)
        if prefix is not None:
            return _load_torch(path, zf, prefix)
        if all(n.endswith(".npy") for n in names):
            return _load_npz(path, file, zf)
    raise _fail(path, "zip archive is neither a PyTorch checkpoint (no <archive>/data.pkl) "
                      "nor an .npz (it has members other than .npy)")


# ----------------------------------------------------------------------------------------- safetensors

_SAFETENSORS_DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
    "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool",
}


@dataclass(frozen=True)
class _SafetensorsEntry:
    name: str
    element: _Element
    shape: tuple[int, ...]
    begin: int
    end: int


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key among {sorted(keys)[:10]}")
    return dict(pairs)


def _parse_safetensors_header(path: str, raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
        header = json.loads(text, object_pairs_hook=_unique_keys) if text.startswith("{") else None
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise _fail(path, f"safetensors header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise _fail(path, "safetensors header is not a JSON object")
    return header


def _safetensors_entry(name: str, info: Any, data_bytes: int) -> _SafetensorsEntry:
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys():
        raise ValueError(f"tensor {name!r} needs dtype, shape and data_offsets, got {info!r:.120}")
    code = info["dtype"]
    element = _ELEMENTS.get(_SAFETENSORS_DTYPES.get(code, "")) if isinstance(code, str) else None
    if element is None:
        raise ValueError(f"tensor {name!r} has dtype {code!r:.40}; supported: {', '.join(_SAFETENSORS_DTYPES)}")
    shape = _shape(info["shape"], f"shape of {name!r}")
    offsets = info["data_offsets"]
    if not isinstance(offsets, list) or len(offsets) != 2:
        raise ValueError(f"data_offsets of {name!r} must be [begin, end], got {offsets!r:.80}")
    begin, end = (_index(o, f"data_offsets of {name!r}") for o in offsets)
    if not begin <= end <= data_bytes:
        raise ValueError(f"data_offsets {offsets} of {name!r} fall outside the {data_bytes}-byte data block")
    needed = math.prod(shape) * element.stored.itemsize
    if end - begin != needed:
        raise ValueError(f"{name!r} of shape {list(shape)} {code} needs {needed} bytes, "
                         f"its offsets span {end - begin}")
    return _SafetensorsEntry(name, element, shape, begin, end)


def _check_tiling(entries: list[_SafetensorsEntry], data_bytes: int) -> None:
    """Like the reference reader: tensors cover the data block exactly, without overlaps or holes."""
    position = 0
    for e in sorted(entries, key=lambda e: (e.begin, e.end)):
        if e.begin != position:
            raise ValueError(f"tensor {e.name!r} starts at byte {e.begin}, expected {position} (overlap or hole)")
        position = e.end
    if position != data_bytes:
        raise ValueError(f"{data_bytes - position} bytes after the last tensor belong to no tensor")


def _safetensors_entries(path: str, header: dict[str, Any], data_bytes: int) -> list[_SafetensorsEntry]:
    try:
        entries = [_safetensors_entry(k, v, data_bytes) for k, v in header.items() if k != "__metadata__"]
        _check_tiling(entries, data_bytes)
    except ValueError as e:
        raise _fail(path, f"invalid safetensors header: {e}") from None
    return entries


def _load_safetensors(path: str, file: io.BufferedReader, size: int) -> dict[str, np.ndarray]:
    if size < 8:
        raise _fail(path, f"{size} bytes is too short for a safetensors file (8-byte header length first)")
    file.seek(0)
    (header_len,) = struct.unpack("<Q", file.read(8))
    if header_len > min(size - 8, _MAX_SAFETENSORS_HEADER):
        raise _fail(path, f"safetensors header length {header_len} exceeds the file ({size} bytes) "
                          f"or {_MAX_SAFETENSORS_HEADER} bytes")
    header = _parse_safetensors_header(path, file.read(header_len))
    data_start = 8 + header_len
    out: dict[str, np.ndarray] = {}
    for entry in _safetensors_entries(path, header, size - data_start):
        file.seek(data_start + entry.begin)
        data = file.read(entry.end - entry.begin)
        if len(data) != entry.end - entry.begin:
            raise _fail(path, f"file shrank while reading tensor {entry.name!r}")
        stored = np.frombuffer(data, dtype=entry.element.stored).reshape(entry.shape)
        out[entry.name] = _decode(stored, entry.element)
    return out


# ----------------------------------------------------------------------------------------------- load


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    return len(head) >= 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] <= size - 8


def _unrecognised(path: str, head: bytes, suffix: str) -> WeightsFileError:
    if head[:1] == b"\x80":
        return _fail(
            path, "is a legacy (non-zip) torch.save file or a plain pickle, which pycnn does not read; "
            "re-save it with a current torch: torch.save(torch.load(path, weights_only=True), new_path)"
        )
    if suffix in _ZIP_SUFFIXES:
        return _fail(path, "is not a zip archive (truncated or corrupted?)")
    return _fail(path, f"unrecognised weights format; supported: {'; '.join(_SUPPORTED_FORMATS)}")


def load(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a weights file into {name: array}, recognising the format by content (extension as a hint).

    PyTorch checkpoints are read without torch and without running pickled code. A checkpoint that is not
    a flat name→tensor mapping is flattened: nested dicts, lists and tuples give '.'-joined names
    ({'state_dict': {'fc.weight': t}, 'epoch': 3} → 'state_dict.fc.weight', 'epoch'), bool/int/float
    scalars become 0-d arrays, and strings, None and other values are skipped.

    Returns new, writeable, C-contiguous, native-endian arrays of the stored dtype (bfloat16 → float32).
    Raises WeightsFileError (UnsafeCheckpointError for a pickle naming a refused global).
    """
    name = os.fspath(path)
    suffix = os.path.splitext(name)[1].lower()
    with open(name, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            raise _fail(name, "file is empty")
        head = file.read(_SNIFF_BYTES)
        if head.startswith(_ZIP_MAGICS):
            return _load_zip(name, file)
        if suffix == ".safetensors" or _looks_like_safetensors(head, size):
            return _load_safetensors(name, file, size)
        raise _unrecognised(name, head, suffix)


# ----------------------------------------------------------------------------------------------- save

_SAFETENSORS_CODES = {_ELEMENTS[n].returned: code for code, n in _SAFETENSORS_DTYPES.items() if n != "bfloat16"}


def _safetensors_code(dtype: np.dtype) -> str:
    return _SAFETENSORS_CODES[dtype.newbyteorder("=")]


def _as_numeric_array(name: str, value: Any) -> np.ndarray:
    """`value` as a numpy array of bool, int, uint or float16/32/64 (torch tensors via .detach().cpu())."""
    if hasattr(value, "detach"):
        tensor = value.detach().cpu()
        value = (tensor.float() if str(tensor.dtype) == "torch.bfloat16" else tensor).numpy()
    array = np.asarray(value)
    if array.dtype.kind not in "biuf" or array.dtype.itemsize > 8:
        raise TypeError(f"state[{name!r}] must be a bool, integer or float16/32/64 array, got dtype {array.dtype}")
    return array


def _write_safetensors(arrays: dict[str, np.ndarray], path: str) -> None:
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))  # widest first keeps every tensor aligned
    header: dict[str, Any] = {}
    position = 0
    for key in order:
        a = arrays[key]
        header[key] = {"dtype": _safetensors_code(a.dtype), "shape": list(a.shape),
                       "data_offsets": [position, position + a.nbytes]}
        position += a.nbytes
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for key in order:
            f.write(arrays[key].astype(arrays[key].dtype.newbyteorder("<"), copy=False).tobytes())


def _write_npz(arrays: dict[str, np.ndarray], path: str) -> None:
    """What np.savez writes, without its keyword arguments clashing with names like 'file'."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, array in arrays.items():
            with zf.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def save(state: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write {name: array-like} as .safetensors (keys sorted, header padded to 8 bytes) or .npz, by extension.

    Values pass through np.asarray (torch tensors through .detach().cpu().numpy(); bfloat16 → float32) and
    must be bool, integer or float16/32/64; they keep their dtype.
    """
    name = os.fspath(path)
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in (".safetensors", ".npz"):
        raise ValueError(f"{name}: save writes .safetensors or .npz files, not {suffix or 'no extension'!r}")
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be a mapping of names to arrays, got {type(state).__name__}")
    for key in state:
        if not isinstance(key, str) or key == "__metadata__":
            raise TypeError(f"state keys must be strings other than '__metadata__', got {key!r}")
    arrays = {key: _as_numeric_array(key, value) for key, value in state.items()}
    (_write_safetensors if suffix == ".safetensors" else _write_npz)(arrays, name)
