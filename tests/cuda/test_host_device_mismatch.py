"""Host and device arrays mixed in one call: a TypeError that names the arguments on each side."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import pycnn
import pycnn.functional as F
from pycnn import nn

from reference import needs_cuda_device

pytestmark = pytest.mark.cuda


class ForeignCudaArray:
    """A device array as torch or CuPy present one (never dereferenced by these tests)."""

    def __init__(self, shape: tuple[int, ...]):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": "<f4", "data": (1 << 40, False), "version": 3}


@pytest.mark.parametrize(("call", "message"), [
    (lambda: F.conv2d(ForeignCudaArray((1, 3, 5, 5)), np.ones((2, 3, 3, 3))),
     "conv2d: input on the CUDA device but weight on the host"),
    (lambda: F.conv2d(np.ones((1, 3, 5, 5)), ForeignCudaArray((2, 3, 3, 3)), np.ones(2)),
     "conv2d: weight on the CUDA device but input, bias on the host"),
    (lambda: F.linear(np.ones((2, 3)), np.ones((4, 3)), ForeignCudaArray((4,))),
     "linear: bias on the CUDA device but input, weight on the host"),
    (lambda: F.batch_norm(ForeignCudaArray((1, 2, 3)), np.zeros(2), np.ones(2)),
     "batch_norm: input on the CUDA device but running_mean, running_var on the host"),
])
def test_mixing_host_and_device_arrays_is_a_type_error(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call()


@needs_cuda_device
def test_host_device_mismatches_on_models() -> None:
    model = pycnn.models.resnet18()
    with pytest.raises(TypeError, match="ResNet is on the CPU, but its input is a CUDA array"):
        model(pycnn.cuda.to_device(np.zeros((1, 3, 32, 32), np.float32)))
    model.to("cuda")
    with pytest.raises(ValueError, match="input of shape"):
        model(np.zeros((1, 4, 32, 32), np.float32))
    with pytest.raises(RuntimeError, match="ResNet is on CUDA"), nn.eager():
        model(np.zeros((1, 3, 32, 32), np.float32))
