"""A small PyTorch-like layer API on numpy arrays (inference only).

Containers (Sequential, the models) compile themselves on their first call into an inference plan: BatchNorm
folded into the convolution before it, bias/ReLU/residual add fused into the convolution's store, weights
packed once, activation buffers reused. ``with pycnn.nn.eager():`` runs layer by layer instead.
"""

from ..backends import Op
from .layers import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Layer,
    Linear,
    LocalResponseNorm,
    MaxPool2d,
    ReLU,
    Sequential,
    Softmax,
)
from .module import IncompatibleKeys, Module, StateDictError
from .trace import cat, eager

__all__ = ["Module", "Layer", "Sequential", "Conv2d", "ReLU", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
           "Linear", "LocalResponseNorm", "BatchNorm2d", "Dropout", "Flatten", "Softmax", "cat", "eager",
           "IncompatibleKeys", "StateDictError", "Op"]
