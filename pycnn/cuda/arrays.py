"""Device arrays in and out: pycnn's DeviceArray, and the torch tensors and CuPy arrays it views without copies."""

from __future__ import annotations

import importlib
from typing import Any

from .._args import as_float32
from . import _runtime

# Libraries whose arrays get results of their own kind back, through DLPack.
_RETURN_LIKE = {"torch": "torch", "cupy": "cupy"}


def as_device(value: Any, name: str) -> Any:
    """A pycnn DeviceArray viewing a device array (no copy); TypeError unless it is float32 and C-contiguous."""
    cuda = _runtime.require(name)
    return cuda.as_device_array(value, name)


def like(result: Any, template: Any) -> Any:
    """`result` (a DeviceArray) as the kind of array `template` is: a torch tensor for a torch tensor, a CuPy
    array for a CuPy array (both views of the same memory), else the DeviceArray itself."""
    library = _RETURN_LIKE.get(type(template).__module__.split(".")[0])
    if library is None:
        return result
    return importlib.import_module(library).from_dlpack(result)


def to_device(array: Any) -> Any:
    """A DeviceArray: a copy of a host array (converted to float32 as pycnn.functional converts), or a view of a
    device array."""
    from .._device import is_device_array

    if is_device_array(array):
        return as_device(array, "to_device: array")
    cuda = _runtime.require("pycnn.cuda.to_device")
    return cuda.to_device(as_float32(array, "to_device: array"))
