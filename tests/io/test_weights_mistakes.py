"""Weights mistakes explained: a torchvision weights tag names the file to pass; a wrapped checkpoint (a shared
"module." prefix, a nested {"model": state_dict}) gets one line saying what wraps it and how to unwrap it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

import pycnn
from pycnn.models._torchvision_files import TORCHVISION_FILES
from pycnn.models._weights import WeightsTagError
from pycnn.nn import StateDictError
from pycnn.nn.state_hints import prefix_fix, state_dict_hint, unwrap_state_dict


def test_the_file_table_is_torchvisions() -> None:
    for model, files in TORCHVISION_FILES.items():
        enum = torchvision.models.get_model_weights(model)
        assert files == {w.name: w.url.rsplit("/", 1)[1] for w in enum}, model
        assert next(iter(files)) == enum.DEFAULT.name, model  # the first tag is DEFAULT's


@pytest.mark.parametrize(("weights", "file"), [
    ("IMAGENET1K_V1", "resnet50-0676ba61.pth"),
    ("DEFAULT", "resnet50-11ad3fa6.pth"),
    ("ResNet50_Weights.IMAGENET1K_V2", "resnet50-11ad3fa6.pth"),
    (torchvision.models.ResNet50_Weights.IMAGENET1K_V1, "resnet50-0676ba61.pth"),
])
def test_a_torchvision_tag_names_the_file_to_pass(weights: object, file: str) -> None:
    with pytest.raises(WeightsTagError) as error:
        pycnn.models.resnet50(weights=weights)
    message = str(error.value)
    assert "\n" not in message
    assert "pycnn downloads nothing" in message
    assert f"the file {file} (https://download.pytorch.org/models/{file};" in message
    assert message.endswith(f'pass its path, resnet50(weights="{file}")')


def test_the_tag_message_in_full() -> None:
    with pytest.raises(WeightsTagError) as error:
        pycnn.models.googlenet(weights="IMAGENET1K_V1")
    assert str(error.value) == (
        "weights='IMAGENET1K_V1': pycnn downloads nothing. torchvision's googlenet IMAGENET1K_V1 weights are the file "
        "googlenet-1378be20.pth (https://download.pytorch.org/models/googlenet-1378be20.pth; torchvision keeps what it "
        "downloads in ~/.cache/torch/hub/checkpoints/): pass its path, googlenet(weights=\"googlenet-1378be20.pth\")")


def test_a_tag_the_model_lacks_lists_those_it_has() -> None:
    with pytest.raises(WeightsTagError, match=r"torchvision has no IMAGENET1K_V2 weights for alexnet \(it has "
                                              r"IMAGENET1K_V1\)"):
        pycnn.models.alexnet(weights="IMAGENET1K_V2")


def test_a_file_named_like_a_tag_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a name that is no file is taken for a tag."""
    state = {k: v + 1 for k, v in pycnn.models.resnet18().state_dict().items()}
    monkeypatch.chdir(tmp_path)
    pycnn.save(state, "WEIGHTS.npz")
    loaded = pycnn.models.resnet18(weights="WEIGHTS.npz").state_dict()
    assert all(np.array_equal(loaded[k], v) for k, v in state.items())
    with pytest.raises(FileNotFoundError):
        pycnn.models.resnet18(weights="missing.pth")


# --- wrapped checkpoints ------------------------------------------------------------------------------------------

Pair = tuple[torch.nn.Module, dict[str, np.ndarray]]  # torchvision's resnet18 and its state dict as numpy arrays

@pytest.fixture(scope="module")
def resnet18_pair() -> Pair:
    torch.manual_seed(0)
    reference = torchvision.models.resnet18().eval()
    return reference, {k: v.numpy() for k, v in reference.state_dict().items()}


def model_keys() -> list[str]:
    return list(pycnn.models.resnet18().state_dict())


def test_no_hint_when_nothing_wraps_the_keys(resnet18_pair: Pair) -> None:
    _, state = resnet18_pair
    keys = model_keys()
    assert state_dict_hint(keys, state) is None
    assert state_dict_hint(keys, {k: v for k, v in state.items() if "layer4" not in k}) is None  # really missing
    vgg = {f"features.{i}.weight": np.zeros(1) for i in range(13)}
    assert state_dict_hint(keys, vgg) is None  # another network's checkpoint: no prefix explains it


def test_a_shared_prefix_is_named_with_its_fix(resnet18_pair: Pair) -> None:
    _, state = resnet18_pair
    keys = model_keys()
    for prefix in ("module.", "model.", "module.model."):
        wrapped = {prefix + k: v for k, v in state.items()}
        assert prefix_fix(keys, wrapped) == (prefix, "")
        assert state_dict_hint(keys, wrapped) == (
            f"the checkpoint's keys all start with {prefix!r}, which the model's lack (a wrapped model's state dict); "
            f"load {{k.removeprefix({prefix!r}): v for k, v in state.items()}}")
        assert unwrap_state_dict(keys, wrapped).keys() == state.keys()


def test_a_nested_state_dict_is_named_with_its_fix(resnet18_pair: Pair) -> None:
    _, state = resnet18_pair
    keys = model_keys()
    checkpoint = {"epoch": 90, "model": state, "optimizer": {"state": {}, "param_groups": []}}
    assert state_dict_hint(keys, checkpoint) == (
        "the checkpoint holds the model's state dict under 'model' beside 'epoch', 'optimizer' (a training "
        "checkpoint); load state['model']")
    both = {"state_dict": {"module." + k: v for k, v in state.items()}}
    assert state_dict_hint(keys, both) == (
        "the checkpoint holds the model's state dict under 'state_dict', its keys all start with 'module.', which the "
        "model's lack (a training checkpoint); load {k.removeprefix('module.'): v for k, v in state['state_dict']"
        ".items()}")
    assert unwrap_state_dict(keys, both).keys() == state.keys()


def test_the_model_side_prefix() -> None:
    keys = ["backbone.conv.weight", "backbone.fc.weight", "backbone.fc.bias"]
    assert prefix_fix(keys, ["conv.weight", "fc.weight", "fc.bias"]) == ("", "backbone.")
    assert state_dict_hint(keys, {"conv.weight": 0, "fc.weight": 0, "fc.bias": 0}) == (
        "the checkpoint's keys lack the 'backbone.' that all the model's start with (a wrapped model's state dict); "
        "load {'backbone.' + k: v for k, v in state.items()}")


def test_a_wrapped_file_fails_in_one_line_and_its_fix_gives_torchs_logits(
        tmp_path: Path, resnet18_pair: Pair) -> None:
    reference, state = resnet18_pair
    path = tmp_path / "ddp.npz"
    pycnn.save({"module." + k: v for k, v in state.items()}, path)
    with pytest.raises(StateDictError) as error:
        pycnn.models.resnet18(weights=path)
    assert str(error.value) == (
        f"weights={str(path)!r}: the checkpoint's keys all start with 'module.', which the model's lack (a wrapped "
        f"model's state dict); load {{k.removeprefix('module.'): v for k, v in pycnn.load({str(path)!r}).items()}}")
    # The fix, as the message words it, loads; the logits are torchvision's.
    fixed = {k.removeprefix("module."): v for k, v in pycnn.load(str(path)).items()}
    model = pycnn.models.resnet18(weights=fixed)
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64), dtype=np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x), expected, rtol=1e-4, atol=1e-4 * float(np.abs(expected).max()))
