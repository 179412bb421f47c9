"""The plan's memory-saving fusions against torch: sibling convolutions run as one, concatenations written in place.

Each module is built twice, in pycnn.nn and torch.nn with the same attribute names, so one state dict fits both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from test_models import logits, pycnn_model, randomise_batch_norm, torchvision_model
from test_module_api import AddsOne

import pycnn
from pycnn import _core, nn
from pycnn.nn.plan import Plan, Step, profile
from pycnn.nn.plan.memory import Memory
from pycnn.nn.trace import Value

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


@pytest.mark.parametrize("order", ["conv + x", "x + conv"])
def test_a_residual_addition_is_fused_whichever_side_the_convolution_is_on(order: str,
                                                                           rng: np.random.Generator) -> None:
    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.relu = nn.Conv2d(3, 3, 3, padding=1), nn.ReLU()

        def forward(self, x: Any) -> Any:
            return self.relu(self.conv(x) + x if order == "conv + x" else x + self.conv(x))

    model = Residual()
    assert [(s.name, s.fused) for s in plan_of(model, (1, 3, 6, 5)).steps] == [("conv", ["add", "relu"])]
    x = rng.standard_normal((1, 3, 6, 5), dtype=np.float32)
    conv = torch.nn.Conv2d(3, 3, 3, padding=1)
    conv.load_state_dict({k: torch.tensor(v) for k, v in model.conv.state_dict().items()})
    assert_close(model(x), torch.relu(conv(torch.from_numpy(x)) + torch.from_numpy(x)).detach().numpy())


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
    x = rng.standard_normal((1, 3, 96, 96), dtype=np.float32)  # the plan's structure is that of 224 x 224
    expected = logits(reference, x)
    assert_close(model(x), expected, rtol=1e-3)
    plan = model._plans.plan(x.shape)
    joint = [s for s in plan.steps if s.name.endswith("branch1.conv")]
    assert len(joint) == 9
    assert all(s.name.replace("branch1", "branch3.0") in s.fused for s in joint)
    assert sum(len(s.inputs) for s in plan.steps if s.name == "cat") == 9  # each block copies branch1's view
    with pycnn.nn.eager():
        assert_close(model(x), expected, rtol=1e-3)


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
    with pycnn.precision("fp32"):
        on_cpu = model(x)
    assert_close(on_cpu, expected, 1e-5)
    got = model.to(device)(x)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    assert_close(got, on_cpu, MODEL_RTOL[precision])
    assert_close(model.to("cpu")(x), on_cpu, 1e-6 if precision == "fp32" else MODEL_RTOL[precision])


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


def head(lib: Any) -> Any:
    """A convolution with BatchNorm and ReLU, a pool, a flatten and dropout (views), and two linear layers, the
    first with ReLU."""
    return lib.Sequential(lib.Conv2d(3, 4, 3, bias=False), lib.BatchNorm2d(4), lib.ReLU(), lib.MaxPool2d(2),
                          lib.Flatten(), lib.Dropout(), lib.Linear(36, 5), lib.ReLU(), lib.Linear(5, 2))


def test_describe_gives_each_step_what_was_fused_into_it_and_its_shape(rng: np.random.Generator) -> None:
    model, reference = pair(head)
    x = rng.standard_normal((2, 3, 8, 8), dtype=np.float32)
    assert_close(model(x), logits(reference, x), 1e-5)
    assert plan_of(model, x.shape).describe() == "\n".join([
        "0 + 1 + 2 -> (2, 4, 6, 6)",
        "3 -> (2, 4, 3, 3)",
        "4 -> (2, 36)",
        "5 -> (2, 36)",
        "6 + 7 -> (2, 5)",
        "8 -> (2, 2)",
    ])


def test_profile_times_each_step_that_computes(monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator) -> None:
    """One untimed run, then `repeat` timed ones; views (flatten, dropout) take no time and are left out."""
    model, _ = pair(head)
    runs: list[bool] = []
    run = Plan.run

    def counted(plan: Plan, x: Any, step_seconds: list[float] | None = None) -> Any:
        runs.append(step_seconds is not None)
        return run(plan, x, step_seconds)

    monkeypatch.setattr(Plan, "run", counted)
    steps = profile(model, rng.standard_normal((2, 3, 8, 8), dtype=np.float32), repeat=3)
    assert runs == [False, True, True, True]
    assert [(s.name, s.output_shape) for s in steps] == [
        ("0 + 1 + 2", (2, 4, 6, 6)), ("3", (2, 4, 3, 3)), ("6 + 7", (2, 5)), ("8", (2, 2))]
    assert all(isinstance(s.seconds, float) and 0 < s.seconds < 1 for s in steps)
    runs.clear()
    profile(model, np.zeros((1, 3, 8, 8), np.float32))
    assert len(runs) == 11  # repeat=10 by default


class TinyNet(nn.Module):
    """A model of images, as the classic networks are: it takes (N, C, H, W) or one (C, H, W) image."""

    takes_images = True

    def __init__(self, convolution: bool = True) -> None:
        super().__init__()
        self.features = nn.Sequential(*([nn.Conv2d(3, 2, 3), nn.ReLU()] if convolution else []), nn.MaxPool2d(2))

    def forward(self, x: Any) -> Any:
        return self.features(x)


def test_profile_takes_one_image_as_a_batch_of_one() -> None:
    steps = profile(TinyNet(), np.ones((3, 8, 8), np.float32), repeat=1)
    assert [(s.name, s.output_shape) for s in steps] == [("features.0 + features.1", (1, 2, 6, 6)),
                                                          ("features.2", (1, 2, 3, 3))]


def test_profile_takes_a_batch_of_images_as_it_is() -> None:
    steps = profile(TinyNet(), np.ones((2, 3, 8, 8), np.float32), repeat=1)
    assert [s.output_shape for s in steps] == [(2, 2, 6, 6), (2, 2, 3, 3)]


def test_profile_names_the_model_in_input_errors() -> None:
    with pytest.raises(TypeError, match=r"^TinyNet: input must hold real numbers, got dtype <U1 \(shape \(1, 1\)\)$"):
        profile(TinyNet(), np.array([["a"]]))


@pytest.mark.parametrize(("model", "shape", "message"), [
    (TinyNet(), (8, 8, 3), r"^TinyNet takes \(N, 3, H, W\) images, or one \(3, H, W\) image; got an input of shape "
                           r"\(8, 8, 3\), with 8 channels where 3 are expected: this looks like a channels-last "
                           r"\(H, W, C\) image — pass x\.transpose\(2, 0, 1\) "
                           r"\(numpy; torch: x\.permute\(2, 0, 1\)\)$"),
    (TinyNet(), (2, 8, 8, 3), r"shape \(2, 8, 8, 3\), with 8 channels where 3 are expected: .* "
                              r"pass x\.transpose\(0, 3, 1, 2\) \(numpy; torch: x\.permute\(0, 3, 1, 2\)\)$"),
    (TinyNet(), (1, 4, 8, 8), r"^TinyNet takes \(N, 3, H, W\) images, or one \(3, H, W\) image; got an input of "
                              r"shape \(1, 4, 8, 8\), with 4 channels where 3 are expected$"),
    (TinyNet(), (3, 8), r"^TinyNet takes \(N, 3, H, W\) images, or one \(3, H, W\) image; got an input of shape "
                        r"\(3, 8\)$"),
    (TinyNet(), (1, 1, 3, 8, 8), r"got an input of shape \(1, 1, 3, 8, 8\)$"),
    (TinyNet(convolution=False), (8, 8), r"^TinyNet takes \(N, C, H, W\) images, or one \(C, H, W\) image; got an "
                                         r"input of shape \(8, 8\)$"),
    (nn.Sequential(nn.Linear(3, 2)), (2, 3), r"^profile: Sequential's plan takes \(N, C, H, W\) input, got shape "
                                             r"\(2, 3\)$"),
])
def test_profile_says_what_input_it_takes(model: nn.Module, shape: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        profile(model, np.zeros(shape, np.float32))


def test_off_the_host_a_forward_that_cannot_be_traced_is_refused_saying_why(stand_in_cuda: None) -> None:
    """Only the host runs a model layer by layer; a device runs it through its plan or not at all."""
    model = AddsOne().to("cuda")
    with pytest.raises(RuntimeError, match=r"^AddsOne cannot run on StandIn: its forward cannot be traced \(only two "
                                           r"traced values can be added\); it runs through a plan there$"):
        model(np.zeros((1, 2, 5, 5), np.float32))


def test_verbose_says_how_each_convolution_runs(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """With PYCNN_VERBOSE set (and not "0"), building a plan prints one line per convolution step; sibling
    convolutions run as one show each one's output channels."""

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Sequential(nn.Conv2d(4, 5, 1, bias=False), nn.BatchNorm2d(5), nn.ReLU())
            self.b = nn.Sequential(nn.Conv2d(4, 3, 1), nn.ReLU())
            self.g = nn.Conv2d(8, 6, (3, 1), stride=(2, 1), groups=2)

        def forward(self, x: Any) -> Any:
            return self.g(nn.cat([self.a(x), self.b(x)], 1))

    for quiet in (None, "0", ""):
        if quiet is None:
            monkeypatch.delenv("PYCNN_VERBOSE", raising=False)
        else:
            monkeypatch.setenv("PYCNN_VERBOSE", quiet)
        Model()(np.zeros((1, 4, 7, 6), np.float32))  # a new model each time: a plan built each time
    assert capsys.readouterr().err == ""
    model = Model()
    monkeypatch.setenv("PYCNN_VERBOSE", "1")
    model(np.zeros((2, 4, 7, 6), np.float32))
    model(np.zeros((1, 4, 9, 5), np.float32))
    lines = [line.rsplit(" -> ", 1) for line in capsys.readouterr().err.splitlines()]
    assert [line for line, _ in lines] == [
        "pycnn: a.0: conv 2x4x7x6 4->5 1x1 stride 1x1",
        "pycnn: b.0: conv 2x4x7x6 4->3 1x1 stride 1x1",
        "pycnn: g: conv 2x8x7x6 8->6 3x1 stride 2x1 groups 2",
        "pycnn: a.0: conv 1x4x9x5 4->5+3 1x1 stride 1x1",
        "pycnn: g: conv 1x8x9x5 8->6 3x1 stride 2x1 groups 2",
    ]
    assert {choice for _, choice in lines} <= {"direct", "gemm", "gemm_transposed", "winograd"}
    # At batch 1 the siblings run as one step; each one's output is a view of its channels, written in place.
    assert plan_of(model, (1, 4, 9, 5)).describe() == "\n".join([
        "a.0 + a.1 + a.2 + b.0 + b.1 -> (1, 8, 9, 5)",
        "a.2 -> (1, 5, 9, 5)",
        "b.1 -> (1, 3, 9, 5)",
        "cat -> (1, 8, 9, 5)",
        "g -> (1, 6, 4, 5)",
    ])


