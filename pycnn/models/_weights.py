"""The `weights` argument of the model constructors: a checkpoint file or a state dict.

pycnn downloads nothing: a torchvision weights tag ("IMAGENET1K_V1", "DEFAULT", ResNet50_Weights.IMAGENET1K_V1)
is refused with the name of the file torchvision would fetch. A checkpoint whose keys are wrapped (a shared
"module." prefix, a nested {"model": state_dict}) is refused with the line that unwraps it (pycnn.nn.state_hints).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any, TypeVar, Union

from ..nn import Module, StateDictError
from ..nn.state_hints import state_dict_hint
from ._torchvision_files import DOWNLOAD_URL, TORCH_CACHE, TORCHVISION_FILES, torchvision_file

Weights = Union[str, "os.PathLike[str]", Mapping[str, Any], None]
ModelT = TypeVar("ModelT", bound=Module)

# "IMAGENET1K_V1", "DEFAULT", "ResNet50_Weights.IMAGENET1K_V2": torchvision's weights tags, as strings.
_TAG = re.compile(r"(?:\w+_Weights\.)?([A-Z][A-Z0-9_]*)")


class WeightsTagError(ValueError):
    """A torchvision weights tag where pycnn needs a file: the message names the file torchvision would fetch."""


def _torchvision_tag(weights: object) -> str | None:
    """The tag of a torchvision weights enum member or of a tag-like string that names no file; else None."""
    if type(weights).__name__.endswith("_Weights") and isinstance(getattr(weights, "name", None), str):
        return str(getattr(weights, "name"))  # noqa: B009 - an enum member of a library pycnn does not import
    if isinstance(weights, str) and not os.path.exists(weights):
        match = _TAG.fullmatch(weights)
        return match.group(1) if match else None
    return None


def _calling_constructor() -> str | None:
    """The pycnn.models constructor ("resnet50") this call came from, for messages; None if none is found."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name in TORCHVISION_FILES and frame.f_globals.get("__name__", "").startswith("pycnn.models"):
            return frame.f_code.co_name
        frame = frame.f_back
    return None


def tag_message(weights: object, tag: str, model: str | None) -> str:
    """Why a weights tag cannot load, and the file to pass instead."""
    asked = f"weights={weights!r}" if isinstance(weights, str) else f"weights={type(weights).__name__}.{tag}"
    file = None if model is None else torchvision_file(model, tag)
    if file is not None:
        return (f"{asked}: pycnn downloads nothing. torchvision's {model} {tag} weights are the file {file} "
                f"({DOWNLOAD_URL}{file}; torchvision keeps what it downloads in {TORCH_CACHE}): pass its path, "
                f"{model}(weights=\"{file}\")")
    if model is not None and model in TORCHVISION_FILES:
        return (f"{asked}: pycnn downloads nothing, and torchvision has no {tag} weights for {model} (it has "
                f"{', '.join(TORCHVISION_FILES[model])}): pass the path of a checkpoint file")
    return (f"{asked}: pycnn downloads nothing: pass the path of a checkpoint file, such as the one torchvision "
            f"downloads ({TORCH_CACHE}, e.g. resnet50-0676ba61.pth for resnet50 IMAGENET1K_V1)")


def read_state(weights: Weights) -> Mapping[str, Any] | None:
    """The state dict that `weights` names: None, a mapping, or a .pth/.pt/.safetensors/.npz path."""
    tag = _torchvision_tag(weights)
    if tag is not None:
        raise WeightsTagError(tag_message(weights, tag, _calling_constructor()))
    if weights is None or isinstance(weights, Mapping):
        return weights
    if isinstance(weights, (str, os.PathLike)):
        from ..io import load

        return load(weights)
    raise TypeError(f"weights must be None, a state dict or a path to a checkpoint file, got {type(weights).__name__}"
                    " (pycnn downloads nothing: pass the file of torchvision's weights)")


def load_weights(build: Callable[[], ModelT], weights: Weights) -> ModelT:
    """The model `build` makes, with the state dict of `weights` loaded strictly; a wrapped checkpoint's error says
    how to unwrap it. `weights` is read first, so that a tag or a missing file fails before a model is made."""
    state = read_state(weights)
    model = build()
    if state is None:
        return model
    path = os.fspath(weights) if isinstance(weights, (str, os.PathLike)) else None
    hint = state_dict_hint(list(model.state_dict()), state, name="state" if path is None else f"pycnn.load({path!r})")
    if hint is not None:
        raise StateDictError(f"weights={path!r}: {hint}" if path is not None else f"weights: {hint}")
    model.load_state_dict(state)
    return model
