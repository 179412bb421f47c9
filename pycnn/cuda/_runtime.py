"""Loading pycnn._cuda, and the one error for CUDA asked for where it cannot run."""

from __future__ import annotations

import importlib
from types import ModuleType


class CudaUnavailableError(RuntimeError):
    """CUDA was asked for, but this pycnn has no CUDA kernels or finds no usable CUDA device."""


_module: ModuleType | None = None
_import_error: str | None = None


def module() -> ModuleType | None:
    """pycnn._cuda, or None when this installation has none (built without a CUDA toolkit)."""
    global _module, _import_error
    if _module is None and _import_error is None:
        try:
            _module = importlib.import_module("pycnn._cuda")
        except ImportError as error:
            _import_error = str(error)
    return _module


def is_built() -> bool:
    return module() is not None


def device_count() -> int:
    cuda = module()
    try:
        return int(cuda.device_count()) if cuda is not None else 0
    except Exception:  # never raise from a question: no count is 0 devices
        return 0


def status() -> str:
    """Why CUDA cannot run here, or 'ok'."""
    cuda = module()
    if cuda is None:
        return f"pycnn was built without CUDA kernels ({_import_error})"
    return str(cuda.device_status())


def require_built() -> ModuleType:
    """pycnn._cuda, for questions about the build; CudaUnavailableError when there is none."""
    cuda = module()
    if cuda is None:
        raise CudaUnavailableError(f"this pycnn was built without CUDA kernels ({_import_error})")
    return cuda


def require(what: str) -> ModuleType:
    """pycnn._cuda with at least one usable device; CudaUnavailableError naming `what` otherwise."""
    cuda = module()
    if cuda is None:
        raise CudaUnavailableError(
            f"{what}: this pycnn was built without CUDA kernels (pycnn.show_config() shows the build). Reinstall it "
            "where a CUDA toolkit's nvcc is on PATH: pip install pycnn -Ccmake.define.PYCNN_CUDA=ON")
    if device_count() == 0:
        raise CudaUnavailableError(f"{what}: this pycnn has CUDA kernels, but no usable CUDA device was found "
                                   f"({cuda.device_status()})")
    return cuda
