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


# Constructor calls, each made in pycnn.nn and in torch.nn: the reprs must be the same.
REPR_CASES = [
    "Conv2d(3, 8, 3)", "Conv2d(3, 8, 3, padding=0)", "Conv2d(3, 8, 3, padding='valid')",
    "Conv2d(3, 8, 3, padding='same')", "Conv2d(4, 8, 3, padding=(0, 1))", "Conv2d(4, 8, 3, padding=(1, 0))",
    "Conv2d(4, 8, 3, padding=1)", "Conv2d(4, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(2, 3), bias=False)",
    "Conv2d(4, 8, 3, dilation=(1, 2))", "Conv2d(4, 8, 3, dilation=(2, 1))", "Conv2d(4, 8, 3, groups=4)",
    "ReLU()", "ReLU(inplace=True)", "ReLU(False)",
    "MaxPool2d(2)", "MaxPool2d(3, 2, 1, 2, ceil_mode=True)", "MaxPool2d((3, 2), stride=(2, 1))",
    "AvgPool2d(2)", "AvgPool2d(3, stride=1)", "AvgPool2d((3, 2), 2, 1, ceil_mode=True, count_include_pad=False)",
    "AdaptiveAvgPool2d(1)", "AdaptiveAvgPool2d((2, None))",
    "Linear(3, 4)", "Linear(3, 4, bias=False)",
    "LocalResponseNorm(5)", "LocalResponseNorm(3, alpha=1e-2, beta=0.6, k=2)",
    "BatchNorm2d(4)", "BatchNorm2d(4, eps=1e-3, momentum=None, affine=False)", "BatchNorm2d(4, momentum=0.2)",
    "BatchNorm2d(4, bias=False)",
    "Dropout()", "Dropout(0.3, inplace=True)", "Dropout(p=1)",
    "Flatten()", "Flatten(0, 2)", "Softmax()", "Softmax(dim=1)",
    "Sequential()", "Sequential(ReLU())",
    "Sequential(Conv2d(3, 4, 3), Sequential(ReLU(), Flatten()), Sequential(), Linear(2, 3))",
]


@pytest.mark.parametrize("call", REPR_CASES)
def test_repr_matches_torch(call):
    assert repr(eval(call, vars(nn))) == repr(eval(call, vars(torch.nn)))


def test_asymmetric_padding_shows_as_four_values():
    assert "padding" not in repr(nn.Conv2d(4, 8, 3, padding=(0, 0, 0, 0)))
    assert repr(nn.Conv2d(4, 8, 3, padding=(1, 1, 1, 1))) == \
        "Conv2d(4, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1))"
    assert repr(nn.Conv2d(4, 8, 3, padding=(0, 1, 0, 0))).endswith("padding=(0, 1, 0, 0))")


def test_macs_count_each_multiply_once():
    conv, linear = nn.Conv2d(4, 6, (3, 2), groups=2), nn.Linear(252, 5)
    rows = pycnn.summary(nn.Sequential(conv, nn.Flatten(), linear), (2, 4, 8, 8)).rows
    # Each of the 2·6·6·7 conv outputs sums 4/2 channels · 3·2 taps; each of the 2·5 linear outputs 252 products.
    assert [r.macs for r in rows] == [2 * 6 * 6 * 7 * 2 * 3 * 2, 0, 2 * 5 * 252]
    assert all(type(r.macs) is int for r in rows)
    assert conv.macs((1, 4, 8, 8), (1, 6, 6, 7)) == 6 * 6 * 7 * 2 * 6


@pytest.mark.parametrize("shape", [(), (5,), (2, 5), (3, 4, 5), (2, 3, 4, 5)])
def test_softmax_without_dim_picks_torch_s_dimension(shape, rng):
    x = rng.standard_normal(shape, dtype=np.float32)
    with pytest.warns(UserWarning, match=r"^Softmax with dim=None picks a dimension implicitly, as PyTorch's "
                                         r"legacy rule does; pass dim$"):
        got = nn.Softmax()(x)
    with pytest.warns(UserWarning):
        expected = torch.nn.Softmax()(torch.from_numpy(x)).numpy()
    assert_close(got, expected)


# mutmut's trampolines put frames of their own between a caller and pycnn's functions: a stack level lands in them.
@pytest.mark.skipif(nn.Softmax._dim.__code__.co_name != "_dim", reason="run under mutmut: stack levels shift")
def test_softmax_s_dim_warning_points_at_the_caller(rng):
    with pytest.warns(UserWarning, match="implicitly") as warned:
        nn.Softmax()(rng.standard_normal((2, 5), dtype=np.float32))
    assert [w.filename for w in warned] == [__file__]


