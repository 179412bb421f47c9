"""The elementwise ops at the values where float32 arithmetic is delicate (signed zeros, overflow, infinities):
torch's results, bit for bit where torch's are exact, and no numpy warning on the way; and, on a device without
a kernel for them, a TypeError that says what to do."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pycnn.functional as F
from pycnn.backends import Backend

from reference import on_device


def no_warnings(fn: Callable[[np.ndarray], Any], x: np.ndarray) -> np.ndarray:
    """fn(x), any warning raised as an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return np.asarray(fn(x))


@pytest.mark.parametrize("slope", [0.01, 0.0, -0.5, 2.0])
def test_leaky_relu_signed_zeros_and_infinities_as_torch(slope: float) -> None:
    x = np.array([0.0, -0.0, -3.0, 3.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45], np.float32)
    expected = TF.leaky_relu(torch.from_numpy(x.copy()), slope).numpy()
    actual = no_warnings(lambda a: F.leaky_relu(a, slope), x)
    np.testing.assert_array_equal(actual, expected)
    np.testing.assert_array_equal(np.signbit(actual), np.signbit(expected))  # -0.0 where torch gives -0.0


def test_sigmoid_far_tails_saturate_without_a_warning() -> None:
    x = np.array([-1e4, -100.0, -89.0, -88.0, -20.0, 0.0, 20.0, 89.0, 100.0, 1e4, -np.inf, np.inf], np.float32)
    expected = torch.sigmoid(torch.from_numpy(x.copy())).numpy()
    actual = no_warnings(F.sigmoid, x)
    np.testing.assert_allclose(actual, expected, rtol=2e-6, atol=1e-38)
    assert actual[0] == 0.0 and actual[-3] == 1.0 and actual[-2] == 0.0 and actual[-1] == 1.0


@pytest.mark.parametrize(("row", "expected"), [
    ([3.0e38, 3.0e38, -3.0e38], [-np.log(2.0), -np.log(2.0), -np.inf]),  # x − max overflows to -inf
    ([-np.inf, 1.0, 2.0], None),
    ([np.inf, 1.0, 2.0], None),  # inf − inf: NaN, as torch
    ([-np.inf, -np.inf, -np.inf], None),
    ([np.nan, 1.0, 2.0], None),
])
def test_log_softmax_of_extreme_rows_as_torch_without_a_warning(row: list[float], expected: list[float] | None) -> None:
    x = np.array([row], np.float32)
    reference = TF.log_softmax(torch.from_numpy(x.copy()), 1).numpy()
    if expected is not None:
        np.testing.assert_allclose(reference[0], expected, rtol=1e-6)
    actual = no_warnings(lambda a: F.log_softmax(a, 1), x)
    np.testing.assert_allclose(actual, reference, rtol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(reference))


HOST_ONLY_OPS = [
    ("sigmoid", lambda x: F.sigmoid(x), lambda x: torch.sigmoid(x)),
    ("tanh", lambda x: F.tanh(x), lambda x: torch.tanh(x)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1)),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 0.5), lambda x: TF.hardtanh(x, -0.5, 0.5)),
    ("log_softmax", lambda x: F.log_softmax(x, 1), lambda x: TF.log_softmax(x, 1)),
    ("pad", lambda x: F.pad(x, (1, 2)), lambda x: TF.pad(x, (1, 2))),
    ("max_pool2d with return_indices=True", lambda x: F.max_pool2d(x, 2, return_indices=True)[0],
     lambda x: TF.max_pool2d(x, 2)),
]


@pytest.mark.parametrize(("name", "ours", "theirs"), HOST_ONLY_OPS, ids=[op[0] for op in HOST_ONLY_OPS])
def test_ops_without_a_device_kernel_run_on_the_host_only(device: str, name: str, ours: Callable[[Any], Any],
                                                          theirs: Callable[[Any], Any]) -> None:
    x = np.linspace(-3, 3, 2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    if device == "cpu":
        np.testing.assert_allclose(ours(x), theirs(torch.from_numpy(x)).numpy(), rtol=1e-6, atol=1e-7)
        return
    message = (f"{name}: pycnn has no CUDA kernel for it; move the arrays to the host first (tensor.cpu(), "
               "array.numpy())")
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        on_device(device, ours, x)


class DeviceWithoutElementwiseKernels(Backend):
    """A device whose backend keeps Backend's defaults for the ops a device may lack."""

    label = "Lacking"


LACKING = {
    "sigmoid": lambda device: device.sigmoid(None, None),
    "tanh": lambda device: device.tanh(None, None),
    "leaky_relu": lambda device: device.leaky_relu(None, None, 0.1),
    "hardtanh": lambda device: device.hardtanh(None, None, -1.0, 1.0),
    "log_softmax": lambda device: device.log_softmax(None, None),
    "pad": lambda device: device.pad(None, None, ((1, 1),), "constant", 0.0),
    "max_pool2d with return_indices=True": lambda device: device.max_pool2d_with_indices(None, None, None, None),
}


@pytest.mark.parametrize("name", LACKING)
def test_a_device_without_the_kernel_names_the_op_and_the_way_to_the_host(name: str) -> None:
    message = (f"{name}: pycnn has no Lacking kernel for it; move the arrays to the host first (tensor.cpu(), "
               "array.numpy())")
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        LACKING[name](DeviceWithoutElementwiseKernels())
