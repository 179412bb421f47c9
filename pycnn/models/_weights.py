"""The `weights` argument of the model constructors: a checkpoint file or a state dict."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypeVar, Union

from ..nn import Module

Weights = Union[str, "os.PathLike[str]", Mapping[str, Any], None]
ModelT = TypeVar("ModelT", bound=Module)


def read_state(weights: Weights) -> Mapping[str, Any] | None:
    """The state dict that `weights` names: None, a mapping, or a .pth/.pt/.safetensors/.npz path."""
    if weights is None or isinstance(weights, Mapping):
        return weights
    if isinstance(weights, (str, os.PathLike)):
        from ..io import load

        return load(weights)
    raise TypeError(f"weights must be None, a state dict or a path to a checkpoint file, got {type(weights).__name__}"
                    " (pycnn downloads nothing: pass the file of torchvision's weights)")


def load_weights(model: ModelT, weights: Weights) -> ModelT:
    state = read_state(weights)
    if state is not None:
        model.load_state_dict(state)
    return model
