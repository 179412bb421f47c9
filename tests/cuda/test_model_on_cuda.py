"""A model's life on the CUDA device: weights uploaded once per precision, device arrays in and out, weight
changes followed, back to the CPU, profiled step by step. (Its answers, layer by layer and model by model, are
checked by the device-parametrised tests in tests/nn.)"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch

import pycnn
from pycnn import nn

from conftest import assert_close
from reference import MODEL_RTOL, needs_cuda_device, normal

pytestmark = pytest.mark.cuda


@needs_cuda_device
def test_model_plan_uploads_weights_once_per_precision() -> None:
    rng = np.random.default_rng(12)
    model = pycnn.models.resnet18().to("cuda")
    x1, x2 = normal(rng, (1, 3, 32, 32)), normal(rng, (2, 3, 40, 32))
    model(x1)
    uploaded = dict(model._plans.packed)
    assert len(uploaded) == 20 + 1  # 20 convolutions (BatchNorm folded in), the fc layer
    model(x2)
    model(x1)
    assert model._plans.packed == uploaded  # new shapes, no new uploads
    with pycnn.cuda.precision("bf16"):
        model(x1)
    assert len(model._plans.packed) == 2 * len(uploaded)
    # each upload holds its weights in the precision its plan computes in
    assert {(key[-1], weights.precision) for key, (weights, _) in model._plans.packed.items()} == {
        ("fp32", "fp32"), ("bf16", "bf16")}
    assert {k[0] for k in model._plans.plans} == {x1.shape, x2.shape}


@needs_cuda_device
def test_model_on_cuda_takes_device_arrays_follows_weight_changes_and_returns_to_the_cpu() -> None:
    rng = np.random.default_rng(13)
    model = pycnn.models.resnet18()
    x = normal(rng, (1, 3, 32, 32))
    on_cpu = model(x)
    model.to("cuda")
    assert_close(model(x), on_cpu, 1e-3)
    result = model(pycnn.cuda.to_device(x))
    assert isinstance(result, pycnn.cuda.DeviceArray)
    assert_close(result.numpy(), on_cpu, 1e-3)
    model.fc.bias = model.fc.bias + 1.0
    assert_close(model(x), on_cpu + 1.0, 1e-3)
    model.to("cpu")
    assert model._plans is None
    assert_close(model(x), on_cpu + 1.0, 1e-5)


class TwoBranches(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Sequential(nn.Conv2d(3, 5, 1), nn.BatchNorm2d(5), nn.ReLU())

    def forward(self, x: Any) -> Any:
        return nn.cat([self.a(x), self.b(x)], 1)


@needs_cuda_device
def test_profile_times_each_step_on_cuda() -> None:
    from pycnn.nn.plan import profile

    model = TwoBranches().to("cuda")
    steps = profile(model, normal(np.random.default_rng(16), (1, 3, 9, 6)), repeat=2)
    assert [s.name.split(" + ")[0] for s in steps][:2] == ["a", "b.0"]
    assert all(s.seconds >= 0 for s in steps)


@needs_cuda_device
@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda:0")], ids=str)
def test_every_name_of_the_one_device_runs_there_without_a_warning(device: Any) -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Softmax(1))
    x = normal(np.random.default_rng(15), (1, 3, 6, 6))
    expected = model(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every layer has a CUDA kernel
        assert_close(model.to(device)(x), expected, MODEL_RTOL[pycnn.cuda.get_precision()])


@needs_cuda_device
def test_a_model_on_cuda_gives_torch_for_torch_and_names_itself_in_input_errors() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    x = normal(np.random.default_rng(16), (1, 3, 6, 6))
    expected = model(x)
    out = model.to("cuda")(torch.from_numpy(x))
    assert isinstance(out, torch.Tensor) and out.device.type == "cpu"
    assert_close(out.numpy(), expected, MODEL_RTOL[pycnn.cuda.get_precision()])
    with pytest.raises(TypeError, match=r"^Sequential: input must hold real numbers, got dtype <U1"):
        model(np.array([["a"]]))

