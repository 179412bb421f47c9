"""The layer API: Module bookkeeping, state dicts, layers against torch.nn, and eager vs planned runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pycnn
from pycnn import nn

from conftest import assert_close

pytestmark = pytest.mark.smoke  # in `pytest -m smoke`, the quick subset of every tier


def small_net() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 6, 3, stride=2, padding=(1, 0), bias=False), nn.ReLU(inplace=True),
                         nn.AdaptiveAvgPool2d((2, 3)), nn.Flatten(), nn.Dropout(), nn.Linear(36, 5), nn.Softmax(dim=1))


def torch_small_net() -> torch.nn.Sequential:
    t = torch.nn
    return t.Sequential(t.Conv2d(3, 8, 3, padding=1), t.BatchNorm2d(8), t.ReLU(), t.MaxPool2d(2),
                        t.Conv2d(8, 6, 3, stride=2, padding=(1, 0), bias=False), t.ReLU(inplace=True),
                        t.AdaptiveAvgPool2d((2, 3)), t.Flatten(), t.Dropout(), t.Linear(36, 5), t.Softmax(dim=1)).eval()


def test_layers_in_sequence_match_torch(rng):
    reference = torch_small_net()
    with torch.no_grad():
        reference[1].running_mean.uniform_(-1, 1)
        reference[1].running_var.uniform_(0.5, 2)
    model = small_net()
    model.load_state_dict(reference.state_dict())  # torch tensors are accepted as they are
    x = rng.standard_normal((3, 3, 17, 15), dtype=np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    assert_close(model(x), expected)
    with nn.eager():
        assert_close(model(x), expected)


@pytest.mark.parametrize("make", [
    lambda t: t.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
    lambda t: t.Conv2d(4, 4, 3, padding="same", bias=False),
    lambda t: t.MaxPool2d(3, 2, 1, ceil_mode=True),
    lambda t: t.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda t: t.AdaptiveAvgPool2d((3, None)),
    lambda t: t.LocalResponseNorm(3, alpha=1e-2, beta=0.6, k=1.5),
    lambda t: t.BatchNorm2d(4, eps=1e-3),
    lambda t: t.ReLU(),
    lambda t: t.Flatten(2),
    lambda t: t.Softmax(dim=-1),
], ids=["conv", "conv_same", "maxpool", "avgpool", "adaptive", "lrn", "bn", "relu", "flatten", "softmax"])
def test_each_layer_matches_torch(make, rng, device):
    reference = make(torch.nn).eval()
    layer = make(nn)
    layer.load_state_dict(reference.state_dict())
    assert repr(layer) == repr(reference)
    x = rng.standard_normal((2, 4, 9, 8), dtype=np.float32)
    got = layer.to(device)(x)
    assert isinstance(got, np.ndarray)  # numpy in, numpy out on every device
    with torch.no_grad():
        assert_close(got, reference(torch.from_numpy(x)).numpy())


def test_linear_and_dropout_match_torch(rng):
    reference = torch.nn.Linear(7, 3).eval()
    layer = nn.Linear(7, 3)
    layer.load_state_dict(reference.state_dict())
    assert repr(layer) == repr(reference) and repr(nn.Dropout(0.3)) == repr(torch.nn.Dropout(0.3))
    x = rng.standard_normal((2, 5, 7), dtype=np.float32)
    with torch.no_grad():
        assert_close(layer(x), reference(torch.from_numpy(x)).numpy())
    np.testing.assert_array_equal(nn.Dropout(0.9)(x), x)


def test_state_dict_order_and_contents():
    model = small_net()
    keys = list(model.state_dict())
    assert keys == list(torch_small_net().state_dict())
    assert model.state_dict()["1.num_batches_tracked"].dtype == np.int64
    assert len(list(model.parameters())) == 7 and len(list(model.buffers())) == 3
    assert [n for n, _ in model.named_children()][:3] == ["0", "1", "2"]


def test_load_state_dict_lists_every_problem():
    model = small_net()
    state = dict(model.state_dict())
    del state["0.weight"]
    state["9.weight"] = np.zeros((5, 99), np.float32)
    state["extra.weight"] = np.zeros(3, np.float32)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(nn.StateDictError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "Missing key(s): 0.weight" in message
    assert "Unexpected key(s): extra.weight" in message
    assert "size mismatch for 9.weight: checkpoint shape (5, 99), model shape (5, 36)" in message
    for k, v in model.state_dict().items():  # nothing was changed
        np.testing.assert_array_equal(v, before[k])


def test_load_state_dict_non_strict_reports_keys():
    model = small_net()
    state = dict(model.state_dict())
    del state["9.bias"]
    state["unused"] = np.ones(2)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["9.bias"] and result.unexpected_keys == ["unused"]
    state["9.weight"] = np.zeros((1, 1))
    with pytest.raises(nn.StateDictError, match=r"size mismatch for 9\.weight"):
        model.load_state_dict(state, strict=False)


def test_load_state_dict_rejects_non_numeric():
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="weight"):
        model.load_state_dict({"weight": np.array([["a", "b"], ["c", "d"]]), "bias": np.zeros(2)})


def test_parameters_are_read_only_and_assignment_converts():
    conv = nn.Conv2d(2, 3, 1)
    with pytest.raises(ValueError, match="read-only"):
        conv.weight[...] = 0
    conv.weight = np.ones((3, 2, 1, 1), dtype=np.float64)
    assert conv.weight.dtype == np.float32 and not conv.weight.flags.writeable


def test_inference_only():
    model = small_net()
    assert model.eval() is model and model.training is False
    with pytest.raises(NotImplementedError, match="inference only"):
        model.train()
    with pytest.raises(ValueError, match="track_running_stats"):
        nn.BatchNorm2d(3, track_running_stats=False)


def test_constructor_errors():
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="stride 1"):
        nn.Conv2d(4, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(4, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="half the kernel size"):
        nn.MaxPool2d(2, padding=2)


def test_shape_errors_name_the_layer(rng):
    model = small_net()
    with pytest.raises(ValueError, match=r"expects 3 input channels.*\(1, 5, 8, 8\)"):
        model(rng.standard_normal((1, 5, 8, 8), dtype=np.float32))


def test_unbatched_and_non_4d_inputs_run_eagerly(rng):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    x = rng.standard_normal((3, 6, 6), dtype=np.float32)
    expected = model(x[None])[0]
    assert_close(model(x), expected)


def test_custom_untraceable_forward_falls_back_to_eager(rng):
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 1)

        def forward(self, x):
            return np.tanh(self.conv(x))

    model = Odd()
    x = rng.standard_normal((1, 2, 4, 4), dtype=np.float32)
    with pytest.warns(RuntimeWarning, match="layer by layer"):
        y = model(x)
    np.testing.assert_allclose(y, np.tanh(pycnn.functional.conv2d(x, model.conv.weight, model.conv.bias)),
                               rtol=1e-6)


def test_concurrent_calls_of_one_model_agree(rng):
    from concurrent.futures import ThreadPoolExecutor

    model = pycnn.models.resnet18()
    xs = [rng.standard_normal((1, 3, 64, 64), dtype=np.float32) for _ in range(8)]
    serial = [model(x) for x in xs]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(model, xs))
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(a, b)
