"""Where an array lives: on the host (numpy, and anything numpy converts) or on a CUDA device.

Device arrays are pycnn.cuda.DeviceArrays and objects with ``__cuda_array_interface__`` or a CUDA
``__dlpack_device__`` (torch CUDA tensors, CuPy arrays). Nothing here imports the CUDA module: a host call pays
one type check per array.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

_DLPACK_CUDA_DEVICES = (2, 13)  # kDLCUDA, kDLCUDAManaged


def is_device_array(value: Any) -> bool:
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


def on_device(op: str, **arrays: Any) -> bool:
    """Whether the array arguments of `op` (None ones aside) are device arrays; TypeError naming them when some
    are and some are not."""
    device = [name for name, value in arrays.items() if is_device_array(value)]
    if not device:
        return False
    host = [name for name, value in arrays.items() if value is not None and name not in device]
    if host:
        raise TypeError(f"{op}: {', '.join(device)} on the CUDA device but {', '.join(host)} on the host: pass all "
                        "arrays from one side (pycnn.cuda.to_device(array), tensor.cuda(); or .numpy() back)")
    return True


def parse_device(device: Any) -> str:
    """'cpu' or 'cuda' from 'cpu', 'cuda', 'cuda:0' or a torch.device; ValueError for anything else."""
    text = str(device)
    if text == "cpu":
        return "cpu"
    if text in ("cuda", "cuda:0"):
        return "cuda"
    if text.startswith("cuda:"):
        raise ValueError(f"device {text!r}: pycnn runs on one GPU, cuda:0 (choose it with CUDA_VISIBLE_DEVICES)")
    raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
