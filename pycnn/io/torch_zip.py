"""PyTorch zip checkpoints (torch.save): the pickle's tensor descriptions read out of their storages."""

from __future__ import annotations

import zipfile
from collections import Counter
from typing import Any

import numpy as np

from .elements import check_view_bounds, decode
from .errors import fail
from .torch_pickle import TensorRef, flatten, unpickle
from .zip_records import read_member

_MAX_PICKLE_BYTES = 32 << 20  # a state dict's data.pkl is ~100 bytes per tensor
# Stride-0 views let a tiny storage describe a huge tensor; copies may exceed the file's tensor data by this much.
_MAX_EXPANSION = 8
_EXPANSION_SLACK_BYTES = 1 << 30


def archive_prefix(path: str, names: list[str]) -> str | None:
    """The top-level folder holding data.pkl (torch names it after the file), or None if there is none."""
    prefixes = [n[: -len("/data.pkl")] for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(prefixes) > 1:
        raise fail(path, f"archive holds several checkpoints: {sorted(prefixes)[:5]}")
    return prefixes[0] if prefixes else None


def _read_byteorder(path: str, zf: zipfile.ZipFile, prefix: str) -> str:
    name = f"{prefix}/byteorder"
    if name not in zf.NameToInfo:
        return "little"  # what torch assumes for archives written before the record existed
    order = read_member(path, zf, name, limit=16)
    if order not in (b"little", b"big"):
        raise fail(path, f"byteorder record says {order!r}, expected b'little' or b'big'")
    return order.decode()


def _check_output_size(path: str, tensors: list[TensorRef]) -> None:
    stored = sum(s.nbytes for s in {t.storage for t in tensors})
    returned = sum(t.numel * t.element.returned.itemsize for t in tensors)
    if returned > _MAX_EXPANSION * stored + _EXPANSION_SLACK_BYTES:
        raise fail(
            path, f"tensors would take {returned} bytes from {stored} bytes of stored data "
            "(strided views expanding far beyond the file)"
        )


def _tensor_array(data: bytes, tensor: TensorRef, byteorder: str) -> np.ndarray:
    """Copy one (possibly strided, offset or shared) view out of its storage's bytes."""
    dtype = tensor.element.stored.newbyteorder("<" if byteorder == "little" else ">")
    if tensor.numel == 0:
        return decode(np.empty(tensor.size, dtype), tensor.element)
    storage = np.frombuffer(data, dtype=dtype, count=len(data) // dtype.itemsize)
    check_view_bounds(storage.size, tensor.offset, tensor.size, tensor.stride)  # again, right before the raw view
    strides = tuple(0 if n == 1 else s * dtype.itemsize for n, s in zip(tensor.size, tensor.stride, strict=True))
    view = np.lib.stride_tricks.as_strided(storage[tensor.offset:], tensor.size, strides, writeable=False)
    return decode(view, tensor.element)


def _materialize(path: str, zf: zipfile.ZipFile, prefix: str, byteorder: str,
                 entries: dict[str, Any]) -> dict[str, np.ndarray]:
    """Replace each TensorRef by its array, reading every storage once and dropping it after its last use."""
    tensors = [v for v in entries.values() if isinstance(v, TensorRef)]
    _check_output_size(path, tensors)
    uses = Counter(t.storage.key for t in tensors)
    storages: dict[str, bytes] = {}
    out: dict[str, np.ndarray] = {}
    for name, value in entries.items():
        if not isinstance(value, TensorRef):
            out[name] = value
            continue
        key = value.storage.key
        if key not in storages:
            storages[key] = read_member(path, zf, f"{prefix}/data/{key}", size=value.storage.nbytes)
        try:
            out[name] = _tensor_array(storages[key], value, byteorder)
        except ValueError as e:
            raise fail(path, f"tensor {name!r}: {e}") from None
        uses[key] -= 1
        if uses[key] == 0:
            del storages[key]
    return out


def load_torch(path: str, zf: zipfile.ZipFile, prefix: str) -> dict[str, np.ndarray]:
    byteorder = _read_byteorder(path, zf, prefix)
    root = unpickle(path, read_member(path, zf, f"{prefix}/data.pkl", limit=_MAX_PICKLE_BYTES))
    return _materialize(path, zf, prefix, byteorder, flatten(path, root))
