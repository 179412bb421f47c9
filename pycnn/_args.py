"""Argument checking and normalisation shared by the functional API and the layers.

Every error names the argument and the shapes involved; nothing here touches the caller's arrays.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
# An op's or a model's result: an array of the caller's kind (numpy in, numpy out; a device array in, the same
# kind out).
Result = Any

# No machine can map more than this (the x86-64 and AArch64 user address space).
_MAX_BYTES = 1 << 47


def is_torch_tensor(value: Any) -> bool:
    """Whether value is a torch tensor (or Parameter), told without importing torch."""
    module = type(value).__module__
    return (module == "torch" or module.startswith("torch.")) and hasattr(value, "requires_grad")


def host_result(out: Any, template: Any) -> Any:
    """A host result as the caller's kind: a torch tensor sharing its memory for a torch tensor in; else out."""
    return sys.modules["torch"].from_numpy(out) if is_torch_tensor(template) else out


def _host_view(tensor: Any, name: str) -> Any:
    """A CPU torch tensor as numpy sees it (a view when it is float32 and contiguous)."""
    if tensor.requires_grad:
        raise TypeError(f"{name} is a tensor that requires grad, and pycnn computes no gradients: pass "
                        "tensor.detach() (a view of the same memory, no copy)")
    if tensor.device.type != "cpu":
        return tensor  # a device tensor: the backends' business, not converted here
    if tensor.dtype.is_floating_point and tensor.element_size() == 2:
        return tensor.float()  # float16 and bfloat16, which numpy cannot view, widened first
    return tensor.numpy()


def as_float32(value: Any, name: str) -> F32:
    """`value` as a C-contiguous float32 array: a new one when conversion is needed, never modified. A CPU torch
    tensor that is float32 and contiguous is viewed without a copy."""
    if is_torch_tensor(value):
        value = _host_view(value, name)
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{name} cannot be converted to a numeric array: {e}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype} (shape {array.shape})")
    return np.asarray(array, dtype=np.float32, order="C")


def _size_text(nbytes: int) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} bytes"


def empty(shape: tuple[int, ...], what: str = "output") -> F32:
    """A new float32 array, or a clear error when it cannot exist."""
    nbytes = math.prod(shape) * 4
    if nbytes > _MAX_BYTES:
        raise ValueError(f"{what} of shape {shape} would need {nbytes / 2**40:.0f} TiB: too large to allocate")
    try:
        return np.empty(shape, dtype=np.float32)
    except MemoryError:
        raise MemoryError(f"cannot allocate {what} of shape {shape} ({_size_text(nbytes)})") from None


def integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    return int(value)


def int_tuple(value: Any, n: int, name: str) -> tuple[int, ...]:
    """An int repeated n times, or a sequence of exactly n ints (or of one, repeated, as PyTorch accepts)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) == 1:
            return (integer(value[0], name),) * n
        if len(value) != n:
            raise ValueError(f"{name} must be an int or a sequence of {n} ints, got {value!r}")
        return tuple(integer(v, name) for v in value)
    return (integer(value, name),) * n


def positive_pair(value: Any, name: str) -> tuple[int, int]:
    pair = int_tuple(value, 2, name)
    if min(pair) < 1:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return pair[0], pair[1]


def padding4(value: Any, name: str = "padding") -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from an int, an (h, w) pair, or a 4-tuple (top, bottom, left, right)."""
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 4:
        pads = tuple(integer(v, name) for v in value)
    else:
        if isinstance(value, Sequence) and not isinstance(value, str) and len(value) not in (1, 2):
            raise ValueError(f"{name} must be an int, (h, w) or (top, bottom, left, right), got {value!r}")
        ph, pw = int_tuple(value, 2, name)
        pads = (ph, ph, pw, pw)
    if min(pads) < 0:
        raise ValueError(f"{name} must be non-negative, got {value!r}")
    return pads[0], pads[1], pads[2], pads[3]


def check_ndim(x: F32, allowed: tuple[int, ...], name: str, layout: str) -> None:
    if x.ndim not in allowed:
        want = " or ".join(f"{n}-D" for n in allowed)
        raise ValueError(f"{name} must be {want} ({layout}), got shape {x.shape}")


def normalise_dim(dim: Any, ndim: int, name: str = "dim") -> int:
    d = integer(dim, name)
    if not -max(ndim, 1) <= d < max(ndim, 1):
        raise ValueError(f"{name}={d} is out of range for an array with {ndim} dimensions")
    return d % max(ndim, 1)