def memory_of(steps: list[tuple[str, str, list[str]]], sizes: dict[str, int], output: str,
              placements: dict[str, tuple[str, int]] | None = None) -> tuple[Memory, dict[str, Value]]:
    """The memory plan of steps given as (output, kind, inputs), kind "write" or "view", of one-dimensional values
    of `sizes` ("x", the graph input, is never written)."""
    values = {name: Value((size,)) for name, size in {"x": 1, **sizes}.items()}
    plan_steps = [Step(out, [values[v] for v in inputs], values[out], print, is_view=kind == "view")
                  for out, kind, inputs in steps]
    placed = {id(values[v]): (values[container], at) for v, (container, at) in (placements or {}).items()}
    return Memory(plan_steps, values[output], placed), values


@pytest.mark.parametrize(("sizes", "slots"), [
    # d fits two free slots: it takes the smaller (b's), which leaves a's for e.
    ({"a": 5, "b": 2, "c": 1, "d": 2, "e": 5}, {"a": 0, "b": 1, "c": 2, "d": 1, "e": 0}),
    # d fits no free slot: it takes the larger (a's) and grows it, rather than taking a new one.
    ({"a": 4, "b": 2, "c": 1, "d": 6, "e": 1}, {"a": 0, "b": 1, "c": 2, "d": 0, "e": 1}),
])
def test_memory_reuses_the_free_slot_that_grows_least(sizes: dict[str, int], slots: dict[str, int]) -> None:
    memory, values = memory_of([("a", "write", ["x"]), ("b", "write", ["x"]), ("c", "write", ["a", "b"]),
                                ("d", "write", ["c"]), ("e", "write", ["c", "d"])], sizes, "e")
    assert {name: memory.place(values[name]) for name in slots} == {name: (s, 0) for name, s in slots.items()}
    assert memory.slot_sizes == [max(sizes[v] for v in slots if slots[v] == s) for s in range(3)]


