"""Tensor element types as files store them, and the checks every shape, index and strided view passes before
anything is allocated."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

_MAX_NDIM = 64  # numpy's limit
_MAX_ELEMENTS = 1 << 60  # times an element of up to 8 bytes stays below numpy's 2^63-byte limit, even when empty


def _refuse_setstate(self: Any, state: Any) -> None:
    raise ValueError(f"the pickle tries to modify a {type(self).__name__} (BUILD), which torch never does")


def sealed(cls: type) -> type:
    """Stand-ins reach the pickle's BUILD opcode; dataclass(frozen=True, slots=True) gives them a __setstate__
    that writes fields past `frozen`, so replace it with one that refuses."""
    cls.__setstate__ = _refuse_setstate  # type: ignore[attr-defined]
    return cls


@sealed
@dataclass(frozen=True, slots=True)
class Element:
    """One tensor element type: the little-endian dtype of its stored bytes and the dtype pycnn returns."""

    name: str
    stored: np.dtype
    returned: np.dtype


def _element(name: str, stored: str, returned: str | None = None) -> Element:
    return Element(name, np.dtype(stored), np.dtype(returned or stored).newbyteorder("="))


ELEMENTS = {
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
