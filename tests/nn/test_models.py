"""Every model against torchvision with identical random weights and non-trivial BatchNorm statistics, on every
device."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

import pycnn
import pycnn.models as models

from conftest import assert_close
from reference import MODEL_RTOL, run_python

torch.set_num_threads(2)

MODELS = ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
          "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]


def randomise_batch_norm(model: torch.nn.Module, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=gen) * 0.4 - 0.2)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(n, generator=gen) * 0.4 - 0.2)


def randomise_biases(model: torch.nn.Module, seed: int = 1) -> None:
    """Every convolution's and linear layer's bias random (torchvision initialises VGG's and others' to 0, which
    would hide a plan that drops or misplaces them)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and m.bias is not None:
                m.bias.copy_(torch.rand(m.bias.shape, generator=gen) * 0.2 - 0.1)


def torchvision_model(name: str, **kwargs) -> torch.nn.Module:
    """torchvision's model with every parameter and buffer random: weights as initialised, biases and BatchNorm
    statistics and affine terms drawn here."""
    if name == "googlenet":
        kwargs = {"aux_logits": False, "init_weights": True, **kwargs}
    model = getattr(torchvision.models, name)(**kwargs).eval()
    randomise_batch_norm(model)
    randomise_biases(model)
    return model


def pycnn_model(name: str, **kwargs):
    if name == "googlenet":
        kwargs = {"aux_logits": False, "init_weights": False, **kwargs}
    return getattr(models, name)(**kwargs)


