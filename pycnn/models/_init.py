"""Random initialisation for models built without weights (torchvision's schemes, drawn with numpy)."""

from __future__ import annotations

import math

import numpy as np

from ..nn import BatchNorm2d, Conv2d, Linear, Module

_rng = np.random.default_rng()


def _normal(shape: tuple[int, ...], std: float) -> np.ndarray:
    values: np.ndarray = _rng.standard_normal(shape, dtype=np.float32) * np.float32(std)
    return values


def kaiming_fan_out(model: Module, linear_std: float | None = None) -> None:
    """Convs: N(0, 2/fan_out) (ReLU gain); BatchNorm: weight 1, bias 0; Linear: N(0, linear_std²) with zero
    bias when linear_std is given, else left at its default."""
    for m in model.modules():
        if isinstance(m, Conv2d):
            fan_out = m.out_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            m.weight = _normal(m.weight.shape, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                m.bias = np.zeros_like(m.bias)
        elif isinstance(m, BatchNorm2d):
            m.weight, m.bias = np.ones_like(m.weight), np.zeros_like(m.bias)
        elif isinstance(m, Linear) and linear_std is not None:
            m.weight = _normal(m.weight.shape, linear_std)
            if m.bias is not None:
                m.bias = np.zeros_like(m.bias)


def truncated_normal(model: Module, std: float = 0.01) -> None:
    """Convs and Linears: N(0, std²) truncated to ±2 (GoogLeNet); BatchNorm: weight 1, bias 0."""
    for m in model.modules():
        if isinstance(m, (Conv2d, Linear)):
            w = _rng.standard_normal(m.weight.shape)
            while np.any(bad := np.abs(w * std) > 2):
                w[bad] = _rng.standard_normal(int(bad.sum()))
            m.weight = (w * std).astype(np.float32)
        elif isinstance(m, BatchNorm2d):
            m.weight, m.bias = np.ones_like(m.weight), np.zeros_like(m.bias)
