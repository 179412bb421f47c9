"""The plan's memory-saving fusions against torch: sibling convolutions run as one, concatenations written in place.

Each module is built twice, in pycnn.nn and torch.nn with the same attribute names, so one state dict fits both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from test_models import logits, pycnn_model, randomise_batch_norm, torchvision_model

import pycnn
from pycnn import nn

from conftest import assert_close
from reference import MODEL_RTOL

pytestmark = pytest.mark.smoke  # in `pytest -m smoke`, the quick subset of every tier

torch.set_num_threads(2)


def conv_bn_relu(lib: Any, cin: int, cout: int, kernel: int, padding: int = 0) -> Any:
    return lib.Sequential(lib.Conv2d(cin, cout, kernel, padding=padding, bias=False), lib.BatchNorm2d(cout),
                          lib.ReLU())


def cat_of(lib: Any) -> Any:
    return nn.cat if lib is nn else torch.cat


def siblings(lib: Any) -> Any:
    """Convolutions of one input: three 1x1 with ReLU (one with a bias instead of a BatchNorm) that run as one;
    two 3x3 with ReLU that run as one; and four that must not join them: a 1x1 without ReLU, a 1x1 with a
    residual, a 1x1 with stride 2 and a grouped 1x1."""
    cat = cat_of(lib)

    class Siblings(lib.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = conv_bn_relu(lib, 6, 5, 1)
            self.b = conv_bn_relu(lib, 6, 3, 1)
            self.c = lib.Sequential(lib.Conv2d(6, 4, 1), lib.ReLU())
            self.d = lib.Conv2d(6, 2, 1)
            self.e = conv_bn_relu(lib, 6, 3, 3, padding=1)
            self.f = conv_bn_relu(lib, 6, 7, 3, padding=1)
            self.g = lib.Conv2d(6, 5, 1, bias=False)
            self.s = lib.Conv2d(6, 4, 1, stride=2)
            self.grouped = lib.Conv2d(6, 4, 1, groups=2)
            self.relu = lib.ReLU()
            self.pool = lib.MaxPool2d(2)

        def forward(self, x: Any) -> Any:
            a = self.a(x)
            y = cat([a, self.b(x), self.c(x), self.d(x), self.e(x), self.f(x), self.relu(self.g(x) + a),
                     self.grouped(x)], 1)
            return cat([self.pool(y), self.s(x)], 1)

    return Siblings()


def pair(make: Any) -> tuple[Any, torch.nn.Module]:
    reference = make(torch.nn).eval()
    randomise_batch_norm(reference)
    ours = make(nn)
    ours.load_state_dict(reference.state_dict())
    return ours, reference


def plan_of(model: Any, shape: tuple[int, ...]) -> Any:
    model(np.zeros(shape, np.float32))
    return model._plans.plan(shape)


@pytest.mark.parametrize("batch", [1, 2])
def test_sibling_convolutions_match_torch(batch: int, rng: np.random.Generator) -> None:
    model, reference = pair(siblings)
    x = rng.standard_normal((batch, 6, 8, 10), dtype=np.float32)
    expected = logits(reference, x)
    assert_close(model(x), expected, 1e-5)
    assert_close(model(x), expected, 1e-5)  # the buffers, reused


def test_which_convolutions_run_as_one() -> None:
    model, _ = pair(siblings)
    plan = plan_of(model, (1, 6, 8, 10))
    convs = {s.name: [n for n in s.fused if n in ("b.0", "c.0", "f.0")] for s in plan.steps if not s.is_view}
    assert convs["a.0"] == ["b.0", "c.0"]
    assert convs["e.0"] == ["f.0"]
    for alone in ("d", "g", "s", "grouped"):
        assert convs[alone] == [], alone
    # At batch 2 a convolution's channels of a joint output would not be contiguous: none join, none is a view.
    plan = plan_of(model, (2, 6, 8, 10))
    assert not any(s.is_view for s in plan.steps)
    assert len(plan.steps) == 12


def test_resnet_runs_each_residual_block_in_its_convolutions() -> None:
    """Every BatchNorm, residual addition and ReLU of ResNet-18 is fused into the convolution before it: the plan
    is its convolutions, the pools, the flatten view and fc, nothing else. An addition left alone would be a step
    named "add" (the `branches` plan, whose y + y no convolution writes, has one)."""
    model = pycnn.models.resnet18()
    plan = plan_of(model, (1, 3, 64, 64))
    convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    assert [s.name for s in plan.steps if s.name not in convs] == ["maxpool", "avgpool", "flatten", "fc"]
    assert sorted(s.name for s in plan.steps if s.name in convs) == sorted(convs)
    fused = {s.name: s.fused for s in plan.steps}
    assert fused["conv1"] == ["bn1", "relu"]
    for block in (f"layer{stage}.{i}" for stage in range(1, 5) for i in range(2)):
        assert fused[f"{block}.conv1"] == [f"{block}.bn1", f"{block}.relu"]
        assert fused[f"{block}.conv2"] == [f"{block}.bn2", "add", f"{block}.relu"]
    assert sum(s.fused.count("add") for s in plan.steps) == 8
    assert [s.name for s in plan_of(pair(branches)[0], (1, 3, 9, 6)).steps].count("add") == 1


def concatenations(lib: Any) -> Any:
    """Concatenations along channels whose inputs can be written in place, and ones whose inputs cannot: the graph
    input, a value also read elsewhere, one value twice, a concatenation inside another, and one along width."""
    cat = cat_of(lib)

    class Concatenations(lib.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = lib.Conv2d(3, 4, 3, padding=1)
            self.b = lib.Conv2d(3, 2, 1)
            self.pool = lib.MaxPool2d(3, stride=1, padding=1)
            self.c = lib.Conv2d(9, 3, 1)
            self.relu = lib.ReLU()

        def forward(self, x: Any) -> Any:
            a, b = self.a(x), self.pool(self.b(x))
            inner = cat([x, a, b], 1)  # x: the graph input; a: read again below; b: in place
            p = self.relu(self.b(x))
            twice = cat([p, p], 1)
            outer = cat([self.relu(self.c(inner)), inner, a, twice], 1)  # a concatenation in place in another
            wide = cat([outer, self.relu(outer)], 3)
            return cat([wide, self.relu(wide)], 1)  # the graph output

    return Concatenations()


@pytest.mark.parametrize("batch", [1, 3])
def test_concatenations_match_torch(batch: int, rng: np.random.Generator) -> None:
    model, reference = pair(concatenations)
    x = rng.standard_normal((batch, 3, 7, 5), dtype=np.float32)
    expected = logits(reference, x)
    first = model(x)
    assert_close(first, expected, 1e-5)
    np.testing.assert_array_equal(model(x), first)
    assert not np.shares_memory(model(x), first)


def test_which_concatenation_inputs_are_written_in_place() -> None:
    model, _ = pair(concatenations)
    plan = plan_of(model, (1, 3, 7, 5))
    copied = [[v.shape for v in s.inputs] for s in plan.steps if s.name == "cat"]
    assert copied == [
        [(1, 3, 7, 5), (1, 4, 7, 5)],  # inner: x and a
        [(1, 2, 7, 5), (1, 2, 7, 5)],  # twice: p twice
        [(1, 9, 7, 5), (1, 4, 7, 5)],  # outer: inner and a, both read elsewhere too
        [(1, 20, 7, 5), (1, 20, 7, 5)],  # along width: not contiguous
        [(1, 20, 7, 10)],  # the output: relu(wide) in place
    ]


def test_googlenet_at_batch_1_matches_torchvision(rng: np.random.Generator) -> None:
    """Inception's 1x1 branches run as one and its branches write into the concatenation (only at batch 1)."""
    reference = torchvision_model("googlenet")
    model = pycnn_model("googlenet")
    model.load_state_dict(reference.state_dict())
    x = rng.standard_normal((1, 3, 224, 224), dtype=np.float32)
    assert_close(model(x), logits(reference, x), rtol=1e-3)
    plan = model._plans.plan(x.shape)
    joint = [s for s in plan.steps if s.name.endswith("branch1.conv")]
    assert len(joint) == 9
    assert all(s.name.replace("branch1", "branch3.0") in s.fused for s in joint)
    assert sum(len(s.inputs) for s in plan.steps if s.name == "cat") == 9  # each block copies branch1's view
    with pycnn.nn.eager():
        assert_close(model(x), logits(reference, x), rtol=1e-3)


