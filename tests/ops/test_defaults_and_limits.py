"""Arguments left out, and arguments at the edge of what is allowed, give what torch.nn.functional gives."""

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

RNG = np.random.default_rng(27)
X = normal(RNG, (2, 3, 7, 6))
W = normal(RNG, (4, 3, 3, 2))
B = normal(RNG, (4,))
EVEN = normal(RNG, (2, 3, 2, 4))
LIN = normal(RNG, (4, 6))
SMALL = normal(RNG, (2, 3, 4)) * 4  # past ±1 and, scaled, past 6
MEAN, VAR = normal(RNG, (3,)), np.abs(normal(RNG, (3,))) * 1e-5  # a variance of the order of eps


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a)


# name -> (pycnn call, torch call), each on numpy arrays
SAME_AS_TORCH: dict[str, tuple[Callable[[], Any], Callable[[], torch.Tensor]]] = {
    "conv2d defaults": (lambda: F.conv2d(X, W), lambda: TF.conv2d(t(X), t(W))),
    # padding='same' with an even kernel: the odd pixel goes to the bottom and right
    "conv2d same, even kernel, dilated": (lambda: F.conv2d(X, EVEN, padding="same", dilation=(2, 1)),
                                          lambda: TF.conv2d(t(X), t(EVEN), padding="same", dilation=(2, 1))),
    "conv2d valid": (lambda: F.conv2d(X, W, B, 1, "valid", 2), lambda: TF.conv2d(t(X), t(W), t(B), 1, "valid", 2)),
    "conv2d unbatched": (lambda: F.conv2d(X[0], W, B), lambda: TF.conv2d(t(X[0]), t(W), t(B))),
    "max_pool2d defaults": (lambda: F.max_pool2d(X, 2), lambda: TF.max_pool2d(t(X), 2)),
    "max_pool2d empty stride": (lambda: F.max_pool2d(X, (3, 2), ()), lambda: TF.max_pool2d(t(X), (3, 2), ())),
    "max_pool2d empty stride list": (lambda: F.max_pool2d(X, 3, []), lambda: TF.max_pool2d(t(X), 3, [])),
    "max_pool2d half-kernel padding, tall": (lambda: F.max_pool2d(X, (6, 2), 1, (3, 1)),
                                             lambda: TF.max_pool2d(t(X), (6, 2), 1, (3, 1))),
    "max_pool2d half-kernel padding, wide": (lambda: F.max_pool2d(X, (2, 6), 1, (1, 3)),
                                             lambda: TF.max_pool2d(t(X), (2, 6), 1, (1, 3))),
    "max_pool2d ceil_mode": (lambda: F.max_pool2d(X, 2, 2, 0, 1, True), lambda: TF.max_pool2d(t(X), 2, 2, 0, 1, True)),
    "max_pool2d unbatched": (lambda: F.max_pool2d(X[0], 3, 2, 1), lambda: TF.max_pool2d(t(X[0]), 3, 2, 1)),
    "max_pool2d indices, defaults": (lambda: F.max_pool2d(X, 3, return_indices=True)[1],
                                     lambda: TF.max_pool2d(t(X), 3, return_indices=True)[1]),
    "max_pool2d indices, unbatched": (lambda: F.max_pool2d(X[0], 2, 1, 1, 2, True, True)[1],
                                      lambda: TF.max_pool2d(t(X[0]), 2, 1, 1, 2, True, True)[1]),
    "avg_pool2d defaults": (lambda: F.avg_pool2d(X, 3), lambda: TF.avg_pool2d(t(X), 3)),
    "avg_pool2d empty stride": (lambda: F.avg_pool2d(X, 2, ()), lambda: TF.avg_pool2d(t(X), 2, ())),
    "avg_pool2d padding counted by default": (lambda: F.avg_pool2d(X, 3, 2, 1), lambda: TF.avg_pool2d(t(X), 3, 2, 1)),
    "avg_pool2d padding not counted": (lambda: F.avg_pool2d(X, 3, 2, 1, False, False),
                                       lambda: TF.avg_pool2d(t(X), 3, 2, 1, False, False)),
    "avg_pool2d ceil_mode": (lambda: F.avg_pool2d(X, 2, 2, 1, True), lambda: TF.avg_pool2d(t(X), 2, 2, 1, True)),
    "avg_pool2d divisor_override 1": (lambda: F.avg_pool2d(X, 2, divisor_override=1),
                                      lambda: TF.avg_pool2d(t(X), 2, divisor_override=1)),
    "avg_pool2d unbatched": (lambda: F.avg_pool2d(X[0], 2), lambda: TF.avg_pool2d(t(X[0]), 2)),
    "adaptive keeps a None height": (lambda: F.adaptive_avg_pool2d(X, (None, 4)),
                                     lambda: TF.adaptive_avg_pool2d(t(X), (None, 4))),
    "adaptive keeps a None width": (lambda: F.adaptive_avg_pool2d(X, [5, None]),
                                    lambda: TF.adaptive_avg_pool2d(t(X), [5, None])),
    "adaptive to one pixel": (lambda: F.adaptive_avg_pool2d(X, 1), lambda: TF.adaptive_avg_pool2d(t(X), 1)),
    "adaptive to one row": (lambda: F.adaptive_avg_pool2d(X, (1, 3)), lambda: TF.adaptive_avg_pool2d(t(X), (1, 3))),
    "adaptive to one column": (lambda: F.adaptive_avg_pool2d(X, (2, 1)), lambda: TF.adaptive_avg_pool2d(t(X), (2, 1))),
    "adaptive from one pixel": (lambda: F.adaptive_avg_pool2d(X[..., :1, :1], 2),
                                lambda: TF.adaptive_avg_pool2d(t(X[..., :1, :1]), 2)),
    "adaptive int": (lambda: F.adaptive_avg_pool2d(X, 3), lambda: TF.adaptive_avg_pool2d(t(X), 3)),
    "adaptive unbatched": (lambda: F.adaptive_avg_pool2d(X[0], (2, 3)),
                           lambda: TF.adaptive_avg_pool2d(t(X[0]), (2, 3))),
    "linear no bias": (lambda: F.linear(X, LIN), lambda: TF.linear(t(X), t(LIN))),
    "linear of one vector": (lambda: F.linear(X[0, 0, 0], LIN, B), lambda: TF.linear(t(X[0, 0, 0]), t(LIN), t(B))),
    "softmax of a scalar": (lambda: F.softmax(np.float32(3), 0), lambda: torch.softmax(torch.tensor(3.0), 0)),
    "softmax last dim": (lambda: F.softmax(X, -1), lambda: TF.softmax(t(X), -1)),
    "log_softmax of a scalar": (lambda: F.log_softmax(np.float32(3), -1),
                                lambda: TF.log_softmax(torch.tensor(3.0), -1)),
    "log_softmax middle dim": (lambda: F.log_softmax(X, 2), lambda: TF.log_softmax(t(X), 2)),
    "local_response_norm defaults": (lambda: F.local_response_norm(SMALL, 2),
                                     lambda: TF.local_response_norm(t(SMALL), 2)),
    "local_response_norm size 1": (lambda: F.local_response_norm(X, 1), lambda: TF.local_response_norm(t(X), 1)),
    "batch_norm defaults": (lambda: F.batch_norm(X, MEAN, VAR), lambda: TF.batch_norm(t(X), t(MEAN), t(VAR))),
    "batch_norm weight, no bias": (lambda: F.batch_norm(X, MEAN, VAR, B[:3]),
                                   lambda: TF.batch_norm(t(X), t(MEAN), t(VAR), t(B[:3]))),
    "batch_norm bias, no weight": (lambda: F.batch_norm(X, MEAN, VAR, None, B[:3]),
                                   lambda: TF.batch_norm(t(X), t(MEAN), t(VAR), None, t(B[:3]))),
    "batch_norm of (N, C)": (lambda: F.batch_norm(X[:, :, 0, 0], MEAN, VAR, eps=1e-3),
                             lambda: TF.batch_norm(t(np.ascontiguousarray(X[:, :, 0, 0])), t(MEAN), t(VAR), eps=1e-3)),
    "leaky_relu default slope": (lambda: F.leaky_relu(SMALL), lambda: TF.leaky_relu(t(SMALL))),
    "hardtanh defaults": (lambda: F.hardtanh(SMALL), lambda: TF.hardtanh(t(SMALL))),
    "hardtanh min equal to max": (lambda: F.hardtanh(SMALL, 0.5, 0.5), lambda: TF.hardtanh(t(SMALL), 0.5, 0.5)),
    "relu6": (lambda: F.relu6(SMALL * 2), lambda: TF.relu6(t(SMALL * 2))),
    "dropout p 0": (lambda: F.dropout(X, 0.0, False), lambda: TF.dropout(t(X), 0.0, False)),
    "dropout p 1": (lambda: F.dropout(X, 1.0, False), lambda: TF.dropout(t(X), 1.0, False)),
    "dropout2d default p": (lambda: F.dropout2d(X, training=False), lambda: TF.dropout2d(t(X), training=False)),
    "flatten defaults": (lambda: F.flatten(X), lambda: torch.flatten(t(X))),
    "flatten one dim": (lambda: F.flatten(X, 1, 1), lambda: torch.flatten(t(X), 1, 1)),
    "flatten negative dims": (lambda: F.flatten(X, -3, -2), lambda: torch.flatten(t(X), -3, -2)),
    "flatten a scalar": (lambda: F.flatten(np.float32(3)), lambda: torch.flatten(torch.tensor(3.0))),
    "pad defaults": (lambda: F.pad(X, (1, 2, 0, 3)), lambda: TF.pad(t(X), (1, 2, 0, 3))),
    "pad every axis": (lambda: F.pad(SMALL, (1, 0, 0, 2, 1, 1), value=2.5),
                       lambda: TF.pad(t(SMALL), (1, 0, 0, 2, 1, 1), value=2.5)),
    "pad an empty axis by nothing": (lambda: F.pad(np.zeros((2, 0), np.float32), (0, 0, 1, 0)),
                                     lambda: TF.pad(torch.zeros(2, 0), (0, 0, 1, 0))),
    "pad reflect just below the size": (lambda: F.pad(SMALL, (3, 3), "reflect"),
                                        lambda: TF.pad(t(SMALL), (3, 3), "reflect")),
    "pad reflect a 2-D input": (lambda: F.pad(SMALL[0], (2, 1), "reflect"),
                                lambda: TF.pad(t(SMALL[0]), (2, 1), "reflect")),
    "pad replicate with value 0": (lambda: F.pad(X, (1, 1, 2, 0), "replicate", 0),
                                   lambda: TF.pad(t(X), (1, 1, 2, 0), "replicate")),
    "pad circular an empty axis by nothing": (lambda: F.pad(np.zeros((1, 3, 0), np.float32), (0, 0), "circular"),
                                              lambda: TF.pad(torch.zeros(1, 3, 0), (0, 0), "circular")),
    "pad circular by the size": (lambda: F.pad(SMALL, (4, 4, 3, 3), "circular"),
                                 lambda: TF.pad(t(SMALL), (4, 4, 3, 3), "circular")),
}


