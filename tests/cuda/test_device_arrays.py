"""pycnn.cuda.DeviceArray: copies to and from the host, views, and DLPack for torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pycnn

from reference import GPU, needs_cuda_device, normal

pytestmark = pytest.mark.cuda


@needs_cuda_device
def test_device_array_round_trip_views_and_errors() -> None:
    x = normal(np.random.default_rng(9), (2, 3, 4))
    a = pycnn.cuda.to_device(x)
    assert (a.shape, a.ndim, a.size, a.nbytes, a.dtype) == ((2, 3, 4), 3, 24, 96, np.float32)
    assert repr(a) == "DeviceArray(shape=(2, 3, 4), dtype=float32, device='cuda:0')"
    np.testing.assert_array_equal(a.numpy(), x)
    np.testing.assert_array_equal(a.reshape(6, -1).numpy(), x.reshape(6, 4))
    np.testing.assert_array_equal(a.reshape((4, 6)).numpy(), x.reshape(4, 6))
    np.testing.assert_array_equal(a.view((5,), 3).numpy(), x.reshape(-1)[3:8])
    copy = a.copy()
    a.copy_from_host(np.zeros((2, 3, 4), np.float32))
    np.testing.assert_array_equal(copy.numpy(), x)
    assert not a.numpy().any()
    np.testing.assert_array_equal(pycnn.cuda.to_device(np.arange(4, dtype=np.int64)).numpy(), np.arange(4))
    with pytest.raises(ValueError, match=r"cannot reshape an array of shape \(2, 3, 4\) into \(5, -1\)"):
        a.reshape(5, -1)
    with pytest.raises(ValueError, match=r"a view of shape \(20,\) at offset 5 does not fit"):
        a.view((20,), 5)
    with pytest.raises(ValueError, match=r"cannot copy an array of shape \(3,\)"):
        a.copy_from_host(np.zeros(3, np.float32))


@needs_cuda_device
def test_torch_views_a_device_array_through_dlpack() -> None:
    x = normal(np.random.default_rng(10), (3, 5))
    tensor = torch.from_dlpack(pycnn.cuda.to_device(x))  # on the emulator, a CPU tensor: its memory is host memory
    assert tensor.is_cuda is GPU
    np.testing.assert_array_equal(tensor.cpu().numpy(), x)