def branches(lib: Any) -> Any:
    """Concatenations along channels and along width, a residual addition, and layers no plan fuses."""
    cat = cat_of(lib)

    class Branches(lib.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = lib.Conv2d(3, 4, 3, padding=1)
            self.b = lib.Sequential(lib.Conv2d(3, 5, 1), lib.BatchNorm2d(5), lib.ReLU())
            self.bn = lib.BatchNorm2d(9)
            self.pool = lib.AvgPool2d(2, ceil_mode=True, count_include_pad=False)
            self.lrn = lib.LocalResponseNorm(3)
            self.head = lib.Sequential(lib.Flatten(), lib.Dropout(), lib.Linear(9 * 5 * 6, 10), lib.ReLU(),
                                       lib.Linear(10, 7), lib.Softmax(dim=1))

        def forward(self, x: Any) -> Any:
            y = self.bn(cat([self.a(x), self.b(x)], 1))
            y = self.lrn(self.pool(cat([y, y + y], 3)))
            return self.head(y)

    return Branches()


def inception_siblings(lib: Any) -> Any:
    """Inception's shape: 1x1 convolutions of one input that a plan at batch 1 runs as one, whose outputs, and a
    3x3 convolution's, the concatenation takes in place."""
    cat = cat_of(lib)

    class InceptionSiblings(lib.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = lib.Sequential(lib.Conv2d(3, 4, 1), lib.BatchNorm2d(4), lib.ReLU())
            self.b = lib.Sequential(lib.Conv2d(3, 6, 1), lib.ReLU())
            self.c = lib.Conv2d(6, 5, 3, padding=1)

        def forward(self, x: Any) -> Any:
            return cat([self.a(x), self.c(self.b(x))], 1)

    return InceptionSiblings()


@pytest.mark.parametrize(("make", "batch"), [(branches, 2), (branches, 1), (inception_siblings, 1)],
                         ids=["branches-batch2", "branches-batch1", "inception-siblings-batch1"])
def test_plans_match_torch_on_every_device(make: Any, batch: int, device: str, precision: str,
                                          rng: np.random.Generator) -> None:
    model, reference = pair(make)
    x = rng.standard_normal((batch, 3, 9, 6), dtype=np.float32)
    expected = logits(reference, x)
    on_cpu = model(x)
    assert_close(on_cpu, expected, 1e-5)
    got = model.to(device)(x)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    assert_close(got, on_cpu, MODEL_RTOL[precision])
    assert_close(model.to("cpu")(x), on_cpu, 1e-6)


def test_output_survives_the_steps_after_it(rng: np.random.Generator) -> None:
    """A forward that computes on after its output: the output's buffer is not reused for what follows."""

    def make(lib: Any) -> Any:
        class Module(lib.Module):
            def __init__(self) -> None:
                super().__init__()
                self.a, self.b, self.relu = lib.Conv2d(3, 4, 3), lib.Conv2d(4, 4, 3, padding=1), lib.ReLU()

            def forward(self, x: Any) -> Any:
                y = self.a(x)
                self.b(self.b(self.relu(y)))
                return y

        return Module()

    model, reference = pair(make)
    x = rng.standard_normal((1, 3, 9, 9), dtype=np.float32)
    assert_close(model(x), logits(reference, x), 1e-5)


@pytest.mark.parametrize("special", [np.nan, np.inf, 1e35])
def test_a_winograd_plan_gives_torchs_nan_and_inf_for_special_inputs(special: float) -> None:
    """Winograd would spread a NaN over its 4×4 output tile; the plan runs such inputs without it, and later
    finite inputs with it again."""
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(64, 8, 1))
    model = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 8, 1))  # Winograd, then not
    model.load_state_dict(reference.state_dict())
    x = np.random.default_rng(5).standard_normal((1, 64, 16, 16), dtype=np.float32)
    odd = x.copy()
    odd[0, 3, 6, 5] = special
    with torch.no_grad():
        for given in (x, odd, x):
            want = reference(torch.from_numpy(given)).numpy()
            got = model(given)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
            finite = np.isfinite(want)
            assert_close(got[finite], want[finite], 1e-3)
