"""pycnn.functional as a drop-in for torch.nn.functional: torch tensors in give torch tensors out, every argument
form torch accepts is accepted, and the ops a classic-CNN user reaches for next match torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pycnn
import pycnn.functional as F

from conftest import assert_close
from reference import normal

pytestmark = pytest.mark.smoke  # in `pytest -m smoke`, the quick subset of every tier


def test_a_torch_tensor_in_gives_a_torch_tensor_out_sharing_memory_with_no_copy_of_the_input() -> None:
    x = torch.from_numpy(normal(np.random.default_rng(1), (2, 3, 8, 8)))
    w = torch.from_numpy(normal(np.random.default_rng(2), (4, 3, 3, 3)))
    y = F.conv2d(x, w, padding=1)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32
    assert_close(y.numpy(), TF.conv2d(x, w, padding=1).numpy())
    out = F.relu(x)
    assert isinstance(out, torch.Tensor)
    out.numpy()[...] = 7  # the tensor views the result pycnn wrote: no copy on the way out
    assert float(out[0, 0, 0, 0]) == 7.0 and float(x.max()) < 7  # and the input is untouched
    assert isinstance(F.max_pool2d(x, 2), torch.Tensor) and isinstance(F.linear(x.reshape(2, -1), x.reshape(2, -1)),
                                                                        torch.Tensor)


def test_numpy_in_still_gives_numpy_out() -> None:
    assert type(F.relu(np.ones((2, 3), np.float32))) is np.ndarray


def test_a_tensor_that_requires_grad_is_refused_with_the_fix() -> None:
    x = torch.ones(1, 3, 4, 4, requires_grad=True)
    with pytest.raises(TypeError, match=r"conv2d: input is a tensor that requires grad, and pycnn computes no "
                                        r"gradients: pass tensor\.detach\(\)"):
        F.conv2d(x, torch.ones(2, 3, 3, 3))
    with pytest.raises(TypeError, match="conv2d: weight is a tensor that requires grad"):
        F.conv2d(x.detach(), torch.nn.Parameter(torch.ones(2, 3, 3, 3)))
    assert isinstance(F.conv2d(x.detach(), torch.ones(2, 3, 3, 3)), torch.Tensor)


def test_half_precision_tensors_are_widened() -> None:
    x = torch.tensor([[-1.5, 2.25]], dtype=torch.bfloat16)
    y = F.relu(x)
    assert y.dtype == torch.float32 and y.tolist() == [[0.0, 2.25]]


@pytest.mark.parametrize(("call", "expected"), [
    (lambda x, w: F.conv2d(x, w, stride=(2,), padding=(1,), dilation=(1,)),
     lambda x, w: TF.conv2d(x, w, stride=(2,), padding=(1,), dilation=(1,))),
    (lambda x, w: F.max_pool2d(x, kernel_size=(3,), stride=(2,), padding=(1,)),
     lambda x, w: TF.max_pool2d(x, kernel_size=(3,), stride=(2,), padding=(1,))),
    (lambda x, w: F.avg_pool2d(x, kernel_size=(3,), stride=(2,), padding=(1,), divisor_override=2),
     lambda x, w: TF.avg_pool2d(x, kernel_size=(3,), stride=(2,), padding=(1,), divisor_override=2)),
    (lambda x, w: F.avg_pool2d(x, 2, count_include_pad=False, padding=1, ceil_mode=True),
     lambda x, w: TF.avg_pool2d(x, 2, count_include_pad=False, padding=1, ceil_mode=True)),
    (lambda x, w: F.avg_pool2d(x, 3, 2, 1), lambda x, w: TF.avg_pool2d(x, 3, 2, 1)),
    (lambda x, w: F.max_pool2d(x, 3, 2, 1), lambda x, w: TF.max_pool2d(x, 3, 2, 1)),
    (lambda x, w: F.relu(x, inplace=True), lambda x, w: TF.relu(x.clone(), inplace=True)),
], ids=["conv2d 1-tuples", "max_pool2d 1-tuples", "avg_pool2d 1-tuples and divisor", "avg_pool2d no pad count",
        "avg_pool2d defaults, padded", "max_pool2d defaults, padded", "relu inplace"])
def test_torchs_argument_forms(call: Callable[..., Any], expected: Callable[..., Any]) -> None:
    rng = np.random.default_rng(3)
    x, w = torch.from_numpy(normal(rng, (2, 3, 9, 10))), torch.from_numpy(normal(rng, (4, 3, 3, 3)))
    before = x.clone()
    assert_close(call(x, w).numpy(), expected(x, w).numpy())
    assert torch.equal(x, before)  # inplace=True never modifies pycnn's input


@pytest.mark.parametrize(("shape", "kernel", "stride", "padding", "dilation", "ceil_mode"), [
    ((2, 3, 9, 11), 3, 2, 1, 1, False),
    ((1, 2, 7, 7), (2, 3), (1, 2), (1, 1), (2, 1), True),
    ((1, 1, 5, 5), 2, 2, 0, 1, True),
    ((3, 6, 6), 3, 1, 1, 1, False),  # unbatched
    ((1, 2, 7, 8), (2, 3), 2, 0, 1, False),  # the last row and column in no window
])
def test_max_pool2d_return_indices_as_torch(shape: tuple[int, ...], kernel: Any, stride: Any, padding: Any,
                                            dilation: Any, ceil_mode: bool) -> None:
    rng = np.random.default_rng(4)
    x = rng.integers(-3, 3, shape).astype(np.float32)  # ties everywhere: the first maximum must be picked
    x.reshape(-1, shape[-1])[0] = -np.inf  # a row of -inf: windows of -inf only keep their first inside tap
    out, indices = F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    t_out, t_indices = TF.max_pool2d(torch.from_numpy(x), kernel, stride, padding, dilation, ceil_mode,
                                     return_indices=True)
    np.testing.assert_array_equal(out, t_out.numpy())
    np.testing.assert_array_equal(indices, t_indices.numpy())
    assert indices.dtype == np.int64
    assert np.array_equal(F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, return_indices=False), out)


@pytest.mark.parametrize(("x", "args"), [
    ([[[[1, np.nan, 0, np.nan]]]], ((1, 4),)),  # torch keeps the last NaN of a window
    ([[[[0, 1]]]], (2, 2, 1, 2)),  # a window with no tap inside the input: torch's first tap past the start
    (np.arange(5).reshape(1, 1, 5, 1), ((2, 2), (2, 1), (0, 1), (2, 2), True)),  # no column inside, from row 0
    (np.arange(7).reshape(1, 1, 1, 7), ((2, 1), 1, (1, 0), (2, 3), True)),  # no row inside, from column 0
])
def test_max_pool2d_indices_at_the_edges_of_torchs_rules(x: Any, args: tuple[Any, ...]) -> None:
    array = np.array(x, np.float32)
    out, indices = F.max_pool2d(array, *args, return_indices=True)
    t_out, t_indices = TF.max_pool2d(torch.from_numpy(array), *args, return_indices=True)
    np.testing.assert_array_equal(out, t_out.numpy())
    np.testing.assert_array_equal(indices, t_indices.numpy())


def test_max_pool2d_indices_point_at_nan_and_at_minus_inf_windows_as_torch() -> None:
    x = normal(np.random.default_rng(5), (2, 3, 5, 5))
    x[0, 1, 2, 2] = np.nan
    x[1, 2] = -np.inf
    out, indices = F.max_pool2d(torch.from_numpy(x), 3, 1, 1, return_indices=True)
    t_out, t_indices = TF.max_pool2d(torch.from_numpy(x), 3, 1, 1, return_indices=True)
    assert isinstance(out, torch.Tensor) and isinstance(indices, torch.Tensor)
    np.testing.assert_array_equal(out.numpy(), t_out.numpy())
    np.testing.assert_array_equal(indices.numpy(), t_indices.numpy())


ACTIVATIONS = [
    ("sigmoid", lambda x: F.sigmoid(x), lambda x: torch.sigmoid(x)),
    ("tanh", lambda x: F.tanh(x), lambda x: torch.tanh(x)),
    ("leaky_relu", lambda x: F.leaky_relu(x), lambda x: TF.leaky_relu(x)),
    ("leaky_relu 0.2 inplace", lambda x: F.leaky_relu(x, 0.2, inplace=True), lambda x: TF.leaky_relu(x, 0.2)),
    ("relu6", lambda x: F.relu6(x), lambda x: TF.relu6(x)),
    ("hardtanh", lambda x: F.hardtanh(x), lambda x: TF.hardtanh(x)),
    ("hardtanh -2 3", lambda x: F.hardtanh(x, -2.0, 3.0), lambda x: TF.hardtanh(x, -2.0, 3.0)),
    ("log_softmax 1", lambda x: F.log_softmax(x, 1), lambda x: TF.log_softmax(x, 1)),
    ("log_softmax -1", lambda x: F.log_softmax(x, dim=-1), lambda x: TF.log_softmax(x, dim=-1)),
    ("flatten", lambda x: F.flatten(x), lambda x: torch.flatten(x)),
    ("flatten 1", lambda x: F.flatten(x, 1), lambda x: torch.flatten(x, 1)),
    ("flatten 1 2", lambda x: F.flatten(x, 1, 2), lambda x: torch.flatten(x, 1, 2)),
    ("dropout eval", lambda x: F.dropout(x, 0.3, training=False), lambda x: TF.dropout(x, 0.3, training=False)),
    ("dropout2d eval", lambda x: F.dropout2d(x, training=False), lambda x: TF.dropout2d(x, training=False)),
]


@pytest.mark.parametrize(("name", "ours", "theirs"), ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_more_ops_match_torch(name: str, ours: Callable[[Any], Any], theirs: Callable[[Any], Any]) -> None:
    x = normal(np.random.default_rng(6), (2, 5, 4, 3)) * 6
    x[0, 0, 0, :3] = [np.nan, np.inf, -np.inf]
    x[1, 1, 1, :2] = [-100.0, 100.0]  # sigmoid's and log_softmax's far tails
    expected = theirs(torch.from_numpy(x.copy())).numpy()
    for given in (x, torch.from_numpy(x)):
        result = ours(given)
        assert type(result) is type(given)
        actual = np.asarray(result)
        assert actual.shape == expected.shape and actual.dtype == np.float32
        np.testing.assert_allclose(actual, expected, rtol=2e-6, atol=2e-6, equal_nan=True)
        if name != "log_softmax 1":  # (the NaN/Inf of the first plane spread over its channel sums, as in torch)
            assert np.isnan(actual).sum() == np.isnan(expected).sum()


@pytest.mark.parametrize(("shape", "pad", "mode", "value"), [
    ((2, 3, 4, 5), (1, 2, 3, 1), "constant", None),
    ((2, 3, 4, 5), (1, 2), "constant", 1.5),
    ((2, 3, 4, 5), (0, 0, 0, 0, 1, 1), "constant", -2.0),
    ((2, 3, 4, 5), (-1, 2, 1, -2), "constant", 0.5),
    ((2, 3, 4, 5), (1, 2, 3, 1), "reflect", None),
    ((2, 3, 4, 5), (4, 0, 0, 3), "reflect", None),
    ((3, 4, 5), (1, 2, 3, 1), "replicate", None),
    ((2, 3, 4, 5), (2, 2, 2, 2), "replicate", None),
    ((2, 3, 4, 5), (1, 2, 3, 1), "circular", None),
    ((2, 3, 4, 5), (-1, 2, 1, -2), "circular", None),  # negative amounts crop before the wrap, as torch
    ((2, 3, 4, 5), (2, -1, -1, 1), "reflect", None),
    ((2, 3, 4, 5), (-2, 1, 2, -1), "replicate", None),
    ((2, 3, 7), (2, 3), "reflect", None),
])
def test_pad_matches_torch(shape: tuple[int, ...], pad: tuple[int, ...], mode: str, value: float | None) -> None:
    x = normal(np.random.default_rng(7), shape)
    kwargs = {} if value is None else {"value": value}
    expected = TF.pad(torch.from_numpy(x), pad, mode=mode, **kwargs).numpy()
    actual = F.pad(x, pad, mode=mode, **kwargs)
    np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize(("call", "message"), [
    (lambda x: F.pad(x, (1, 2, 3)), "pad: pad must be a tuple of an even number of ints"),
    (lambda x: F.pad(x, (5, 0, 0, 0), mode="reflect"), r"reflect padding of \(5, 0\) must be below the size 5"),
    (lambda x: F.pad(x, (1, 1), mode="replicate"), r"pads 1 dimension\(s\) of a 2-D or 3-D input"),
    (lambda x: F.pad(x, (1, 1), mode="wrap"), "mode must be one of 'constant', 'reflect', 'replicate', 'circular'"),
    (lambda x: F.dropout(x, 0.5), r"dropout: pycnn runs inference only.*pass training=False"),
    (lambda x: F.dropout2d(x, training=True), "dropout2d: pycnn runs inference only"),
    (lambda x: F.dropout(x, 1.5, training=False), "dropout: p must be between 0 and 1"),
    (lambda x: F.hardtanh(x, 2.0, 1.0), "hardtanh: min_val=2.0 is above max_val=1.0"),
    (lambda x: F.flatten(x, 3, 1), "flatten: start_dim 3 comes after end_dim 1"),
])
def test_bad_arguments_say_what_to_do(call: Callable[[Any], Any], message: str) -> None:
    x = np.zeros((2, 3, 4, 5), np.float32)
    for given in (x, torch.from_numpy(x)):
        with pytest.raises(ValueError, match=message):
            call(given)


@pytest.mark.parametrize("layer", [pycnn.nn.Dropout(), pycnn.nn.Flatten(), pycnn.nn.Softmax(1),
                                   pycnn.nn.BatchNorm2d(3), pycnn.nn.ReLU(), pycnn.nn.MaxPool2d(2)],
                         ids=lambda layer: type(layer).__name__)
def test_layers_give_tensors_for_tensors(layer: Any) -> None:
    x = torch.from_numpy(normal(np.random.default_rng(8), (2, 3, 4, 4)))
    out = layer(x)
    assert isinstance(out, torch.Tensor)
    assert_close(out.numpy(), np.asarray(layer(x.numpy())), 0)


def test_a_container_run_layer_by_layer_gives_tensors_for_tensors() -> None:
    model = pycnn.nn.Sequential(pycnn.nn.Linear(4, 3), pycnn.nn.ReLU())
    x = torch.from_numpy(normal(np.random.default_rng(9), (2, 4)))  # 2-D: not planned, run layer by layer
    out = model(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 3)
