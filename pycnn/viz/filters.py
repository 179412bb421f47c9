"""`plot_filters`: a convolution layer's filters as a grid of small pictures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..nn import Module
from ._figure import colormap, new_figure, save_png
from .grid import tile


def filter_images(weight: Any, channel: int | None = None) -> np.ndarray:
    """Filters (out, in, kH, kW) as pictures: (out, kH, kW, 3) RGB in 0..1 when in == 3 and `channel` is None
    (each filter stretched to its own range), else (out, kH, kW) in -1..1 (each filter divided by its largest
    magnitude) — of input channel `channel`, or averaged over the input channels when it is None."""
    w = np.asarray(weight, dtype=np.float32)
    if w.ndim != 4:
        raise ValueError(f"weight must be (out_channels, in_channels, kH, kW), got shape {w.shape}")
    if channel is None and w.shape[1] == 3:
        rgb = w.transpose(0, 2, 3, 1)
        low = rgb.min(axis=(1, 2, 3), keepdims=True)
        span = rgb.max(axis=(1, 2, 3), keepdims=True) - low
        rgb_images: np.ndarray = (rgb - low) / np.where(span > 0, span, 1)
        return rgb_images
    if channel is not None and not 0 <= channel < w.shape[1]:
        raise ValueError(f"channel must be in 0..{w.shape[1] - 1} for weight of shape {w.shape}, got {channel}")
    maps = w.mean(axis=1) if channel is None else w[:, channel]
    scale = np.abs(maps).max(axis=(1, 2), keepdims=True)
    signed_images: np.ndarray = maps / np.where(scale > 0, scale, 1)
    return signed_images


def first_convolution(model: Module) -> tuple[str, Module]:
    """(name, layer) of the first module in `model` with a 4-D weight — a whole network's first convolution
    ("conv1" in a ResNet, "features.0" in VGG); ValueError when it has none."""
    for name, module in model.named_modules():
        weight = getattr(module, "weight", None)
        if weight is not None and np.ndim(weight) == 4:
            return name, module
    raise ValueError(f"{type(model).__name__} has no convolution (no layer with a 4-D weight): pass a Conv2d layer "
                     "or a weight array (out_channels, in_channels, kH, kW)")


def plot_filters(weight_or_layer: Any, path: str | os.PathLike[str], *, channel: int | None = None,
                 columns: int | None = None, title: str | None = None, size: tuple[int, int] = (800, 800),
                 dpi: int = 100) -> Path:
    """Draws the filters of a convolution — a Conv2d, a whole model (its first convolution, named in the title)
    or a weight array (out_channels, in_channels, kH, kW) — as a grid, and writes it to `path` as a PNG of
    `size` pixels.

    First layers (3 input channels) show in colour: what each filter responds to in the RGB picture (AlexNet's
    96 11×11 filters are the classic sight: edges, stripes, colour blobs). Deeper filters show in red (positive)
    and blue (negative), averaged over the input channels or for input channel `channel`.
    """
    layer_name = ""
    if isinstance(weight_or_layer, Module):
        layer_name, layer = first_convolution(weight_or_layer)
        weight = layer.weight
    else:
        weight = weight_or_layer
    images = filter_images(weight, channel)
    figure = new_figure(size, dpi)
    axes = figure.add_subplot()
    axes.set_axis_off()
    if images.ndim == 4:
        axes.imshow(tile(images, columns, fill=1.0, aspect=size[0] / size[1]), interpolation="nearest")
    else:
        grid = tile(images, columns, aspect=size[0] / size[1])
        axes.imshow(grid, cmap=colormap("RdBu_r"), vmin=-1, vmax=1, interpolation="nearest")
    shape = "x".join(str(d) for d in np.shape(weight))
    which = "RGB" if images.ndim == 4 else ("mean over input channels" if channel is None else f"input {channel}")
    where = f"{layer_name}: " if layer_name else ""
    axes.set_title(title or f"{where}{len(images)} filters ({shape}), {which}")
    figure.tight_layout()
    return save_png(figure, path)
