"""Tensor element types as files store them, and the checks every shape, index and strided view passes before
anything is allocated."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

_MAX_NDIM = 64  # numpy's limit
_MAX_ELEMENTS = 1 << 60  # times an element of up to 8 bytes stays below numpy's 2^63-byte limit, even when empty


def refuse_setstate(self: Any, state: Any) -> None:
    """The `__setstate__` of every stand-in a pickle can reach: its BUILD opcode must not rewrite fields that
    were checked (dataclass(frozen=True, slots=True) would give one that writes past `frozen`; it keeps this)."""
    raise ValueError(f"the pickle tries to modify a {type(self).__name__} (BUILD), which torch never does")


@dataclass(frozen=True, slots=True)
class Element:
    """One tensor element type: the little-endian dtype of its stored bytes and the dtype pycnn returns."""

    name: str
    stored: np.dtype
    returned: np.dtype
    __setstate__ = refuse_setstate


ELEMENTS = {
    name: Element(name, np.dtype(stored), np.dtype(returned).newbyteorder("="))
    for name, stored, returned in (
        ("float64", "<f8", "<f8"),
        ("float32", "<f4", "<f4"),
        ("float16", "<f2", "<f2"),
        ("bfloat16", "<u2", "f4"),  # numpy has no bfloat16; widening to float32 is exact
        ("int64", "<i8", "<i8"),
        ("int32", "<i4", "<i4"),
        ("int16", "<i2", "<i2"),
        ("int8", "i1", "i1"),
        ("uint64", "<u8", "<u8"),
        ("uint32", "<u4", "<u4"),
        ("uint16", "<u2", "<u2"),
        ("uint8", "u1", "u1"),
        ("bool", "u1", "?"),
    )
}


def decode(stored: np.ndarray, element: Element) -> np.ndarray:
    """A new C-contiguous, writeable, native-endian array of `element.returned` from raw stored values."""
    if element.name == "bfloat16":
        return (stored.astype(np.uint32, order="C") << 16).view(np.float32)
    return stored.astype(element.returned, order="C")


def checked_index(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r:.80}")
    return value


def checked_dims(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or len(value) > _MAX_NDIM:
        raise ValueError(f"{what} must be a tuple of at most {_MAX_NDIM} integers, got {value!r:.80}")
    return tuple(checked_index(v, what) for v in value)


def checked_shape(value: Any, what: str) -> tuple[int, ...]:
    """A tensor's dimensions, which numpy must be able to hold (a zero among them does not make any size fine)."""
    shape = checked_dims(value, what)
    if math.prod(n for n in shape if n) > _MAX_ELEMENTS:
        raise ValueError(f"{what} {list(shape)!r:.120} is larger than any array can be")
    return shape


def check_view_bounds(elements: int, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> None:
    if math.prod(size) == 0:
        return
    last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if last >= elements:
        raise ValueError(
            f"tensor view (offset {offset}, size {size}, stride {stride}) needs element {last} of a "
            f"storage that holds {elements}"
        )