@pytest.mark.parametrize("name", SAME_AS_TORCH)
def test_same_as_torch(name: str) -> None:
    ours, theirs = SAME_AS_TORCH[name]
    got, want = ours(), theirs().numpy()
    assert got.shape == want.shape
    if want.dtype == np.int64:
        np.testing.assert_array_equal(got, want)
    else:
        assert_close(got, want)


def test_conv_output_size_takes_a_list_and_zero_sizes() -> None:
    assert pycnn.conv_output_size([7, 6], 3, (2, 1), 1) == (4, 6)
    assert pycnn.conv_output_size(0, 1, 1, 1) == 2  # an empty input, padded: windows of padding alone
    assert pycnn.conv_output_size(5, 1) == 5
    assert pycnn.conv_output_size(7, 3, 2, strict=True) == 3
    assert pycnn.conv_output_size(7, 2, 3) == 2
    assert pycnn.conv_output_size(7, 2, 3, ceil_mode=True) == 3


def test_dropout_returns_a_copy() -> None:
    x = X.copy()
    out = F.dropout(x, training=False)
    out[...] = 0
    np.testing.assert_array_equal(x, X)


# each op on torch tensors: the result is a torch tensor too (the kind of the input, whatever the op)
ON_TORCH: dict[str, Callable[[torch.Tensor], Any]] = {
    "conv2d": lambda x: F.conv2d(x, t(W)),
    "conv2d unbatched": lambda x: F.conv2d(x[0], t(W)),
    "max_pool2d": lambda x: F.max_pool2d(x, 2),
    "max_pool2d indices": lambda x: F.max_pool2d(x, 2, return_indices=True)[1],
    "max_pool2d values with indices": lambda x: F.max_pool2d(x, 2, return_indices=True)[0],
    "avg_pool2d": lambda x: F.avg_pool2d(x, 2),
    "adaptive_avg_pool2d": lambda x: F.adaptive_avg_pool2d(x, 2),
    "relu": F.relu,
    "linear": lambda x: F.linear(x, t(LIN)),
    "softmax": lambda x: F.softmax(x, 1),
    "log_softmax": lambda x: F.log_softmax(x, 1),
    "local_response_norm": lambda x: F.local_response_norm(x, 2),
    "batch_norm": lambda x: F.batch_norm(x, t(MEAN), t(VAR)),
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "leaky_relu": F.leaky_relu,
    "hardtanh": F.hardtanh,
    "relu6": F.relu6,
    "pad": lambda x: F.pad(x, (1, 1)),
    "dropout": lambda x: F.dropout(x, training=False),
    "dropout2d": lambda x: F.dropout2d(x, training=False),
    "flatten": F.flatten,
}


@pytest.mark.parametrize("op", ON_TORCH)
def test_a_torch_tensor_in_gives_a_torch_tensor_out(op: str) -> None:
    assert isinstance(ON_TORCH[op](t(X)), torch.Tensor)
