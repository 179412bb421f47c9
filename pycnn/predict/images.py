"""Image files to classify: listing them, and decoding one into a network's input as torchvision prepares it.

ImageNet preprocessing is torchvision's for its classic weights on PIL images: the shorter side resized to
`resize` (bilinear, Pillow's own antialiasing), the centre `crop` × `crop` cut out, channels scaled to [0, 1] and
normalised by ImageNet's mean and standard deviation.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The extensions a folder's images have (torchvision's ImageFolder's list); files named one by one, by a glob or
# in a list file are taken whatever their name, and reported if they are not images.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


class InputsError(ValueError):
    """Inputs that name nothing to classify: the message names the input and what was expected."""


@dataclass(frozen=True)
class Preprocessing:
    resize: int = 256
    crop: int = 224

    def __post_init__(self) -> None:
        if not 0 < self.crop <= self.resize:
            raise ValueError(f"crop {self.crop} and resize {self.resize}: need 0 < crop <= resize")

    def load(self, path: str) -> np.ndarray:
        """The file's image as a (3, crop, crop) float32 array; OSError or ValueError if it is not an image."""
        from PIL import Image  # Pillow: the `predict` extra

        with Image.open(path) as image:
            image = image.convert("RGB")
            width, height = image.size
            short, long = sorted((width, height))
            new_short, new_long = self.resize, int(self.resize * long / short)
            size = (new_short, new_long) if width <= height else (new_long, new_short)
            image = image.resize(size, Image.Resampling.BILINEAR)
            top = round((size[1] - self.crop) / 2)
            left = round((size[0] - self.crop) / 2)
            image = image.crop((left, top, left + self.crop, top + self.crop))
            pixels = np.asarray(image, dtype=np.float32) / 255.0
        return np.ascontiguousarray(((pixels - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1))


def list_images(sources: list[str]) -> list[str]:
    """The files that `sources` name, in order, each once: a folder gives its images (by extension, sorted, not
    recursive), a glob pattern its matches (sorted), a .txt/.lst file the paths on its lines (relative ones from
    its folder); any other path is a file to classify."""
    paths: list[str] = []
    for source in sources:
        if os.path.isdir(source):
            paths += sorted(str(p) for p in Path(source).iterdir()
                            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        elif glob.has_magic(source):
            matches = sorted(p for p in glob.glob(source, recursive=True) if os.path.isfile(p))
            if not matches:
                raise InputsError(f"{source}: the pattern matches no file")
            paths += matches
        elif source.lower().endswith((".txt", ".lst")):
            paths += _listed(Path(source))
        elif os.path.exists(source) or os.path.islink(source):
            paths.append(source)
        else:
            raise InputsError(f"{source}: no such file, folder or pattern")
    return list(dict.fromkeys(paths))


def _listed(list_file: Path) -> list[str]:
    try:
        lines = list_file.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputsError(f"{list_file}: cannot read the list of files ({error})") from None
    folder = list_file.parent
    return [str(folder / line.strip()) if not os.path.isabs(line.strip()) else line.strip()
            for line in lines if line.strip() and not line.lstrip().startswith("#")]


# torchvision's preprocessing of its classic ImageNet weights.
IMAGENET = Preprocessing()
