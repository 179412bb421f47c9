"""Pictures as network input: an RGB photograph as the normalised batch torchvision's ImageNet models expect."""

from __future__ import annotations

from typing import Any

import numpy as np

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # per RGB channel, of ImageNet's training images
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
# A float picture is in 0..1; above this, it holds 0..255 pixel values (a little above 1 is resampling overshoot).
FLOAT_PICTURE_MAX = 1.5


def imagenet_input(image: Any) -> np.ndarray:
    """An RGB picture (H, W, 3) — uint8 in 0..255 or floats in 0..1 — as a (1, 3, H, W) float32 batch,
    normalised with ImageNet's mean and standard deviation. No resizing: the classic models take any size from
    about 63×63 up (their adaptive average pool fixes the classifier's input).

    ValueError for floats above 1.5: 0..255 values, which would come out near 1000 instead of near 0.
    """
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"image must be an RGB picture of shape (H, W, 3), got shape {array.shape}")
    if array.dtype != np.uint8 and array.size and float(np.nanmax(array)) > FLOAT_PICTURE_MAX:
        raise ValueError(f"image holds {array.dtype} values up to {float(np.nanmax(array)):g}: pixel values in "
                         "0..255, it seems, where floats must be in 0..1; pass image / 255, or the uint8 picture")
    scaled = array.astype(np.float32) / (255 if array.dtype == np.uint8 else 1)
    return np.ascontiguousarray(((scaled - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)[None])


def as_batch(image: Any) -> np.ndarray:
    """A picture (H, W, 3) through imagenet_input; a network input (C, H, W) or (N, C, H, W) as it is."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 3 and array.shape[0] != 3:
        return imagenet_input(array)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"image must be (H, W, 3), (C, H, W) or (N, C, H, W), got shape {array.shape}")
    return np.ascontiguousarray(array, dtype=np.float32)
