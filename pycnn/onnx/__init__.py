"""Classic CNNs from ONNX files: ``pycnn.onnx.load(path_or_bytes)`` gives a pycnn.nn.Module.

    model = pycnn.onnx.load("resnet50.onnx")
    logits = model(images)        # (N, 3, 224, 224) float32 → (N, 1000), through the same fused plan

Opsets 1 to 21 of the operators the classic networks use (Conv, the pools, LRN, BatchNormalization, Gemm, the
activations, Concat, the reshapes, Pad and the shape arithmetic feeding Reshape), with their legacy attribute
forms. Parsing is the onnx package's (``pip install 'pycnn[onnx]'``); this module imports without it.
A graph pycnn cannot run raises UnsupportedOnnxError naming the node, its op type and opset; a file it cannot
read raises OnnxFileError (a pycnn.io.WeightsFileError).
"""

from __future__ import annotations

from .errors import OnnxFileError, UnsupportedOnnxError
from .model import OnnxModel
from .reading import Source, read


def load(source: Source) -> OnnxModel:
    """The network of an .onnx file (a path, or the file's bytes) as a pycnn.nn.Module."""
    return OnnxModel(read(source))


__all__ = ["load", "OnnxModel", "OnnxFileError", "UnsupportedOnnxError"]
