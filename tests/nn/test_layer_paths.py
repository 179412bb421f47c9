"""Every layer on both of its paths against torch.nn: run alone, and inside a compiled plan behind another layer
(so that the plan's own step for it runs, not a fusion), with default arguments and with each argument varied,
on every device.

Parameters and buffers are random (biases, BatchNorm statistics and affine terms included), so a step that drops
or misreads any of them differs from torch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from pycnn import nn
from pycnn.nn.plan.run import PlanCache

from conftest import assert_close
from reference import OP_RTOL, needs_cuda_device

torch.set_num_threads(2)
# torch's own note that it pads a copy for 'same' with an even kernel: expected, not a problem.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

# (id, pycnn layer, torch layer, input shape)
Case = tuple[str, Callable[[], nn.Module], Callable[[], torch.nn.Module], tuple[int, ...]]

SPATIAL = (2, 6, 11, 9)


def both(name: str, *args: Any, shape: tuple[int, ...] = SPATIAL, **kwargs: Any) -> Case:
    """A case of the layer `name`, built with the same arguments in pycnn.nn and torch.nn."""
    arguments = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    return (f"{name}({arguments})", lambda: getattr(nn, name)(*args, **kwargs),
            lambda: getattr(torch.nn, name)(*args, **kwargs), shape)


CASES = [
    both("ReLU"),
    both("MaxPool2d", 2),
    both("MaxPool2d", 3, stride=2, padding=1),
    both("MaxPool2d", (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
    both("MaxPool2d", 3, stride=2, ceil_mode=True),
    both("AvgPool2d", 2),
    both("AvgPool2d", 3, stride=2, padding=1),
    both("AvgPool2d", 3, stride=2, padding=1, count_include_pad=False),
    both("AvgPool2d", 3, stride=2, padding=1, ceil_mode=True),
    both("AvgPool2d", 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    both("AvgPool2d", (3, 2), stride=(1, 2), padding=(1, 1), divisor_override=4),
    both("AdaptiveAvgPool2d", 1),
    both("AdaptiveAvgPool2d", (4, 3)),
    both("AdaptiveAvgPool2d", (None, 2)),
    both("BatchNorm2d", 6),
    both("BatchNorm2d", 6, eps=0.01),
    both("BatchNorm2d", 6, affine=False),
    both("LocalResponseNorm", 5),
    both("LocalResponseNorm", 3, alpha=0.01, beta=0.5, k=2.0),
    both("Softmax", 1),
    both("Softmax", dim=-1),
    both("Conv2d", 6, 4, 3),
    both("Conv2d", 6, 8, 3, stride=2, padding=1, bias=False),
    both("Conv2d", 6, 6, (3, 1), padding=(2, 0), dilation=(2, 1), groups=3),
    both("Conv2d", 6, 4, 2, padding="same"),
    both("Linear", 9, 5, shape=(2, 6, 11, 9)),
    both("Linear", 9, 5, bias=False, shape=(3, 9)),
    both("Dropout"),
    both("Dropout", 0.2),
    both("Flatten"),
    both("Flatten", 0, 2),
]


def randomise(layer: torch.nn.Module, seed: int) -> None:
    """Every parameter and buffer random (variances positive), so that each one shows in the output."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in [*layer.named_parameters(), *layer.named_buffers()]:
            if tensor.is_floating_point():
                values = torch.rand(tensor.shape, generator=gen)
                tensor.copy_(values + 0.5 if name.endswith("var") else values * 2 - 1)


def pair(case: Case, seed: int = 0) -> tuple[nn.Module, torch.nn.Module]:
    _, ours, theirs, _ = case
    layer, reference = ours(), theirs().eval()
    randomise(reference, seed)
    layer.load_state_dict(reference.state_dict())
    return layer, reference


def before(shape: tuple[int, ...]) -> tuple[nn.Module, torch.nn.Module, tuple[int, ...]]:
    """A layer to stand in front, and the plan's input shape: the layer under test then reads a planned value and
    runs as the plan's step. A 1×1 max pool (the identity, as a step of its own); for a 2-D input, a flatten of
    (N, C, 1, 1), since plans take 4-D inputs."""
    if len(shape) == 4:
        return nn.MaxPool2d(1, 1), torch.nn.MaxPool2d(1, 1), shape
    return nn.Flatten(), torch.nn.Flatten(), (*shape, 1, 1)


