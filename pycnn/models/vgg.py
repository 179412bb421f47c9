"""VGG 11/13/16/19, with and without batch normalisation (torchvision's layout and parameter names)."""

from __future__ import annotations

from typing import Any

from .. import nn
from ._init import kaiming_fan_out
from ._weights import Weights, load_weights

# Channels of each 3×3 convolution; "M" is a 2×2 max-pool.
CONFIGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    takes_images = True

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.flatten = nn.Flatten(1)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            kaiming_fan_out(self, linear_std=0.01)

    def forward(self, x: Any) -> Any:
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


def make_layers(config: list[int | str], batch_norm: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 3
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(channels, int(v), kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(int(v)))
        layers.append(nn.ReLU(inplace=True))
        channels = int(v)
    return nn.Sequential(*layers)


def _vgg(config: str, batch_norm: bool, weights: Weights, **kwargs: Any) -> VGG:
    if weights is not None:
        kwargs.setdefault("init_weights", False)
    return load_weights(lambda: VGG(make_layers(CONFIGS[config], batch_norm), **kwargs), weights)


def vgg11(*, weights: Weights = None, progress: bool = True, **kwargs: Any) -> VGG:
    return _vgg("A", False, weights, **kwargs)


def vgg11_bn(*, weights: Weights = None, progress: bool = True, **kwargs: Any) -> VGG:
    return _vgg("A", True, weights, **kwargs)


def vgg13(*, weights: Weights = None, progress: bool = True, **kwargs: Any) -> VGG:
    return _vgg("B", False, weights, **kwargs)


def vgg13_bn(*, weights: Weights = None, progress: bool = True, **kwargs: Any) -> VGG:
    return _vgg("B", True, weights, **kwargs)


def vgg16(*, weights: Weights = None, progress: bool = True, **kwargs: Any) -> VGG:
    return _vgg("D", False, weights, **kwargs)


def vgg16_bn(*, weights: Weights = None, progress: bool = True, **kwargs: Any) -> VGG:
    return _vgg("D", True, weights, **kwargs)


def vgg19(*, weights: Weights = None, progress: bool = True, **kwargs: Any) -> VGG:
    return _vgg("E", False, weights, **kwargs)


def vgg19_bn(*, weights: Weights = None, progress: bool = True, **kwargs: Any) -> VGG:
    return _vgg("E", True, weights, **kwargs)
