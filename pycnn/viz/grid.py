"""Many small images tiled into one: filters and activation maps side by side."""

from __future__ import annotations

import math

import numpy as np


def grid_shape(count: int, columns: int | None = None, tile_aspect: float = 1.0,
               aspect: float = 1.0) -> tuple[int, int]:
    """(rows, columns) for `count` tiles of width/height `tile_aspect`: `columns` if given, else the number of
    columns that brings the whole grid's width/height closest to `aspect` (that of the figure it fills)."""
    if count < 1:
        raise ValueError(f"nothing to tile: {count} images")
    if columns is None:
        def mismatch(c: int) -> float:
            return abs(math.log(c * tile_aspect / math.ceil(count / c) / aspect))

        columns = min(range(1, count + 1), key=mismatch)
    if columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}")
    return math.ceil(count / columns), columns


def tile(images: np.ndarray, columns: int | None = None, pad: int = 1, fill: float = np.nan,
         aspect: float = 1.0) -> np.ndarray:
    """Images (N, h, w) or (N, h, w, 3) laid out row by row: (R·(h+pad)-pad, C·(w+pad)-pad[, 3]).

    `columns` C by default fits the grid to the width/height `aspect`. The gaps and the unused cells of the
    last row hold `fill` (NaN is drawn in a colour map's "bad" colour).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
        raise ValueError(f"images must be (N, h, w) or (N, h, w, 3), got shape {images.shape}")
    h, w = images.shape[1:3]
    rows, columns = grid_shape(len(images), columns, (w + pad) / (h + pad), aspect)
    out = np.full((rows * (h + pad) - pad, columns * (w + pad) - pad, *images.shape[3:]), fill, np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = image
    return out
