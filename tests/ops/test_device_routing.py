"""Every op looks at where each of its arrays lives before it runs: arrays on two sides are refused, naming the op
and the arguments on each side, and device arrays where there is no CUDA device are refused naming the op. A
stand-in device shows what an op does with arrays numpy cannot read (batch_norm's statistics)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import pycnn
import pycnn.functional as F
from pycnn import backends


class FakeDeviceArray:
    """What a CUDA array looks like to pycnn (torch CUDA tensors and CuPy arrays have the same attribute)."""

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        return {}


GPU = FakeDeviceArray()
X, W = np.zeros((1, 3, 5, 5), np.float32), np.zeros((4, 3, 3, 3), np.float32)
ONES = np.ones(3, np.float32)

# call with one array on the device and the others on the host -> (op, arguments on the device, on the host)
MIXED: dict[str, tuple[Callable[[], Any], str, str, str]] = {
    "conv2d weight": (lambda: F.conv2d(X, GPU), "conv2d", "weight", "input"),
    "conv2d bias": (lambda: F.conv2d(X, W, GPU), "conv2d", "bias", "input, weight"),
    "conv2d input": (lambda: F.conv2d(GPU, W, ONES), "conv2d", "input", "weight, bias"),
    "linear weight": (lambda: F.linear(X, GPU), "linear", "weight", "input"),
    "linear bias": (lambda: F.linear(X, W, GPU), "linear", "bias", "input, weight"),
    "linear input": (lambda: F.linear(GPU, W, ONES), "linear", "input", "weight, bias"),
    "batch_norm input": (lambda: F.batch_norm(GPU, ONES, ONES, ONES, ONES), "batch_norm", "input",
                         "running_mean, running_var, weight, bias"),
    "batch_norm running_mean": (lambda: F.batch_norm(X, GPU, ONES), "batch_norm", "running_mean",
                                "input, running_var"),
    "batch_norm running_var": (lambda: F.batch_norm(X, ONES, GPU), "batch_norm", "running_var",
                               "input, running_mean"),
    "batch_norm weight": (lambda: F.batch_norm(X, ONES, ONES, GPU), "batch_norm", "weight",
                          "input, running_mean, running_var"),
    "batch_norm bias": (lambda: F.batch_norm(X, ONES, ONES, None, GPU), "batch_norm", "bias",
                        "input, running_mean, running_var"),
}


@pytest.mark.parametrize("name", MIXED)
def test_arrays_on_two_sides_are_refused_by_name(name: str) -> None:
    call, op, on_device, on_host = MIXED[name]
    message = f"{op}: {on_device} on the CUDA device but {on_host} on the host:"
    with pytest.raises(TypeError, match=f"^{re.escape(message)}"):
        call()


# each op with its one array on the device
ALONE: dict[str, Callable[[], Any]] = {
    "max_pool2d": lambda: F.max_pool2d(GPU, 2),
    "avg_pool2d": lambda: F.avg_pool2d(GPU, 2),
    "adaptive_avg_pool2d": lambda: F.adaptive_avg_pool2d(GPU, 2),
    "relu": lambda: F.relu(GPU),
    "softmax": lambda: F.softmax(GPU, 1),
    "local_response_norm": lambda: F.local_response_norm(GPU, 2),
    "sigmoid": lambda: F.sigmoid(GPU),
    "tanh": lambda: F.tanh(GPU),
    "leaky_relu": lambda: F.leaky_relu(GPU),
    "hardtanh": lambda: F.hardtanh(GPU),
    "log_softmax": lambda: F.log_softmax(GPU, 1),
    "pad": lambda: F.pad(GPU, (1, 1)),
    "dropout": lambda: F.dropout(GPU, training=False),
    "dropout2d": lambda: F.dropout2d(GPU, training=False),
    "flatten": lambda: F.flatten(GPU),
}


@pytest.mark.skipif(pycnn.cuda.is_available(), reason="a CUDA device is here: device arrays run on it")
@pytest.mark.parametrize("op", ALONE)
def test_a_device_array_without_a_device_is_refused_naming_the_op(op: str) -> None:
    with pytest.raises(pycnn.cuda.CudaUnavailableError, match=f"^{op}: this pycnn "):
        ALONE[op]()


class OffHostArray:
    """A device array as pycnn's own are: numpy cannot read it (no __array__); .numpy() copies it to the host."""

    def __init__(self, data: np.ndarray):
        self.data = data

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def reshape(self, shape: tuple[int, ...]) -> OffHostArray:
        return OffHostArray(self.data.reshape(shape))

    def numpy(self) -> np.ndarray:
        return self.data.copy()


class OffHostDevice(backends.Backend):
    """A device whose arrays are OffHostArrays, running channel_affine on the host data they hold."""

    label = "OffHost"

    @classmethod
    def owns(cls, value: Any) -> bool:
        return isinstance(value, OffHostArray)

    def asarray(self, value: Any, name: str) -> OffHostArray:
        return value

    def empty(self, shape: tuple[int, ...], what: str) -> OffHostArray:
        return OffHostArray(np.empty(shape, np.float32))

    def constant(self, array: np.ndarray, packed: dict[Any, Any]) -> Any:
        """Kept once per caller in `packed`, as the CUDA backend keeps its device copies."""
        return packed.setdefault(("off-host constant", id(array)), array.copy())

    def channel_affine(self, x: OffHostArray, out: OffHostArray, scale: np.ndarray, shift: np.ndarray) -> None:
        out.data[...] = x.data * scale[:, None] + shift[:, None]


@pytest.fixture
def off_host_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """The device name 'cuda' means an OffHostDevice for the test."""
    real_class, real_default = backends.backend_class, backends._default
    monkeypatch.setattr(backends, "backend_class", lambda d: OffHostDevice if d == "cuda" else real_class(d))
    monkeypatch.setattr(backends, "_default", lambda d: OffHostDevice() if d == "cuda" else real_default(d))


def test_batch_norm_folds_the_statistics_of_a_device_on_the_host(off_host_cuda: None) -> None:
    """The statistics come to the host through the device array's .numpy() and the output stays on the device."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5), dtype=np.float32)
    mean, weight, bias = (rng.standard_normal(3, dtype=np.float32) for _ in range(3))
    var = rng.uniform(0.5, 2.0, 3).astype(np.float32)
    on_device = [OffHostArray(a) for a in (x, mean, var, weight, bias)]
    out = F.batch_norm(*on_device)
    assert isinstance(out, OffHostArray)
    np.testing.assert_allclose(out.numpy(), F.batch_norm(x, mean, var, weight, bias), rtol=1e-6, atol=1e-6)


class ChannelAffine(pycnn.nn.Layer):
    """A layer defined by its op alone, whose op holds host arrays: a device takes them through constant()."""

    def __init__(self, scale: np.ndarray, shift: np.ndarray) -> None:
        super().__init__()
        self.scale, self.shift = scale, shift

    def op(self, input_shape: tuple[int, ...]) -> backends.Op:
        return backends.Op("channel_affine", (self.scale, self.shift), view=(*input_shape[:2], -1))


def test_a_layer_defined_by_its_op_runs_on_a_device_that_keeps_constants(off_host_cuda: None) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 5), dtype=np.float32)
    scale, shift = rng.standard_normal(3, dtype=np.float32), rng.standard_normal(3, dtype=np.float32)
    out = ChannelAffine(scale, shift)(OffHostArray(x))
    assert isinstance(out, OffHostArray)
    np.testing.assert_allclose(out.numpy(), x * scale[:, None, None] + shift[:, None, None], rtol=1e-6)
