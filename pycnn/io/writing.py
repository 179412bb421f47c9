"""pycnn.save: {name: array} written as .safetensors or .npz."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .npz import write_npz
from .safetensors import write_safetensors


def _as_numeric_array(name: str, value: Any) -> np.ndarray:
    """`value` as a numpy array of bool, int, uint or float16/32/64 (torch tensors via .detach().cpu())."""
    if hasattr(value, "detach"):
        tensor = value.detach().cpu()
        value = (tensor.float() if str(tensor.dtype) == "torch.bfloat16" else tensor).numpy()
    array = np.asarray(value)
    if array.dtype.kind not in ("b", "i", "u", "f") or array.dtype.itemsize > 8:
        raise TypeError(f"state[{name!r}] must be a bool, integer or float16/32/64 array, got dtype {array.dtype}")
    return array


def save(state: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write {name: array-like} as .safetensors (keys sorted, header padded to 8 bytes) or .npz, by extension.

    Values pass through np.asarray (torch tensors through .detach().cpu().numpy(); bfloat16 → float32) and
    must be bool, integer or float16/32/64; they keep their dtype.
    """
    name = os.fspath(path)
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in (".safetensors", ".npz"):
        raise ValueError(f"{name}: save writes .safetensors or .npz files, not {suffix or 'no extension'!r}")
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be a mapping of names to arrays, got {type(state).__name__}")
    for key in state:
        if not isinstance(key, str) or key == "__metadata__":
            raise TypeError(f"state keys must be strings other than '__metadata__', got {key!r}")
    arrays = {key: _as_numeric_array(key, value) for key, value in state.items()}
    (write_safetensors if suffix == ".safetensors" else write_npz)(arrays, name)
