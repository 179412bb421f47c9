"""GoogLeNet (Inception v1), torchvision's layout and parameter names.

As in torchvision, the 'ch5x5' branch uses a 3×3 convolution, and the auxiliary classifiers exist for weight
compatibility but only run in training, which pycnn does not do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from ..shapes import channels_shape
from ._init import truncated_normal
from ._weights import Weights, read_state


class BasicConv2d(nn.Module):
    relu = nn.ReLU(inplace=True)  # shared and unregistered: torchvision applies F.relu here

    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: Any) -> Any:
        return self.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x: Any) -> Any:
        return nn.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)


class InputTransform(nn.Layer):
    """Re-normalises ImageNet-normalised input the way the original GoogLeNet weights expect (per channel)."""

    scale = np.array([0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5], np.float32)
    shift = np.array([(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5], np.float32)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 4 or input_shape[1] != 3:
            raise ValueError(f"GoogLeNet with transform_input needs (N, 3, H, W) input, got shape {input_shape}")
        return input_shape

    def op(self, input_shape: tuple[int, ...]) -> nn.Op:
        return nn.Op("channel_affine", (self.scale, self.shift), view=channels_shape(input_shape))


class GoogLeNet(nn.Module):
    takes_images = True

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True, transform_input: bool = False,
                 init_weights: bool | None = None, dropout: float = 0.2, dropout_aux: float = 0.7) -> None:
        super().__init__()
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.aux1 = InceptionAux(512, num_classes, dropout=dropout_aux) if aux_logits else None
        self.aux2 = InceptionAux(528, num_classes, dropout=dropout_aux) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten(1)
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)
        if init_weights is None or init_weights:  # None: torchvision's current default, initialised
            truncated_normal(self, std=0.01)

    input_transform = InputTransform()  # unregistered: torchvision does this in forward

    def forward(self, x: Any) -> Any:
        if self.transform_input:
            x = self.input_transform(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4c(self.inception4b(self.inception4a(x)))
        x = self.maxpool4(self.inception4e(self.inception4d(x)))
        x = self.inception5b(self.inception5a(x))
        return self.fc(self.dropout(self.flatten(self.avgpool(x))))


def googlenet(*, weights: Weights = None, progress: bool = True, **kwargs: Any) -> GoogLeNet:
    """torchvision's GoogLeNet. With `weights` (a checkpoint file or state dict), as torchvision does:
    transform_input defaults to True, and the auxiliary classifiers are dropped after loading unless
    aux_logits=True is passed (a checkpoint saved without them loads too)."""
    state = read_state(weights)
    if state is None:
        return GoogLeNet(**kwargs)
    keep_aux = kwargs.pop("aux_logits", False)
    kwargs.setdefault("transform_input", True)
    kwargs["init_weights"] = False
    has_aux = any(k.startswith(("aux1.", "aux2.")) for k in state)
    model = GoogLeNet(aux_logits=has_aux, **kwargs)
    model.load_state_dict(state)
    if not keep_aux:
        model.aux_logits, model.aux1, model.aux2 = False, None, None
    return model
