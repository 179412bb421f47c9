"""AlexNet: torchvision's single-tower variant, and the original two-GPU network of Krizhevsky et al. (2012)."""

from __future__ import annotations

import functools
from typing import Any

from .. import nn
from ._weights import Weights, load_weights


class AlexNet(nn.Module):
    takes_images = True

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.flatten = nn.Flatten(1)
        self.classifier = _classifier(256 * 6 * 6, num_classes, dropout)

    def forward(self, x: Any) -> Any:
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


class AlexNetOriginal(nn.Module):
    """The network of "ImageNet Classification with Deep Convolutional Neural Networks" (2012).

    96-256-384-384-256 filters; conv2, conv4 and conv5 split in two groups (the two GPUs); cross-channel LRN
    (size 5, k=2, alpha=1e-4, beta=0.75 — Caffe's and PyTorch's alpha/size convention) after the ReLUs of
    the first two layers. Takes 224×224 input (conv1 padded by 2, giving the paper's 55×55 maps).
    """

    takes_images = True

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0), nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2), nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0), nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.flatten = nn.Flatten(1)
        self.classifier = _classifier(256 * 6 * 6, num_classes, dropout)

    def forward(self, x: Any) -> Any:
        return self.classifier(self.flatten(self.features(x)))


def _classifier(in_features: int, num_classes: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Dropout(p=dropout), nn.Linear(in_features, 4096), nn.ReLU(inplace=True),
        nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
        nn.Linear(4096, num_classes),
    )


def alexnet(*, weights: Weights = None, progress: bool = True, **kwargs: Any) -> AlexNet:
    """torchvision's AlexNet. `weights`: a checkpoint file (e.g. torchvision's alexnet-owt-7be5be79.pth) or a
    state dict; pycnn downloads nothing. `progress` is accepted for compatibility."""
    return load_weights(functools.partial(AlexNet, **kwargs), weights)


def alexnet_original(*, weights: Weights = None, **kwargs: Any) -> AlexNetOriginal:
    """The original two-GPU AlexNet (Krizhevsky, Sutskever and Hinton, 2012)."""
    return load_weights(functools.partial(AlexNetOriginal, **kwargs), weights)
