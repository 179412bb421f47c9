"""The classic models by name, for the command line, the benchmark and the charts."""

from __future__ import annotations

import difflib
import os
from typing import Any

from . import models
from .models._weights import Weights
from .nn import Module

MODEL_NAMES: tuple[str, ...] = (
    "alexnet", "alexnet_original",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "googlenet",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
)

# What `pycnn bench` runs when no --models is given: one network of each family, batch 1.
DEFAULT_BENCH_MODELS: tuple[str, ...] = ("alexnet", "vgg16", "googlenet", "resnet18", "resnet50")


class UnknownModelError(ValueError):
    """A model name that pycnn.models does not build."""


def is_onnx_file(name: str) -> bool:
    """Whether `name` stands for an ONNX file rather than a built-in model."""
    return name.lower().endswith(".onnx")


def check_model_name(name: str) -> str:
    """`name` itself when pycnn.models builds it or it is an existing .onnx file; else UnknownModelError naming the
    known models."""
    if name in MODEL_NAMES:
        return name
    if is_onnx_file(name):
        if not os.path.isfile(name):
            raise UnknownModelError(f"no ONNX file {name!r}")
        return name
    close = difflib.get_close_matches(name, MODEL_NAMES, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise UnknownModelError(f"unknown model {name!r}{hint}; known models: {', '.join(MODEL_NAMES)}")


def parse_model_list(text: str) -> list[str]:
    """'alexnet, resnet18' → ['alexnet', 'resnet18'], every name checked, duplicates dropped, order kept."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UnknownModelError(f"no model named in {text!r}; known models: {', '.join(MODEL_NAMES)}")
    return list(dict.fromkeys(check_model_name(n) for n in names))


def build_model(name: str, weights: Weights = None, **kwargs: Any) -> Module:
    """pycnn.models.<name>(weights=weights, **kwargs): randomly initialised when `weights` is None.

    GoogLeNet is built for inference, as torchvision's pretrained one is: without the auxiliary classifiers.
    An .onnx file is loaded with pycnn.onnx.load (its weights are its own).
    """
    if is_onnx_file(check_model_name(name)):
        if weights is not None or kwargs:
            raise ValueError(f"{name} holds its own weights and architecture; it takes no weights or options")
        from .onnx import load

        return load(name)
    if name == "googlenet":
        kwargs.setdefault("aux_logits", False)
        if weights is None:
            kwargs.setdefault("init_weights", True)
    model: Module = getattr(models, name)(weights=weights, **kwargs)
    return model


def input_shape_for(name: str, batch: int = 1) -> tuple[int, ...]:
    """The ImageNet input every classic model takes, (batch, 3, 224, 224); an ONNX file's, from its graph."""
    if is_onnx_file(check_model_name(name)):
        from .onnx import load

        return load(name).input_shape(batch)
    return (batch, 3, 224, 224)


def model_for_weights_file(path: str) -> str | None:
    """The model a checkpoint's file name names, as torchvision names its files ("resnet50-0676ba61.pth" →
    "resnet50"); None when the name names no model pycnn builds."""
    from .models._torchvision_files import TORCHVISION_FILES

    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    for model, files in TORCHVISION_FILES.items():
        if name in files.values():
            return model
    stem = name.split("-", 1)[0] if "-" in name else None
    return stem if stem in MODEL_NAMES else None
