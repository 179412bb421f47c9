"""The classic networks take what the ops take: one unbatched image, torch tensors, and a clear error naming the
expected (N, C, H, W) — with a hint for channels-last images — for anything else."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import pycnn
from pycnn.nn.plan import profile

from conftest import assert_close
from reference import normal

SMALL = {"alexnet": 64, "vgg11": 32, "googlenet": 32, "resnet18": 32, "alexnet_original": 224}


def build(name: str) -> pycnn.nn.Module:
    kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    return getattr(pycnn.models, name)(**kwargs)


@pytest.mark.parametrize("name", SMALL)
def test_one_unbatched_image_runs_as_a_batch_of_one(name: str) -> None:
    model, size = build(name), SMALL[name]
    image = normal(np.random.default_rng(1), (3, size, size))
    logits = model(image)
    assert logits.shape == (1000,)
    assert_close(logits, model(image[None])[0], 0)  # the same plan, bit for bit


def test_torch_tensors_in_give_torch_tensors_out() -> None:
    model = build("resnet18")
    image = torch.from_numpy(normal(np.random.default_rng(2), (3, 32, 32)))
    batch, single = model(image[None]), model(image)
    assert isinstance(batch, torch.Tensor) and isinstance(single, torch.Tensor)
    assert batch.shape == (1, 1000) and single.shape == (1000,)
    assert torch.equal(batch[0], single)


@pytest.mark.parametrize(("shape", "message"), [
    ((32, 32, 3), r"ResNet takes \(N, 3, H, W\) images, or one \(3, H, W\) image; got an input of shape "
                  r"\(32, 32, 3\), with 32 channels where 3 are expected: this looks like a channels-last \(H, W, C\) "
                  r"image — pass x\.transpose\(2, 0, 1\)"),
    ((2, 32, 32, 3), r"shape \(2, 32, 32, 3\).*pass x\.transpose\(0, 3, 1, 2\)"),
    ((1, 1, 32, 32), r"got an input of shape \(1, 1, 32, 32\), with 1 channels where 3 are expected$"),
    ((3, 32), r"ResNet takes \(N, 3, H, W\) images, or one \(3, H, W\) image; got an input of shape \(3, 32\)$"),
    ((1, 1, 3, 32, 32), r"got an input of shape \(1, 1, 3, 32, 32\)$"),
])
def test_wrong_shapes_say_what_is_expected(shape: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build("resnet18")(np.zeros(shape, np.float32))


@pytest.mark.parametrize("shape", [(3, 64, 64), (64, 64, 3), (2, 3), (1, 64, 64, 3)])
def test_googlenet_on_any_shape_never_surfaces_a_numpy_message(shape: tuple[int, ...]) -> None:
    model = build("googlenet")
    try:
        model(np.zeros(shape, np.float32))
    except ValueError as error:
        assert "GoogLeNet takes (N, 3, H, W) images" in str(error)
        assert "concatenation axis" not in str(error)


def test_pycnns_googlenet_warns_about_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = pycnn.models.googlenet()
    init = pycnn.models.googlenet(init_weights=True)
    for ours, initialised in zip(model.parameters(), init.parameters(), strict=True):
        assert ours.shape == initialised.shape
    weights = dict(model.named_parameters())["conv1.conv.weight"]
    assert 0.008 < float(weights.std()) < 0.012  # initialised as torchvision does: N(0, 0.01²), not the layer default


def test_profile_takes_what_the_model_takes() -> None:
    model = build("resnet18")
    image = normal(np.random.default_rng(4), (3, 32, 32))
    steps = profile(model, image, repeat=2)
    assert steps[-1].name == "fc" and steps[-1].output_shape == (1, 1000)
    with pytest.raises(ValueError, match=r"ResNet takes \(N, 3, H, W\) images"):
        profile(model, np.zeros((32, 32, 3), np.float32))
