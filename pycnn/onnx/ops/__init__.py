"""The ONNX operators pycnn runs, by op type (registry.OPS), one file per family."""

from . import activations, arithmetic, convolution, linear, normalization, pooling, tensors  # noqa: F401 (register)
from .registry import OPS, Arrays, Attrs, Context, Generic, OpSpec, Runner, ShapeOnly

__all__ = ["OPS", "Arrays", "Attrs", "Context", "Generic", "OpSpec", "Runner", "ShapeOnly"]
