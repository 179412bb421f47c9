"""The .safetensors format: a JSON header of dtypes, shapes and offsets that tile the data exactly; read and
written."""

from __future__ import annotations

import io
import json
import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from .elements import ELEMENTS, Element, checked_index, checked_shape, decode
from .errors import fail

_MAX_SAFETENSORS_HEADER = 100 << 20
_SAFETENSORS_DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
    "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool",
}
_SAFETENSORS_ELEMENTS = {code: ELEMENTS[name] for code, name in _SAFETENSORS_DTYPES.items()}


@dataclass(frozen=True)
class _SafetensorsEntry:
    name: str
    element: Element
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
        raise fail(path, f"safetensors header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise fail(path, "safetensors header is not a JSON object")
    return header


def _safetensors_entry(name: str, info: Any, data_bytes: int) -> _SafetensorsEntry:
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys():
        raise ValueError(f"tensor {name!r} needs dtype, shape and data_offsets, got {info!r:.120}")
    code = info["dtype"]
    element = _SAFETENSORS_ELEMENTS.get(code) if isinstance(code, str) else None
    if element is None:
        raise ValueError(f"tensor {name!r} has dtype {code!r:.40}; supported: {', '.join(_SAFETENSORS_DTYPES)}")
    shape = checked_shape(info["shape"], f"shape of {name!r}")
    offsets = info["data_offsets"]
    if not isinstance(offsets, list) or len(offsets) != 2:
        raise ValueError(f"data_offsets of {name!r} must be [begin, end], got {offsets!r:.80}")
    begin, end = (checked_index(o, f"data_offsets of {name!r}") for o in offsets)
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
        raise fail(path, f"invalid safetensors header: {e}") from None
    return entries


def load_safetensors(path: str, file: io.BufferedReader, size: int) -> dict[str, np.ndarray]:
    if size < 8:
        raise fail(path, f"{size} bytes is too short for a safetensors file (8-byte header length first)")
    file.seek(0)
    (header_len,) = struct.unpack("<Q", file.read(8))
    if header_len > min(size - 8, _MAX_SAFETENSORS_HEADER):
        raise fail(path, f"safetensors header length {header_len} exceeds the file ({size} bytes) "
                          f"or {_MAX_SAFETENSORS_HEADER} bytes")
    header = _parse_safetensors_header(path, file.read(header_len))
    data_start = 8 + header_len
    out: dict[str, np.ndarray] = {}
    for entry in _safetensors_entries(path, header, size - data_start):
        file.seek(data_start + entry.begin)
        data = file.read(entry.end - entry.begin)
        if len(data) != entry.end - entry.begin:
            raise fail(path, f"file shrank while reading tensor {entry.name!r}")
        stored = np.frombuffer(data, dtype=entry.element.stored).reshape(entry.shape)
        out[entry.name] = decode(stored, entry.element)
    return out


_SAFETENSORS_CODES = {ELEMENTS[n].returned: code for code, n in _SAFETENSORS_DTYPES.items() if n != "bfloat16"}


def _safetensors_code(dtype: np.dtype) -> str:
    return _SAFETENSORS_CODES[dtype.newbyteorder("=")]


def write_safetensors(arrays: dict[str, np.ndarray], path: str) -> None:
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