def test_memory_keeps_a_value_while_a_view_of_it_is_read() -> None:
    memory, values = memory_of([("a", "write", ["x"]), ("v", "view", ["a"]), ("b", "write", ["x"]),
                                ("c", "write", ["v", "b"])], {"a": 3, "v": 3, "b": 3, "c": 1}, "c")
    assert [memory.place(values[name]) for name in "abc"] == [(0, 0), (1, 0), (2, 0)]


def test_memory_keeps_the_output_to_the_end_when_it_is_a_view() -> None:
    memory, values = memory_of([("a", "write", ["x"]), ("v", "view", ["a"]), ("b", "write", ["x"]),
                                ("c", "write", ["b"])], {"a": 3, "v": 3, "b": 3, "c": 3}, "v")
    assert [memory.place(values[name]) for name in "abc"] == [(0, 0), (1, 0), (2, 0)]


def test_memory_places_values_inside_values_placed_in_others() -> None:
    """a lies in b at 2, b in c at 3: a lies 5 into c's slot, which d (after c's last read) reuses."""
    memory, values = memory_of([("a", "write", ["x"]), ("b", "write", ["x"]), ("c", "write", ["x"]),
                                ("d", "write", ["c"])], {"a": 2, "b": 6, "c": 10, "d": 4}, "d",
                               {"a": ("b", 2), "b": ("c", 3)})
    assert [memory.place(values[name]) for name in "abcd"] == [(0, 5), (0, 3), (0, 0), (1, 0)]
    assert memory.slot_sizes == [10, 4]


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


