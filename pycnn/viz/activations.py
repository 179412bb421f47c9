"""`plot_activations`: what a layer of a network makes of a picture, one map per channel."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..nn import Layer, Module, ReLU
from ..nn.trace import trace
from ._figure import colormap, new_figure, save_png
from .capture import layer_output
from .grid import tile
from .image import as_batch


def activation_maps(model_or_layer: Module, image: Any, layer: str | Module | None = None) -> np.ndarray:
    """The output (N, C, H', W') of `layer` in `model_or_layer` for `image` (see plot_activations)."""
    return _labelled_activations(model_or_layer, as_batch(image), layer)[1]


def _labelled_activations(model_or_layer: Module, x: np.ndarray,
                          layer: str | Module | None) -> tuple[str, np.ndarray]:
    if isinstance(model_or_layer, Layer):
        if layer is not None and layer is not model_or_layer:
            raise ValueError("layer= selects a layer inside a model; pass it only with a model")
        return type(model_or_layer).__name__, np.asarray(model_or_layer(x), dtype=np.float32)
    if layer is None:
        layer = _first_relu(model_or_layer, x.shape)
    label = layer if isinstance(layer, str) else type(layer).__name__
    return label, layer_output(model_or_layer, x, layer)


def _first_relu(model: Module, shape: tuple[int, ...]) -> str:
    _, _, nodes = trace(model, shape)
    return next((n.name for n in nodes if isinstance(n.module, ReLU)), nodes[0].name)


def plot_activations(model_or_layer: Module, image: Any, path: str | os.PathLike[str], *,
                     layer: str | Module | None = None, max_maps: int = 64, columns: int | None = None,
                     title: str | None = None, size: tuple[int, int] = (1000, 1000), dpi: int = 100) -> Path:
    """Draws the activation maps that `layer` of a model (or a single layer) computes for `image`, as a grid of
    its first `max_maps` channels, and writes it to `path` as a PNG of `size` pixels.

    image: an RGB picture (H, W, 3), uint8 or floats in 0..1, normalised for ImageNet models by
    pycnn.viz.imagenet_input; or a network input (C, H, W) / (N, C, H, W) used as it is (the first of a batch
    is shown). layer: a name from pycnn.viz.layer_names(model) ('features.3', 'layer2', 'inception4a') or a
    module of the model; by default the first ReLU, the activations of the first convolution. Each map is
    scaled to its own range (bright: strong response).
    """
    name, maps = _labelled_activations(model_or_layer, as_batch(image), layer)
    if maps.ndim != 4:
        raise ValueError(f"the layer's output has shape {maps.shape}, not (N, C, H, W) maps: choose a layer "
                         "before the classifier")
    if max_maps < 1:
        raise ValueError(f"max_maps must be at least 1, got {max_maps}")
    shown = maps[0, :max_maps]
    low = shown.min(axis=(1, 2), keepdims=True)
    span = shown.max(axis=(1, 2), keepdims=True) - low
    figure = new_figure(size, dpi)
    axes = figure.add_subplot()
    axes.set_axis_off()
    grid = tile((shown - low) / np.where(span > 0, span, 1), columns, aspect=size[0] / size[1])
    axes.imshow(grid, cmap=colormap("viridis"), vmin=0, vmax=1, interpolation="nearest")
    axes.set_title(title or f"{name}: {len(shown)} of {maps.shape[1]} channels, {maps.shape[2]}x{maps.shape[3]}")
    figure.tight_layout()
    return save_png(figure, path)