def expected(reference: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return reference(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_alone_matches_torch(case: Case, device: str) -> None:
    layer, reference = pair(case)
    x = np.random.default_rng(1).standard_normal(case[3], dtype=np.float32)
    assert_close(layer.to(device)(x), expected(reference, x), OP_RTOL["fp32"])


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_inside_a_plan_matches_torch(case: Case, device: str) -> None:
    layer, reference = pair(case)
    first, torch_first, shape = before(case[3])
    model, torch_model = nn.Sequential(first, layer), torch.nn.Sequential(torch_first, reference)
    x = np.random.default_rng(2).standard_normal(shape, dtype=np.float32)
    out = model.to(device)(x)
    assert model._plans is not None and model._plans.plans, "the Sequential ran through a plan"
    steps = [s.name for s in next(iter(model._plans.plans.values())).steps]
    assert steps == ["0", "1"], steps  # the layer under test is a step of its own, not fused into the first
    assert_close(out, expected(torch_model, x), OP_RTOL["fp32"])


def test_every_layer_kind_has_a_case() -> None:
    kinds = {name for name in nn.__all__ if isinstance(getattr(nn, name), type)
             and issubclass(getattr(nn, name), nn.Layer) and name != "Layer"}
    covered = {case[0].split("(")[0] for case in CASES}
    assert kinds <= covered, kinds - covered


def test_planned_standalone_batch_norm_uses_every_statistic() -> None:
    """Each of the four BatchNorm tensors, changed alone, changes the planned output."""
    layer, _ = pair(both("BatchNorm2d", 6))
    model = nn.Sequential(nn.MaxPool2d(1, 1), layer)
    x = np.random.default_rng(3).standard_normal(SPATIAL, dtype=np.float32)
    base = model(x)
    for name in ("weight", "bias", "running_mean", "running_var"):
        saved = getattr(layer, name)
        setattr(layer, name, saved * 1.5 + 0.25)
        assert not np.allclose(model(x), base), name
        setattr(layer, name, saved)
    assert np.array_equal(model(x), base)


class Cubed(nn.Layer):
    """A layer of the user's own, with no kernel: a plan calls its forward on host arrays."""

    def forward(self, x: Any) -> Any:
        return np.asarray(x) ** 3


def test_a_layer_without_a_kernel_runs_its_forward_inside_a_plan(device: str) -> None:
    model = nn.Sequential(nn.MaxPool2d(2), Cubed(), nn.ReLU())
    x = np.random.default_rng(4).standard_normal((2, 3, 6, 8), dtype=np.float32)
    expected = torch.relu(torch.nn.functional.max_pool2d(torch.from_numpy(x), 2) ** 3).numpy()
    if device == "cpu":
        out = model(x)
    else:
        with pytest.warns(RuntimeWarning, match=r"^Cubed has no CUDA kernel: it runs on the CPU, its input and output "
                                                r"copied between host and device at every call$"):
            out = model.to(device)(x)
    assert_close(out, expected, OP_RTOL["fp32"])


# mutmut's trampolines put frames of their own between a caller and pycnn's functions: a stack level lands in them.
@pytest.mark.skipif(PlanCache.run.__code__.co_name != "run", reason="run under mutmut: stack levels shift")
@pytest.mark.cuda
@needs_cuda_device
def test_a_host_layer_warning_points_at_the_caller_once_per_plan() -> None:
    model = nn.Sequential(nn.ReLU(), Cubed(), Cubed(), nn.ReLU()).to("cuda")
    x = np.ones((1, 2, 3, 3), np.float32)
    with pytest.warns(RuntimeWarning, match="^Cubed has no CUDA kernel") as warned:
        model(x)
    assert [w.filename for w in warned] == [__file__]  # one warning for the two Cubed layers
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(x)  # the same plan: no second warning