@pytest.mark.parametrize("flatten", [nn.Flatten(2), nn.Flatten()])
def test_planned_softmax_without_dim_picks_torch_s_dimension(flatten, rng):
    x = rng.standard_normal((3, 4, 2, 5), dtype=np.float32)
    with pytest.warns(UserWarning, match="implicitly"):
        got = nn.Sequential(flatten, nn.Softmax())(x)
    with pytest.warns(UserWarning):
        expected = torch.nn.Sequential(torch.nn.Flatten(flatten.start_dim), torch.nn.Softmax())(torch.from_numpy(x))
    assert_close(got, expected.numpy())


SPATIAL_LAYERS = [nn.Conv2d(3, 4, 5), nn.MaxPool2d(5), nn.AvgPool2d(5), nn.AdaptiveAvgPool2d(1), nn.BatchNorm2d(3)]


@pytest.mark.parametrize("layer", SPATIAL_LAYERS, ids=lambda layer: type(layer).__name__)
def test_planned_shape_errors_name_the_layer(layer):
    name = type(layer).__name__
    x = np.zeros((2, 3, 4, 4), np.float32)
    with pytest.raises(ValueError, match=rf"^{name}: input must be 4-D \(N, C, H, W\), got shape \(2, 48\)$"):
        nn.Sequential(nn.Flatten(), layer)(x)
    if hasattr(layer, "window"):
        with pytest.raises(ValueError, match=rf"^{name}: input of shape \(2, 3, 4, 4\), kernel \(5, 5\), "):
            nn.Sequential(nn.MaxPool2d(1), layer)(x)


def test_planned_softmax_dim_errors_name_the_layer():
    x = np.zeros((2, 3, 4, 4), np.float32)
    with pytest.raises(ValueError, match=r"^Softmax: dim=3 is out of range for an array with 2 dimensions$"):
        nn.Sequential(nn.Flatten(), nn.Softmax(dim=3))(x)


def test_channel_and_feature_mismatches_name_the_layer():
    x = np.zeros((2, 3, 4, 4), np.float32)
    message = r"^BatchNorm2d: expected 4 channels, got input of shape \(2, 3, 4, 4\)$"
    for run in (nn.BatchNorm2d(4), nn.Sequential(nn.MaxPool2d(1), nn.BatchNorm2d(4))):
        with pytest.raises(ValueError, match=message):
            run(x)
    with pytest.raises(ValueError, match=r"^BatchNorm2d: expected 4 channels, got input of shape \(3, 4, 4\)$"):
        nn.BatchNorm2d(4)(x[0])
    with pytest.raises(ValueError, match=r"^BatchNorm2d: input must be 3-D or 4-D \(\(N, C, H, W\) or \(C, H, W\)\), "
                                         r"got shape \(2, 3\)$"):
        nn.BatchNorm2d(3)(x[:, :, 0, 0])
    with pytest.raises(ValueError, match=r"^Linear: input of shape \(2, 3, 4, 4\) does not end in in_features=5$"):
        nn.Sequential(nn.MaxPool2d(1), nn.Linear(5, 2))(x)


