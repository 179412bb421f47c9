"""On a GPU, beside torch: torch's and CuPy's device arrays in (DLPack, __cuda_array_interface__), the caller's
kind out without copies, torch's streams, models on torch tensors, and the bench command against torch.

torch's CUDA references run in true fp32 here (torch lets cuDNN use TF32 by default); tolerances as in
reference.MODEL_RTOL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import pycnn
import pycnn.functional as F
from pycnn import nn

from conftest import assert_close
from reference import MODEL_RTOL, needs_gpu, normal, run_python, torch_conv2d

pytestmark = pytest.mark.cuda


@pytest.fixture(autouse=True)
def fp32_torch() -> Any:
    """torch's CUDA references in true fp32 (torch lets cuDNN use TF32 by default)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def torchvision_pair(name: str) -> tuple[Any, nn.Module]:
    from pycnn.bench.peers import torchvision_model

    reference = torchvision_model(name)
    extra = {"transform_input": False} if name == "googlenet" else {}
    model = getattr(pycnn.models, name)(weights=reference.state_dict(), **extra)
    return reference, model


class CudaArrayInterfaceOnly:
    """What CuPy and Numba arrays offer: __cuda_array_interface__, no DLPack (here borrowed from a torch tensor)."""

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor
        self.__cuda_array_interface__ = tensor.__cuda_array_interface__


class DLPackOnly:
    """An array that offers DLPack alone (JAX's, say)."""

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor

    def __dlpack__(self, stream: Any = None) -> Any:
        return self.tensor.__dlpack__(stream=stream)

    def __dlpack_device__(self) -> Any:
        return self.tensor.__dlpack_device__()


@needs_gpu
@pytest.mark.parametrize("wrap", [lambda t: t, CudaArrayInterfaceOnly, DLPackOnly], ids=["torch", "cai", "dlpack"])
def test_functional_takes_foreign_device_arrays(wrap: Callable[[torch.Tensor], Any]) -> None:
    rng = np.random.default_rng(20)
    x, w, b = normal(rng, (2, 3, 9, 9)), normal(rng, (4, 3, 3, 3)), normal(rng, (4,))
    tx, tw, tb = (torch.from_numpy(a).cuda() for a in (x, w, b))
    got = F.conv2d(wrap(tx), wrap(tw), wrap(tb), padding=1)
    host = got.cpu().numpy() if isinstance(got, torch.Tensor) else got.numpy()
    assert_close(host, torch_conv2d(x, w, b, padding=1))
    assert isinstance(got, torch.Tensor) == (wrap is not CudaArrayInterfaceOnly and wrap is not DLPackOnly)


@needs_gpu
def test_torch_tensors_in_torch_tensors_out_without_copies() -> None:
    x = torch.randn(2, 3, 8, 8, device="cuda")
    y = F.relu(x)
    assert isinstance(y, torch.Tensor) and y.is_cuda and y.dtype == torch.float32
    torch.testing.assert_close(y, torch.relu(x), rtol=0, atol=0)
    a = pycnn.cuda.to_device(x)
    assert a.__cuda_array_interface__["data"][0] == x.data_ptr()  # a view, not a copy
    back = torch.as_tensor(a, device="cuda")  # through __cuda_array_interface__
    assert back.data_ptr() == x.data_ptr()


@needs_gpu
def test_foreign_arrays_must_be_float32_and_contiguous() -> None:
    x = torch.randn(2, 3, 8, 8, device="cuda")
    for wrap in (lambda t: t, CudaArrayInterfaceOnly):
        with pytest.raises(TypeError, match="relu: input is not float32"):
            F.relu(wrap(x.double()))
    with pytest.raises(TypeError, match=r"relu: input of shape \(2, 3, 8, 8\) is not C-contiguous"):
        F.relu(x.transpose(2, 3))


@needs_gpu
def test_work_on_a_torch_stream_is_ordered() -> None:
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        x = torch.randn(64, 256, 28, 28, device="cuda") * 2  # queued on `stream`
        y = F.relu(x)  # pycnn waits for `stream`, torch's reads of y wait for pycnn
        expected = torch.relu(x)
    torch.cuda.synchronize()
    torch.testing.assert_close(y, expected, rtol=0, atol=0)


@needs_gpu
def test_model_takes_torch_tensors() -> None:
    reference, model = torchvision_pair("resnet18")
    x = torch.randn(2, 3, 64, 64, device="cuda")
    got = model.to("cuda")(x)
    with torch.no_grad():
        expected = reference.cuda()(x)
    assert isinstance(got, torch.Tensor) and got.is_cuda
    assert_close(got.cpu().numpy(), expected.cpu().numpy(), MODEL_RTOL["fp32"])


@needs_gpu
def test_bench_command_runs_on_cuda() -> None:
    result = run_python("import sys, pycnn.cli; sys.exit(pycnn.cli.main(sys.argv[1:]))", "bench", "--device",
                        "cuda", "--models", "resnet18", "--batch", "2", "--repeat", "2", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "torch ms" in result.stdout and "pycnn/torch" in result.stdout, result.stdout
