"""The errors pycnn.onnx raises: a file it cannot read, and a graph it will not run."""

from __future__ import annotations

from ..io import WeightsFileError


class OnnxFileError(WeightsFileError):
    """An .onnx file is truncated, corrupted, hostile, or points to data outside its own folder."""


class UnsupportedOnnxError(ValueError):
    """A graph holds an operator, attribute or input that pycnn does not run."""
