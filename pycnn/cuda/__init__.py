"""pycnn's CUDA path: its own kernels (CUDA runtime only, no cuDNN or cuBLAS) in the optional module pycnn._cuda.

    import pycnn
    if pycnn.cuda.is_available():
        model = pycnn.models.resnet50().to("cuda")   # numpy in, numpy out; weights uploaded once
        y = pycnn.functional.conv2d(x_cuda, w_cuda)    # torch CUDA tensors / CuPy arrays in, same kind out
        with pycnn.precision("tf32"):                  # tensor cores; 'bf16' too; 'fp32' is the default
            y = model(x)

Importing this package never fails and never touches the GPU; asking for CUDA where it cannot run raises
CudaUnavailableError, a RuntimeError that says why.
"""

from __future__ import annotations

from typing import Any

from .._precision import PRECISIONS, get_precision, precision, set_precision
from . import _runtime
from ._runtime import CudaUnavailableError, device_count, is_built
from ._runtime import require as _require
from ._runtime import status as _status
from .arrays import to_device

__all__ = ["is_available", "is_built", "device_count", "device_name", "status", "synchronize", "to_device",
           "DeviceArray", "get_precision", "set_precision", "precision", "PRECISIONS", "CudaUnavailableError"]


def is_available() -> bool:
    """Whether pycnn has CUDA kernels and a usable device to run them on; never raises."""
    return device_count() > 0


def status() -> str:
    """'ok' when CUDA is available, else why not (not built, no driver, no device)."""
    return "ok" if is_available() else _status()


def device_name() -> str:
    """The GPU's name and compute capability, e.g. 'NVIDIA H200 (sm_90)'."""
    cuda = _require("pycnn.cuda.device_name")
    return f"{cuda.device_name()} (sm_{cuda.compute_capability()})"


def synchronize() -> None:
    """Returns when every kernel pycnn has queued has finished."""
    _require("pycnn.cuda.synchronize").synchronize()


def __getattr__(name: str) -> Any:
    if name == "DeviceArray":  # the class lives in the compiled module, loaded on first use
        cuda = _runtime.module()
        if cuda is not None:
            return cuda.DeviceArray
    raise AttributeError(f"module 'pycnn.cuda' has no attribute {name!r}")