def winograd_model() -> nn.Module:
    """A 3x3 convolution the engine runs as Winograd (64 channels at 28x28, on every ISA), then a 1x1 one."""
    return nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 8, 1))


def test_a_plan_packs_and_runs_each_convolution_as_the_engine_chooses(monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    shape = (1, 64, 28, 28)
    chosen = [_core.conv_algorithm(shape, (64, 64, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
              _core.conv_algorithm(shape, (8, 64, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1)]
    assert chosen[0] == "winograd"
    monkeypatch.setenv("PYCNN_VERBOSE", "1")
    model = winograd_model()
    plan = plan_of(model, shape)
    assert plan.input_shape == shape
    assert [line.rsplit(" -> ", 1)[1] for line in capsys.readouterr().err.splitlines()] == chosen
    packed = sorted(p[0].algorithm for p in model._plans.packed.values() if isinstance(p[0], _core.PackedConv2d))
    assert packed == sorted(chosen)
    assert plan.backend.uses_winograd


def test_only_input_beyond_winograd_s_range_leaves_it(rng: np.random.Generator) -> None:
    """Winograd's transforms overflow near float32's limit: a plan that uses it runs such an input without it."""
    plan = plan_of(winograd_model(), (1, 64, 28, 28))
    x = rng.standard_normal((1, 64, 28, 28), dtype=np.float32)
    assert plan.backend.for_input(x) is plan.backend
    x[0, 0, 0, 0] = 1e31
    assert plan.backend.for_input(x).winograd is False
    no_winograd = plan_of(nn.Sequential(nn.Conv2d(64, 8, 1)), (1, 64, 28, 28))
    assert not no_winograd.backend.uses_winograd and no_winograd.backend.for_input(x) is no_winograd.backend


def test_eager_mode_builds_no_plan(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PYCNN_VERBOSE", "1")
    model, x = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), np.zeros((1, 3, 8, 8), np.float32)
    with nn.eager():
        model(x)
    assert capsys.readouterr().err == ""
    model(x)
    assert capsys.readouterr().err.startswith("pycnn: 0: conv 1x3x8x8")


def test_profile_of_a_lone_layer_is_its_one_step() -> None:
    steps = profile(nn.Conv2d(3, 4, 3), np.zeros((1, 3, 8, 8), np.float32))
    assert [(s.name, s.output_shape) for s in steps] == [("", (1, 4, 6, 6))]


def test_a_plan_is_built_once_per_input_shape_and_kept() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    first = plan_of(model, (1, 3, 8, 8))
    packed = dict(model._plans.packed)
    assert plan_of(model, (1, 3, 8, 8)) is first and plan_of(model, (2, 3, 8, 8)) is not first
    assert all(model._plans.packed[k] is v for k, v in packed.items())  # the weights packed once, for both


class Pools(nn.Module):
    def forward(self, x: Any) -> Any:
        return nn.MaxPool2d(2)(x)


def test_ops_of_a_container_no_model_names_are_named_after_its_class() -> None:
    class Outer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, x: Any) -> Any:
            return Pools()(nn.ReLU()(self.conv(x)))  # made in forward: no name in the model

    assert [s.name for s in plan_of(Outer(), (1, 3, 4, 4)).steps] == ["conv", "Pools.maxpool2d"]
