"""What the build reports about CUDA, and CUDA asked for where it cannot run.

Checked in fresh interpreters with CUDA_VISIBLE_DEVICES="", so these run everywhere, GPU machines included.
"""

from __future__ import annotations

import pytest

import pycnn
from pycnn import nn

from reference import run_python

pytestmark = pytest.mark.cuda


def test_config_reports_the_cuda_build() -> None:
    c = pycnn.config()
    assert c["cuda_built"] is pycnn.cuda.is_built()
    assert c["cuda_available"] is pycnn.cuda.is_available() is (pycnn.cuda.device_count() > 0)
    assert c["cuda_precision"] == pycnn.cuda.get_precision()
    if c["cuda_built"]:
        assert c["cuda_compiler"] and c["cuda_architectures"]
    if c["cuda_available"]:
        assert c["cuda_status"] == "ok" and "(sm_" in str(c["cuda_device"])


NO_DEVICE = """
import numpy as np
import pycnn, pycnn.functional as F

class ForeignCudaArray:  # what torch and CuPy hand over; never dereferenced here
    __cuda_array_interface__ = {"shape": (1, 3, 8, 8), "typestr": "<f4", "data": (1 << 40, False), "version": 3}

assert pycnn.cuda.is_available() is False and pycnn.cuda.device_count() == 0 and pycnn.cuda.status() != "ok"
print("status:", pycnn.cuda.status())
requests = {
    "model.to": lambda: pycnn.models.resnet18().to("cuda"),
    "layer.cuda": lambda: pycnn.nn.ReLU().cuda(),
    "to_device": lambda: pycnn.cuda.to_device(np.zeros(3, np.float32)),
    "synchronize": pycnn.cuda.synchronize,
    "device_name": pycnn.cuda.device_name,
    "conv2d": lambda: F.conv2d(ForeignCudaArray(), ForeignCudaArray()),
    "relu": lambda: F.relu(ForeignCudaArray()),
}
for name, request in requests.items():
    try:
        request()
    except pycnn.cuda.CudaUnavailableError as e:
        assert isinstance(e, RuntimeError)
        print(name, "->", e)
    else:
        raise AssertionError(f"{name} did not raise")
model = pycnn.models.resnet18()
assert model(np.zeros((1, 3, 32, 32), np.float32)).shape == (1, 1000)  # the CPU path is untouched
"""


def test_without_a_usable_device_cuda_requests_fail_clearly() -> None:
    result = run_python(NO_DEVICE, CUDA_VISIBLE_DEVICES="")
    assert result.returncode == 0, result.stdout + result.stderr
    reason = ("this pycnn was built without CUDA kernels" if not pycnn.cuda.is_built() else
              "this pycnn has CUDA kernels, but no usable CUDA device was found")
    # each message names the request it refuses, then why
    refused = dict(line.split(" -> ", 1) for line in result.stdout.splitlines() if " -> " in line)
    names = {"model.to": "ResNet.to('cuda')", "layer.cuda": "ReLU.to('cuda')", "to_device": "pycnn.cuda.to_device",
             "synchronize": "pycnn.cuda.synchronize", "device_name": "pycnn.cuda.device_name", "conv2d": "conv2d",
             "relu": "relu"}
    assert {request: message.partition(": ")[0] for request, message in refused.items()} == names, result.stdout
    assert all(message.partition(": ")[2].startswith(reason) for message in refused.values()), result.stdout


def test_importing_pycnn_leaves_cuda_alone_and_is_available_never_raises() -> None:
    result = run_python("import pycnn, sys; print('pycnn._cuda' in sys.modules, pycnn.cuda.is_available(), "
                        "pycnn.cuda.is_built(), pycnn.cuda.device_count())", CUDA_VISIBLE_DEVICES="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", str(pycnn.cuda.is_built()), "0"]


def test_device_strings() -> None:
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda', got 'tpu'"):
        nn.ReLU().to("tpu")
    with pytest.raises(ValueError, match="pycnn runs on one GPU, cuda:0"):
        nn.ReLU().to("cuda:1")
    layer = nn.ReLU()
    assert layer.to("cpu") is layer and layer.cpu() is layer
