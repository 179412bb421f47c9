"""The ONNX operators pycnn runs, by op type (registry.OPS), one file per family."""

from . import activations, arithmetic, convolution, linear, normalization, pooling, tensors  # noqa: F401 (register)
from .registry import MAX_FOLDED_ELEMENTS, OPS, Arrays, Attrs, Compute, Context, Generic, OpSpec, Runner, ShapeOnly

__all__ = ["MAX_FOLDED_ELEMENTS", "OPS", "Arrays", "Attrs", "Compute", "Context", "Generic", "OpSpec", "Runner",
           "ShapeOnly"]
