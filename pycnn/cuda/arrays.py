"""Device arrays in and out: pycnn's DeviceArray, and the torch tensors and CuPy arrays it views without copies."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import numpy as np

from .._args import as_float32
from . import _runtime

_DLPACK_CUDA_DEVICES = (2, 13)  # kDLCUDA, kDLCUDAManaged


def is_device_array(value: Any) -> bool:
    """Whether value is a CUDA array: a DeviceArray, or anything with __cuda_array_interface__ or a CUDA
    __dlpack_device__ (torch CUDA tensors, CuPy arrays). Never loads pycnn._cuda."""
    if value is None or type(value) is np.ndarray:
        return False
    cuda = sys.modules.get("pycnn._cuda")
    if cuda is not None and isinstance(value, cuda.DeviceArray):
        return True
    if hasattr(value, "__cuda_array_interface__"):
        return True
    dlpack_device = getattr(value, "__dlpack_device__", None)
    if dlpack_device is None:
        return False
    try:
        return int(dlpack_device()[0]) in _DLPACK_CUDA_DEVICES
    except (TypeError, ValueError, IndexError, AttributeError):
        return False


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
    if is_device_array(array):
        return as_device(array, "to_device: array")
    cuda = _runtime.require("pycnn.cuda.to_device")
    return cuda.to_device(as_float32(array, "to_device: array"))
