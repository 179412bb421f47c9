"""The classic "accuracy vs operations" chart of CNN architectures, with pycnn's latency on this machine."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import _zoo
from ..summary import summary
from ._figure import new_figure, save_png
from .imagenet_accuracy import SOURCE, TOP1_PERCENT

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class ComplexityPoint:
    model: str
    gmacs: float  # multiply-accumulates of one 224×224 image, in billions
    params: int
    top1_percent: float
    latency_ms: float | None  # pycnn, batch 1, this machine; None when not measured


def complexity_points(models: Iterable[str] | None = None, measure_latency: bool = True, repeat: int = 3,
                      on_model: Callable[[str], None] | None = None) -> list[ComplexityPoint]:
    """For each model (default: every one torchvision has pretrained weights for): G-MACs and parameters from
    pycnn.summary, the documented top-1, and — when `measure_latency` — pycnn's median batch-1 latency over
    `repeat` runs on random weights. `on_model(name)` is called before each model (progress)."""
    from ..bench.latency import pycnn_latency_ms

    names = list(TOP1_PERCENT) if models is None else list(models)
    points = []
    for name in names:
        _zoo.check_model_name(name)
        if name not in TOP1_PERCENT:
            raise ValueError(f"{name} has no documented ImageNet accuracy; charted models: {', '.join(TOP1_PERCENT)}")
        if on_model is not None:
            on_model(name)
        model = _zoo.build_model(name)
        shape = _zoo.input_shape_for(name)
        counts = summary(model, shape)
        latency = None
        if measure_latency:
            x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
            latency = pycnn_latency_ms(model, x, repeat)
        points.append(ComplexityPoint(name, counts.macs / 1e9, counts.params, TOP1_PERCENT[name], latency))
        del model
    return points


_FAMILY_COLOURS = {"alexnet": "tab:red", "vgg": "tab:blue", "googlenet": "tab:green", "resnet": "tab:purple"}


def _area(params: float, largest_params: int) -> float:
    """Bubble area in points², proportional to the parameters."""
    return 2000 * params / largest_params


# Parameter counts that the key's reference bubbles show, those up to the largest model's.
KEY_PARAMS = (10e6, 50e6, 100e6)


def key_params(largest_params: int) -> list[float]:
    """The reference bubbles of the size key: KEY_PARAMS up to `largest_params`, else the largest itself."""
    return [p for p in KEY_PARAMS if p <= largest_params] or [float(largest_params)]


def _crowded_from_above(point: ComplexityPoint, points: Sequence[ComplexityPoint]) -> bool:
    """Whether a more accurate model sits just above `point` (VGG-16 below VGG-16-BN): label it underneath."""
    return any(abs(math.log10(q.gmacs / point.gmacs)) < 0.1 and 0 < q.top1_percent - point.top1_percent < 2.5
               for q in points if q is not point)


def _family(model: str) -> str:
    return next(f for f in _FAMILY_COLOURS if model.startswith(f))


def plot_complexity(points: Sequence[ComplexityPoint], path: str | os.PathLike[str], *, note: str = "",
                    size: tuple[int, int] = (1200, 800), dpi: int = 100) -> Path:
    """Draws top-1 accuracy (y) against G-MACs (x, log scale), bubble area ∝ parameters, each bubble labelled
    with its model and measured latency; writes a PNG of `size` pixels. `note` is added under the source."""
    return save_png(complexity_figure(points, note=note, size=size, dpi=dpi), path)


def complexity_figure(points: Sequence[ComplexityPoint], *, note: str = "", size: tuple[int, int] = (1200, 800),
                      dpi: int = 100) -> Figure:
    """The figure plot_complexity writes: the bubbles, a key of the families and a key of bubble sizes."""
    if not points:
        raise ValueError("no models to chart")
    figure = new_figure(size, dpi)
    from matplotlib.ticker import FuncFormatter

    axes = figure.add_subplot()
    largest = max(p.params for p in points)
    for family, colour in _FAMILY_COLOURS.items():
        members = [p for p in points if _family(p.model) == family]
        if members:
            axes.scatter([p.gmacs for p in members], [p.top1_percent for p in members],
                         s=[_area(p.params, largest) for p in members], color=colour, alpha=0.45,
                         edgecolors=colour, label=family)
    for p in points:
        label = p.model if p.latency_ms is None else f"{p.model}, {p.latency_ms:.0f} ms"
        radius = math.sqrt(_area(p.params, largest) / math.pi)  # points
        below = _crowded_from_above(p, points)
        axes.annotate(label, (p.gmacs, p.top1_percent), xytext=(0, -radius - 2 if below else radius + 2),
                      textcoords="offset points", ha="center", va="top" if below else "bottom", fontsize=8)
    axes.set_xscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    axes.xaxis.set_major_formatter(plain)
    axes.xaxis.set_minor_formatter(plain)
    axes.set_xlabel("G-MACs per 224×224 image (log scale)")
    axes.set_ylabel("ImageNet top-1 accuracy (%)")
    axes.set_title("Accuracy vs operations of the classic CNNs (bubble area ∝ parameters)")
    axes.grid(True, which="both", alpha=0.3)
    axes.margins(0.12)
    families = axes.legend(loc="lower right", markerscale=0.4, title="family")
    axes.add_artist(families)
    sizes = [axes.scatter([], [], s=_area(params, largest), color="gray", alpha=0.35, edgecolors="gray",
                          label=f"{params / 1e6:.0f} M params") for params in key_params(largest)]
    key = axes.legend(handles=sizes, loc="upper left", title="bubble area: parameters", labelspacing=2.2,
                      borderpad=1.5, handlelength=3, handletextpad=1.5, fontsize=8)
    key.get_title().set_fontsize(8)
    figure.text(0.01, 0.01, f"top-1: {SOURCE}" + (f"\n{note}" if note else ""), fontsize=7, va="bottom")
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    return figure