def logits(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


@pytest.mark.full_size
@pytest.mark.parametrize("name", MODELS)
def test_model_matches_torchvision(name, rng, device):
    reference = torchvision_model(name)
    model = pycnn_model(name)
    model.load_state_dict(reference.state_dict())
    ours, theirs = model.state_dict(), reference.state_dict()
    assert list(ours) == list(theirs)
    assert all(ours[k].shape == tuple(theirs[k].shape) for k in ours)
    x = rng.standard_normal((2, 3, 224, 224), dtype=np.float32)
    expected = logits(reference, x)
    fused = model.to(device)(x)
    assert_close(fused, expected, rtol=1e-3)
    if device == "cpu":  # a model on a device runs only through its plan
        with pycnn.nn.eager():
            assert_close(model(x), expected, rtol=1e-3)


@pytest.mark.full_size
@pytest.mark.precisions("tf32", "bf16")
@pytest.mark.parametrize("name", ["alexnet", "vgg16", "googlenet", "resnet50"])
def test_tensor_core_models_stay_near_fp32_torch(name, device, precision):
    reference = torchvision_model(name)
    model = pycnn_model(name)
    model.load_state_dict(reference.state_dict())
    x = np.random.default_rng(19).standard_normal((2, 3, 224, 224), dtype=np.float32)
    assert_close(model.to(device)(x), logits(reference, x), MODEL_RTOL[precision])


@pytest.mark.full_size
@pytest.mark.parametrize("name", ["alexnet", "vgg16", "googlenet", "resnet18", "resnet50"])
def test_bf16_models_on_the_cpu_stay_as_near_fp32_torch_as_openvino_bf16(name):
    """OpenVINO's bf16 logits are 3e-3 to 1e-2 of float32 torch's on these models (docs/precision.md)."""
    reference = torchvision_model(name)
    model = pycnn_model(name).set_precision("bf16")
    model.load_state_dict(reference.state_dict())
    x = np.random.default_rng(23).standard_normal((1, 3, 224, 224), dtype=np.float32)
    expected = logits(reference, x)
    got = model(x)
    assert_close(got, expected, 1e-2)
    with pycnn.precision("fp32"):  # the model's own precision, not the process's
        assert not np.array_equal(model(x), model.set_precision(None)(x))


def test_repr_matches_torchvision():
    for name in ["alexnet", "vgg11_bn", "googlenet", "resnet50"]:
        ours = [line for line in repr(pycnn_model(name)).splitlines() if "(flatten): Flatten" not in line]
        assert ours == repr(torchvision_model(name)).splitlines(), name


GENERIC_ZOO = """
import sys
sys.path[:0] = sys.argv[1:]  # this test's folder and the shared helpers' (tests/)
import numpy as np, pycnn
from test_models import MODELS, TorchOriginalAlexNet, logits, pycnn_model, torchvision_model
assert pycnn.isa() == "generic", pycnn.isa()
rng = np.random.default_rng(0)
x = rng.standard_normal((1, 3, 224, 224), dtype=np.float32)
for name in [*MODELS, "alexnet_original"]:
    reference = TorchOriginalAlexNet().eval() if name == "alexnet_original" else torchvision_model(name)
    model = pycnn_model(name)
    model.load_state_dict(reference.state_dict())
    expected = logits(reference, x)
    print(name, float(np.abs(model(x) - expected).max() / np.abs(expected).max()), flush=True)
"""


def test_whole_zoo_under_pycnn_isa_generic():
    # The portable kernels through every model, in a fresh interpreter where PYCNN_ISA caps the dispatch.
    here = Path(__file__).resolve()
    result = run_python(GENERIC_ZOO, str(here.parent), str(here.parents[1]), timeout=900, PYCNN_ISA="generic")
    assert result.returncode == 0, result.stderr[-3000:]
    errors = {name: float(err) for name, err in (line.split() for line in result.stdout.splitlines())}
    assert list(errors) == [*MODELS, "alexnet_original"]
    assert all(err <= 1e-3 for err in errors.values()), errors


def test_googlenet_transform_input(rng, device):
    reference = torchvision_model("googlenet", transform_input=True)
    model = pycnn_model("googlenet", transform_input=True)
    model.load_state_dict(reference.state_dict())
    x = rng.standard_normal((2, 3, 64, 64), dtype=np.float32)  # the transform is per pixel: any size shows it
    assert_close(model.to(device)(x), logits(reference, x), rtol=1e-3)


def test_googlenet_weights_with_aux_classifiers_load_and_drop_them(rng):
    reference = torchvision.models.googlenet(aux_logits=True, transform_input=True, init_weights=True).eval()
    randomise_batch_norm(reference)
    model = models.googlenet(weights=reference.state_dict())
    assert model.aux1 is None and model.aux2 is None and model.transform_input
    assert not any(k.startswith("aux") for k in model.state_dict())
    x = rng.standard_normal((1, 3, 224, 224), dtype=np.float32)
    assert_close(model(x), logits(reference, x), rtol=1e-3)
    kept = models.googlenet(weights=reference.state_dict(), aux_logits=True)
    assert kept.aux1 is not None and "aux1.fc2.weight" in kept.state_dict()


class TorchOriginalAlexNet(torch.nn.Module):
    """The 2012 two-GPU AlexNet written with torch.nn, as the reference for pycnn's alexnet_original."""

    def __init__(self) -> None:
        super().__init__()
        nn = torch.nn
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, 11, 4, 2), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0), nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2))
        self.classifier = nn.Sequential(nn.Dropout(), nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(),
                                        nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def test_alexnet_original_matches_torch(rng):
    reference = TorchOriginalAlexNet().eval()
    model = models.alexnet_original()
    model.load_state_dict(reference.state_dict())
    conv_shapes = [tuple(m.weight.shape) for m in model.modules() if isinstance(m, pycnn.nn.Conv2d)]
    assert conv_shapes == [(96, 3, 11, 11), (256, 48, 5, 5), (384, 256, 3, 3), (384, 192, 3, 3), (256, 192, 3, 3)]
    x = rng.standard_normal((2, 3, 224, 224), dtype=np.float32)
    assert_close(model(x), logits(reference, x), rtol=1e-3)


def test_plan_fuses_batch_norm_relu_and_residual_add():
    model = models.resnet50()
    plan = model._plans.plan((1, 3, 224, 224)) if model._plans else None
    if plan is None:
        model(np.zeros((1, 3, 224, 224), np.float32))
        plan = model._plans.plan((1, 3, 224, 224))
    names = [step.name for step in plan.steps]
    convs = [m for m in model.modules() if isinstance(m, pycnn.nn.Conv2d)]
    # 53 fused convolutions, the stem max-pool, global pool, flatten view and fc: nothing else remains.
    assert len(plan.steps) == len(convs) + 4, names
    # No BatchNorm, residual addition (a step named exactly "add") or ReLU runs as a step of its own.
    assert not [s for s in names if s == "add" or s.endswith(("bn1", "bn2", "bn3", "relu"))], names
    fused = {s.name: s.fused for s in plan.steps}
    assert fused["layer1.0.conv3"] == ["layer1.0.bn3", "add", "layer1.0.relu"]
    assert fused["conv1"] == ["bn1", "relu"]


def test_plan_follows_weight_changes(rng, device):
    model = models.resnet18().to(device)
    x = rng.standard_normal((1, 3, 64, 64), dtype=np.float32)
    before = model(x)
    model.fc.bias = model.fc.bias + 1.0
    after = model(x)
    assert_close(after, before + 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="read-only"):
        model.fc.weight[0, 0] = 5.0


def test_plan_rebuilds_per_isa_and_shape(rng):
    model = models.resnet18()
    small = rng.standard_normal((1, 3, 64, 64), dtype=np.float32)
    large = rng.standard_normal((3, 3, 96, 80), dtype=np.float32)
    with pycnn.nn.eager():
        expected_small, expected_large = model(small), model(large)
    assert_close(model(small), expected_small)
    assert_close(model(large), expected_large)
    keys = set(model._plans.plans)
    assert {k[0] for k in keys} == {small.shape, large.shape}


def test_model_output_is_a_new_array_and_input_untouched(rng):
    model = models.resnet18()
    x = rng.standard_normal((1, 3, 64, 64), dtype=np.float32)
    copy = x.copy()
    a, b = model(x), model(x)
    assert a is not b and not np.shares_memory(a, b)
    np.testing.assert_array_equal(x, copy)
    np.testing.assert_array_equal(a, b)


TORCH_FREE_RUN = """
import sys
sys.modules["torch"] = None  # importing torch now raises ImportError
import numpy as np
import pycnn
model = pycnn.models.resnet18(weights=sys.argv[1])
np.save(sys.argv[3], model(np.load(sys.argv[2])))
assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules if sys.modules[m] is not None)
"""


@pytest.mark.parametrize("suffix", [".pth", ".safetensors", ".npz"])
def test_weights_file_runs_without_torch(suffix, rng, tmp_path):
    reference = torchvision_model("resnet18")
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".pth":
        torch.save(reference.state_dict(), path)  # the zip format with pickled tensor rebuilds
    else:
        pycnn.save(reference.state_dict(), path)
    x = rng.standard_normal((1, 3, 224, 224), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    result = run_python(TORCH_FREE_RUN, str(path), str(tmp_path / "x.npy"), str(tmp_path / "y.npy"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert_close(np.load(tmp_path / "y.npy"), logits(reference, x), rtol=1e-3)


def test_weights_file_of_another_dtype_converts_as_torch_does(rng, tmp_path):
    """float16 and float64 weights load into float32 parameters, as torch's load_state_dict copies them."""
    reference = torchvision_model("resnet18")
    state = {k: v.half() if v.is_floating_point() and "running" not in k else v.double() if v.is_floating_point()
             else v for k, v in reference.state_dict().items()}
    pycnn.save(state, tmp_path / "mixed.safetensors")
    reference.load_state_dict(state)
    model = pycnn.models.resnet18(weights=tmp_path / "mixed.safetensors")
    assert model.conv1.weight.dtype == np.float32 and model.bn1.running_var.dtype == np.float32
    x = rng.standard_normal((1, 3, 64, 64), dtype=np.float32)
    assert_close(model(x), logits(reference, x), rtol=1e-3)


def test_weights_file_of_the_wrong_shapes_is_refused_as_torch_refuses_it(tmp_path):
    reference = torchvision_model("resnet18")
    state = {k: v.numpy() for k, v in reference.state_dict().items()}
    state["fc.weight"] = state["fc.weight"].T.copy()
    state["layer1.0.conv1.weight"] = state["layer1.0.conv1.weight"][:, :, :1]
    pycnn.save(state, tmp_path / "wrong.npz")
    with pytest.raises(RuntimeError, match="size mismatch"):
        reference.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    with pytest.raises(pycnn.nn.StateDictError) as info:
        pycnn.models.resnet18(weights=tmp_path / "wrong.npz")
    message = str(info.value)
    assert "fc.weight: checkpoint shape (512, 1000), model shape (1000, 512)" in message
    assert "layer1.0.conv1.weight: checkpoint shape (64, 64, 1, 3), model shape (64, 64, 3, 3)" in message
