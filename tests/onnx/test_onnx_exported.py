"""torchvision's networks exported by torch.onnx (seeded random weights, BatchNorm statistics randomised): loaded
by pycnn.onnx they match torch at any batch size, and compile into the same fused plan as pycnn.models' own."""

from __future__ import annotations

import io
import pickle
import warnings

import numpy as np
import pytest
import torch
import torchvision

import pycnn
import pycnn.onnx
from pycnn.bench.peers import torchvision_model


def exported(model, opset: int) -> bytes:
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, 224, 224),), f, dynamo=False, opset_version=opset,
                          input_names=["images"], output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    return f.getvalue()


def _torch(model, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def _steps(plan) -> list[tuple[tuple[int, ...], bool, bool]]:
    """What each step of a plan computes: its output shape, and whether a residual addition and a ReLU are fused."""
    return [(s.output.shape, any(f == "add" for f in s.fused), any("relu" in f.lower() for f in s.fused))
            for s in plan.steps if not s.is_view]


@pytest.fixture(scope="module")
def resnet18():
    return torchvision_model("resnet18", seed=3)


@pytest.mark.parametrize("opset", [9, 13, 17])
def test_resnet18_matches_torch_at_every_batch(resnet18, opset: int) -> None:
    model = pycnn.onnx.load(exported(resnet18, opset))
    for batch in (1, 3):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 224, 224), dtype=np.float32)
        expected = _torch(resnet18, x)
        error = np.abs(model(x) - expected).max() / np.abs(expected).max()
        assert error < 1e-5, f"batch {batch}: {error:.2e}"


def test_resnet18_compiles_into_the_built_in_plan(resnet18) -> None:
    """Every convolution carries its bias, ReLU and residual addition in its store, as in pycnn.models.resnet18."""
    onnx_model = pycnn.onnx.load(exported(resnet18, 17))
    built_in = pycnn.models.resnet18(weights=resnet18.state_dict())
    x = np.zeros((1, 3, 224, 224), np.float32)
    onnx_model(x), built_in(x)
    ours, theirs = onnx_model._plans, built_in._plans
    plan_onnx, plan_built_in = (next(iter(p.plans.values())) for p in (ours, theirs))
    assert _steps(plan_onnx) == _steps(plan_built_in)
    assert sum(add for _, add, _ in _steps(plan_onnx)) == 8


def test_googlenet_with_its_input_transform_matches_torch() -> None:
    """torchvision's GoogLeNet re-normalises its input per channel in forward (Gather, Unsqueeze, Mul, Add, Concat
    in the graph): all of it runs in the plan."""

    torch.manual_seed(0)
    model = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True,
                                         transform_input=True).eval()
    loaded = pycnn.onnx.load(exported(model, 17))
    x = np.random.default_rng(0).standard_normal((2, 3, 224, 224), dtype=np.float32)
    expected = _torch(model, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to layer-by-layer
        y = loaded(x)
    assert np.abs(y - expected).max() / np.abs(expected).max() < 1e-5


class _FlattenByShape(torch.nn.Module):
    """`view(x.size(0), -1)`: exported as Shape, Gather, Unsqueeze and Concat computing Reshape's target."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.fc = torch.nn.Conv2d(3, 8, 3), torch.nn.Linear(8 * 222 * 222, 5)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        return self.fc(y.view(y.size(0), -1))


def test_shape_arithmetic_compiles_into_a_plan_per_batch_size() -> None:
    """The shape subgraph is evaluated for each input shape the plan is traced for, not run by the plan."""
    torch.manual_seed(0)
    model = _FlattenByShape().eval()
    loaded = pycnn.onnx.load(exported(model, 9))
    for batch in (1, 3):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 224, 224), dtype=np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no fallback to layer-by-layer
            y = loaded(x)
        expected = _torch(model, x)
        assert np.abs(y - expected).max() / np.abs(expected).max() < 1e-5
    assert not loaded._plans.untraceable
    assert sorted(shape[0][0] for shape in loaded._plans.plans) == [1, 3]


def test_a_loaded_model_pickles_without_its_plan(resnet18) -> None:
    model = pycnn.onnx.load(exported(resnet18, 13))
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224), dtype=np.float32)
    y = model(x)
    copy = pickle.loads(pickle.dumps(model))
    assert copy._plans is None
    np.testing.assert_array_equal(copy(x), y)
    assert list(copy.state_dict()) == list(model.state_dict())
