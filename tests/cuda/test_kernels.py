"""pycnn._cuda's kernels called directly: the convolution's fused store, and the checks of their arguments.

Tolerances as for every op (reference.OP_RTOL).
"""

from __future__ import annotations

import numpy as np
import pytest

import pycnn

from conftest import assert_close
from reference import OP_RTOL, needs_cuda_device, normal, torch_conv2d

pytestmark = pytest.mark.cuda


@needs_cuda_device
@pytest.mark.parametrize("precision", pycnn.cuda.PRECISIONS)
@pytest.mark.parametrize(("relu", "residual"), [(False, False), (True, False), (False, True), (True, True)])
def test_fused_bias_residual_relu(precision: str, relu: bool, residual: bool) -> None:
    """The convolution's store: y = relu(conv + bias + residual), with packed weights as a model plan uses them."""
    cuda = pycnn.cuda._runtime.require("test")
    rng = np.random.default_rng(3)
    x, w, b = normal(rng, (2, 70, 16, 12)), normal(rng, (130, 70, 3, 3)), normal(rng, (130,))  # 128x128 tiles
    res = normal(rng, (2, 130, 16, 12))
    want = torch_conv2d(x, w, b, padding=1) + (res if residual else 0)
    want = np.maximum(want, 0) if relu else want
    out = cuda.empty(want.shape)
    cuda.conv2d_packed(cuda.to_device(x), cuda.PackedConv2d(w, 1, precision), cuda.to_device(b), out, (1, 1),
                       (1, 1, 1, 1), (1, 1), relu, cuda.to_device(res) if residual else None)
    assert_close(out.numpy(), want, OP_RTOL[precision])


@needs_cuda_device
def test_kernels_check_shapes() -> None:
    cuda = pycnn.cuda._runtime.require("test")
    x, out = cuda.empty((1, 3, 5, 5)), cuda.empty((1, 2, 3, 4))
    with pytest.raises(ValueError, match=r"out has shape \(1, 2, 3, 4\), expected \(1, 2, 3, 3\)"):
        cuda.conv2d(x, cuda.empty((2, 3, 3, 3)), None, out, (1, 1), (0, 0, 0, 0), (1, 1), 1, "fp32")
    with pytest.raises(ValueError, match="precision must be 'fp32', 'tf32' or 'bf16', got 'fp8'"):
        cuda.PackedConv2d(np.zeros((2, 3, 3, 3), np.float32), 1, "fp8")
    with pytest.raises(ValueError, match="the inputs have 3 channels in all, out has 4"):
        cuda.concat([cuda.empty((1, 1, 4)), cuda.empty((1, 2, 4))], cuda.empty((1, 4, 4)))
