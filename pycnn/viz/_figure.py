"""matplotlib, imported only when a plot is drawn, and figures of an exact pixel size."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class VizUnavailable(ImportError):
    """matplotlib is not installed: pycnn's plots need the `viz` extra."""


def new_figure(size: tuple[int, int], dpi: int = 100) -> Figure:
    """A matplotlib Figure that saves to a PNG of exactly `size` = (width, height) pixels.

    Uses no pyplot state and no GUI backend, so it works headless and leaves an interactive session alone.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise VizUnavailable(f'pycnn\'s plots need matplotlib ({error}): pip install "pycnn[viz]"') from None
    width, height = size
    if width < 16 or height < 16:
        raise ValueError(f"size must be at least 16 x 16 pixels, got {size}")
    return Figure(figsize=(width / dpi, height / dpi), dpi=dpi)


def save_png(figure: Figure, path: str | os.PathLike[str]) -> Path:
    """Writes `figure` as PNG at its own size and dpi (no tight bounding box: the pixel size stays exact)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"pycnn writes PNG images: the path must end in .png, got {str(path)!r}")
    figure.savefig(path, dpi=figure.dpi, format="png")
    return path


def colormap(name: str) -> Any:
    """matplotlib's colour map `name`, drawing NaN (the gaps between tiles) in white."""
    from matplotlib import colormaps

    return colormaps[name].with_extremes(bad="white")
