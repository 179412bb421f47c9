"""Which device runs what: the device names Module.to takes, and the arrays of one call on different devices.

These need no CUDA device: a bad name is refused before CUDA is asked for, and a device array is recognised by its
__cuda_array_interface__ without being read."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import pycnn
import pycnn.functional as F
from pycnn import nn

MOVE_HINT = "(pycnn.cuda.to_device(array), tensor.cuda(); or .numpy() back)"


class ForeignCudaArray:
    """A device array as torch or CuPy present one (never dereferenced by these tests)."""

    def __init__(self, shape: tuple[int, ...]):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": "<f4", "data": (1 << 40, False), "version": 3}


@pytest.mark.parametrize("device", ["cpu", "cpu:0", torch.device("cpu"), torch.device("cpu", 0)], ids=str)
def test_the_host_takes_its_names_with_index_0(device: Any) -> None:
    model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.ReLU())
    assert model.to(device) is model
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4), dtype=np.float32)
    expected = F.relu(F.conv2d(x, model[0].weight, model[0].bias))
    np.testing.assert_array_equal(model(x), expected)


@pytest.mark.parametrize(("device", "message"), [
    ("tpu", "device must be 'cpu' or 'cuda', got 'tpu'"),
    (torch.device("meta"), "device must be 'cpu' or 'cuda', got device(type='meta')"),
    ("cpu:1", "device 'cpu:1': pycnn runs on one device of each kind, index 0"),
    ("cuda:1", "device 'cuda:1': pycnn runs on one GPU, cuda:0 (choose it with CUDA_VISIBLE_DEVICES)"),
], ids=str)
def test_device_names_pycnn_cannot_run_on_are_refused(device: Any, message: str) -> None:
    model = nn.ReLU()
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        model.to(device)
    x = np.array([[-1.0, 2.0]], np.float32)
    np.testing.assert_array_equal(model(x), [[0.0, 2.0]])  # still on the host


@pytest.mark.parametrize(("call", "message"), [
    (lambda: F.conv2d(ForeignCudaArray((1, 3, 5, 5)), np.ones((2, 3, 3, 3))),
     "conv2d: input on the CUDA device but weight on the host"),
    (lambda: F.conv2d(np.ones((1, 3, 5, 5)), ForeignCudaArray((2, 3, 3, 3)), np.ones(2)),
     "conv2d: weight on the CUDA device but input, bias on the host"),
    (lambda: F.conv2d(ForeignCudaArray((1, 3, 5, 5)), ForeignCudaArray((2, 3, 3, 3)), np.ones(2)),
     "conv2d: input, weight on the CUDA device but bias on the host"),
    (lambda: F.linear(np.ones((2, 3)), np.ones((4, 3)), ForeignCudaArray((4,))),
     "linear: bias on the CUDA device but input, weight on the host"),
    (lambda: F.batch_norm(ForeignCudaArray((1, 2, 3)), np.zeros(2), np.ones(2), bias=None, weight=np.ones(2)),
     "batch_norm: input on the CUDA device but running_mean, running_var, weight on the host"),
])
def test_host_and_device_arrays_in_one_call_are_a_type_error(call: Callable[[], Any], message: str) -> None:
    whole = f"{message}: pass all arrays from one side {MOVE_HINT}"
    with pytest.raises(TypeError, match=f"^{re.escape(whole)}$"):
        call()


@pytest.mark.skipif(pycnn.cuda.is_available(), reason="CUDA runs here")
def test_device_arrays_alone_ask_for_cuda_naming_the_op() -> None:
    with pytest.raises(pycnn.cuda.CudaUnavailableError, match=r"^conv2d: this pycnn "):
        F.conv2d(ForeignCudaArray((1, 3, 5, 5)), ForeignCudaArray((2, 3, 3, 3)))
    with pytest.raises(pycnn.cuda.CudaUnavailableError, match=r"^relu: this pycnn "):
        F.relu(ForeignCudaArray((2, 3)))


def test_none_arrays_take_no_side() -> None:
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(F.linear(x, np.eye(3, dtype=np.float32), None), x)
    with pytest.raises(TypeError, match=r"^relu: input must hold real numbers, got dtype object \(shape \(\)\)$"):
        F.relu(None)  # no array at all: the host says what is wrong with it