@pytest.mark.parametrize("call, message", [
    ("LocalResponseNorm(0)", r"^LocalResponseNorm: size must be positive, got 0$"),
    ("LocalResponseNorm(2.5)", r"^size must be an integer, got 2\.5$"),
    ("Linear(2.5, 3)", r"^in_features must be an integer, got 2\.5$"),
    ("Linear(2, 3.5)", r"^out_features must be an integer, got 3\.5$"),
    ("Conv2d(3.5, 2, 1)", r"^in_channels must be an integer, got 3\.5$"),
    ("Conv2d(3, 2.5, 1)", r"^out_channels must be an integer, got 2\.5$"),
    ("Conv2d(4, 4, 1, groups=2.0)", r"^groups must be an integer, got 2\.0$"),
    ("BatchNorm2d('a')", r"^num_features must be an integer, got 'a'$"),
    ("Flatten(1.5)", r"^start_dim must be an integer, got 1\.5$"),
    ("Flatten(1, -1.0)", r"^end_dim must be an integer, got -1\.0$"),
])
def test_constructor_arguments_are_checked_by_name(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        eval(call, vars(nn))


def test_a_one_channel_window_of_local_response_norm_matches_torch(rng):
    x = rng.standard_normal((2, 4, 3, 3), dtype=np.float32)
    assert_close(nn.LocalResponseNorm(1)(x), torch.nn.LocalResponseNorm(1)(torch.from_numpy(x)).numpy())


def test_sequential_indexes_and_iterates_like_torch():
    model, reference = small_net(), torch_small_net()
    assert len(model) == len(reference) == 11
    assert [type(m).__name__ for m in model] == [type(m).__name__ for m in reference]
    assert type(model[1]) is nn.BatchNorm2d and type(model[-1]) is nn.Softmax
    named = nn.Sequential({"conv": nn.Conv2d(1, 2, 3), "act": nn.ReLU()})
    assert [n for n, _ in named.named_children()] == ["conv", "act"] and type(named[1]) is nn.ReLU


def test_a_layer_used_twice_runs_twice_and_loads_torch_s_state_dict(rng):
    conv, reference = nn.Conv2d(2, 2, 1), torch.nn.Conv2d(2, 2, 1)
    model = nn.Sequential(conv, nn.ReLU(), conv)
    torch_model = torch.nn.Sequential(reference, torch.nn.ReLU(), reference)
    assert list(model.state_dict()) == list(torch_model.state_dict())  # the shared weights under both names
    model.load_state_dict(torch_model.state_dict())
    assert len(model) == 3 and model[2] is conv and list(model) == [conv, model[1], conv]
    assert [n for n, _ in model.named_children()] == [n for n, _ in torch_model.named_children()] == ["0", "1"]
    x = rng.standard_normal((1, 2, 3, 3), dtype=np.float32)
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    assert_close(model(x), expected)
    with nn.eager():
        assert_close(model(x), expected)


# Constructor calls, and the attributes PyTorch code reads from the layer they make.
ATTRIBUTE_CASES = [
    ("AvgPool2d(3, 2, 1, True, False, 2)", "kernel_size stride padding ceil_mode count_include_pad divisor_override"),
    ("AvgPool2d((3, 2))", "kernel_size stride padding ceil_mode count_include_pad divisor_override"),
    ("MaxPool2d(3, 2, 1, 2, ceil_mode=True)", "kernel_size stride padding dilation ceil_mode return_indices"),
    ("MaxPool2d(3)", "kernel_size stride padding dilation ceil_mode return_indices"),
    ("Conv2d(4, 8, (3, 2), 2, (1, 0), (2, 1), 2)",
     "in_channels out_channels kernel_size stride padding dilation groups padding_mode"),
    ("Conv2d(4, 8, 3, padding='same')", "kernel_size stride padding dilation groups padding_mode"),
    ("BatchNorm2d(4, 1e-3, None, False)", "num_features eps momentum affine track_running_stats"),
    ("Linear(3, 4)", "in_features out_features"),
    ("LocalResponseNorm(3, 1e-2, 0.5, 2)", "size alpha beta k"),
    ("Dropout(0.3, True)", "p inplace"),
    ("ReLU(True)", "inplace"),
    ("Flatten(0, 2)", "start_dim end_dim"),
    ("Softmax(1)", "dim"),
    ("AdaptiveAvgPool2d((2, None))", "output_size"),
]


@pytest.mark.parametrize("call, names", ATTRIBUTE_CASES, ids=[c for c, _ in ATTRIBUTE_CASES])
def test_attributes_match_torch(call, names):
    ours, theirs = eval(call, vars(nn)), eval(call, vars(torch.nn))
    for name in names.split():
        assert (getattr(ours, name), type(getattr(ours, name))) == (getattr(theirs, name), type(getattr(theirs, name)))


@pytest.mark.parametrize("call, message", [
    ("AvgPool2d(2, padding=2)", r"^AvgPool2d: padding 2 must be at most half the kernel size \(kernel_size=\(2, 2\)\)"),
    ("MaxPool2d(2, padding=2)", r"^MaxPool2d: padding 2 must be at most half the kernel size \(kernel_size="),
    ("AvgPool2d(0)", r"^AvgPool2d: kernel_size must be positive, got 0$"),
    ("MaxPool2d(2, stride=0)", r"^MaxPool2d: stride must be positive, got 0$"),
    ("MaxPool2d(2, return_indices=True)", r"^MaxPool2d: return_indices=True is not supported$"),
    ("Dropout(1.5)", r"^Dropout: probability must be between 0 and 1, got 1\.5$"),
    ("Dropout(-0.1)", r"^Dropout: probability must be between 0 and 1, got -0\.1$"),
    ("Conv2d(4, 6, 3, groups=4)", r"^Conv2d: groups=4 must be positive and divide in_channels=4 and out_channels=6$"),
    ("Conv2d(4, 6, 3, groups=0)", r"^Conv2d: groups=0 must be positive"),
    ("Conv2d(4, 6, 0)", r"^kernel_size must be positive, got 0$"),
    ("Conv2d(4, 4, 3, padding_mode='reflect')", r"^Conv2d: only padding_mode='zeros' is supported, got 'reflect'$"),
    ("BatchNorm2d(3, track_running_stats=False)", r"^BatchNorm2d: track_running_stats=False normalises by batch "
                                                  r"statistics, which pycnn \(inference only\) does not support$"),
])
def test_constructor_errors_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        eval(call, vars(nn))


def test_probability_bounds_are_allowed():
    assert nn.Dropout(0).p == 0 and nn.Dropout(1.0).p == 1.0


@pytest.mark.parametrize("call", ["BatchNorm2d(3)", "BatchNorm2d(3, affine=False)", "BatchNorm2d(3, bias=False)",
                                  "Conv2d(4, 6, (3, 2), groups=2)", "Conv2d(4, 6, 1, bias=False)", "Linear(5, 2)",
                                  "Linear(5, 2, bias=False)"])
def test_fresh_state_dict_matches_torch_s_keys_shapes_and_dtypes(call):
    ours, theirs = eval(call, vars(nn)).state_dict(), eval(call, vars(torch.nn)).state_dict()
    assert [(k, v.shape, v.dtype.name) for k, v in ours.items()] == \
        [(k, tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in theirs.items()]
    if call.startswith("BatchNorm2d"):  # deterministic: ones, zeros, zeros, ones, 0
        for k, v in ours.items():
            np.testing.assert_array_equal(v, theirs[k].numpy())


# Each layer made in the test, not at collection: a mutation tier's session sees the constructor under test.
@pytest.mark.parametrize("make, fan_in", [(lambda: nn.Conv2d(4, 64, (3, 2), groups=2), 2 * 3 * 2),
                                          (lambda: nn.Conv2d(3, 64, 5), 75), (lambda: nn.Linear(40, 64), 40)],
                         ids=["Conv2d-groups", "Conv2d", "Linear"])
def test_initial_weights_are_uniform_within_torch_s_bound(make, fan_in):
    layer = make()
    bound = 1 / np.sqrt(fan_in)  # torch's default: kaiming_uniform(a=√5) for weights, the same bound for biases
    for values in (layer.weight, layer.bias):
        assert values.dtype == np.float32
        assert -bound <= values.min() < -bound / 2 and bound / 2 < values.max() <= bound
        assert abs(values.mean()) < bound / 3


def test_layers_without_inputs_have_zero_biases():
    assert nn.Conv2d(0, 4, 3).bias.tolist() == [0] * 4 and nn.Linear(0, 3).bias.tolist() == [0] * 3
    assert nn.Conv2d(0, 4, 3).weight.shape == (4, 0, 3, 3)


def test_batch_norm_takes_one_image(rng):
    layer, reference = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3).eval()
    with torch.no_grad():
        reference.running_mean.uniform_(-1, 1)
        reference.running_var.uniform_(0.5, 2)
        reference.weight.uniform_(-1, 1)
        reference.bias.uniform_(-1, 1)
    layer.load_state_dict(reference.state_dict())
    x = rng.standard_normal((3, 4, 5), dtype=np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)[None])[0].numpy()
    assert_close(layer(x), expected)
    assert_close(layer(torch.from_numpy(x)).numpy(), expected)
    scale, shift = layer.affine_terms()
    assert scale.dtype == shift.dtype == np.float64
    assert_close((x * scale[:, None, None] + shift[:, None, None]).astype(np.float32), expected)


@pytest.mark.parametrize(("flatten", "message"), [
    (nn.Flatten(5), r"^Flatten: start_dim=5 is out of range for an array with 4 dimensions$"),
    (nn.Flatten(2, 1), r"^Flatten: start_dim 2 comes after end_dim 1 for shape \(2, 3, 4, 4\)$"),
])
def test_a_planned_flatten_names_itself(flatten, message):
    with pytest.raises(ValueError, match=message):
        nn.Sequential(nn.ReLU(), flatten)(np.zeros((2, 3, 4, 4), np.float32))


def test_a_planned_batch_norm_names_statistics_of_the_wrong_length():
    bn = nn.BatchNorm2d(3)
    bn.running_mean = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match=r"^batch_norm: running_mean must have shape \(3,\) for input of shape "
                                         r"\(1, 3\), got \(4,\)$"):
        nn.Sequential(nn.ReLU(), bn)(np.zeros((2, 3, 4, 4), np.float32))
