"""relu, linear, softmax, local_response_norm and batch_norm against torch.nn.functional, on every device."""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as TF

import pycnn.functional as F

from conftest import assert_close
from reference import (
    OP_RTOL,
    assert_same_nan_pattern_and_close,
    check_api_contract,
    normal,
    on_device,
    results_per_isa,
    small_ints,
    torch_ref,
)

pytestmark = pytest.mark.smoke  # in `pytest -m smoke`, the quick subset of every tier

# --- relu -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 5), (2, 3, 4, 5), (0, 4), (40_001,), (3, 17, 1000)])
def test_relu(device: str, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    x = normal(rng, shape)
    if x.size >= 4:
        x.flat[:4] = [np.nan, np.inf, -np.inf, -0.0]
    got = on_device(device, F.relu, x)
    assert got.shape == x.shape and got.dtype == np.float32
    np.testing.assert_array_equal(got, torch_ref(TF.relu, x))  # NaN stays NaN


# --- linear -------------------------------------------------------------------------------------------------

# In/out features around and between the tile widths (4/8, 6/16, 14/32) and the K block (256); AlexNet's first
# classifier layer's depth.
FEATURES = [(1, 1), (3, 5), (7, 13), (16, 32), (25, 7), (33, 17), (100, 45), (130, 65), (257, 70), (300, 129),
            (9216, 300)]


@pytest.mark.parametrize("leading", [(), (1,), (5,), (2, 3), (0,)], ids=lambda s: f"leading{s}")
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("in_features,out_features", FEATURES)
def test_linear(device: str, isa: str | None, precision: str, in_features: int, out_features: int, bias: bool,
                leading: tuple[int, ...]) -> None:
    """Small integers are exact in every precision."""
    rng = np.random.default_rng(in_features * 1000 + out_features)
    for make, exact in ((normal, False), (small_ints, True)):
        x, w = make(rng, (*leading, in_features)), make(rng, (out_features, in_features))
        b = make(rng, (out_features,)) if bias else None
        got, want = on_device(device, F.linear, x, w, b), torch_ref(TF.linear, x, w, b)
        if exact:
            assert got.shape == want.shape
            np.testing.assert_array_equal(got, want)
        else:
            assert_close(got, want, OP_RTOL[precision])


def test_linear_every_isa_gives_the_same_answer() -> None:
    rng = np.random.default_rng(2)
    x, w, b = small_ints(rng, (9, 301)), small_ints(rng, (70, 301)), small_ints(rng, (70,))
    results = list(results_per_isa(lambda: F.linear(x, w, b)).values())
    for got in results[1:]:
        np.testing.assert_array_equal(got, results[0])


def test_linear_without_input_features_gives_the_bias(device: str) -> None:
    x, w, b = np.zeros((4, 0), np.float32), np.zeros((3, 0), np.float32), np.array([1, -2, 3], np.float32)
    np.testing.assert_array_equal(on_device(device, F.linear, x, w, b), torch_ref(TF.linear, x, w, b))


# --- softmax ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,dim", [
    ((7,), 0), ((7,), -1), ((3, 5), 0), ((3, 5), 1), ((3, 5), -2), ((2, 3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), 2),
    ((2, 3, 4), -1), ((2, 3, 4, 5), 1), ((2, 3, 4, 5), -3), ((2, 3, 4, 5), 3), ((2, 5, 3, 3), 1), ((1, 1000), 1),
    ((4, 1000), 1), ((4, 0), 0), ((), 0), ((), -1),
])
def test_softmax_every_dim(device: str, shape: tuple[int, ...], dim: int) -> None:
    x = np.asarray(3 * normal(np.random.default_rng(3), shape), np.float32)
    assert_close(on_device(device, F.softmax, x, dim), torch_ref(TF.softmax, x, dim))


@pytest.mark.parametrize("scale", [1e2, 1e4, -1e4, 1e30])
def test_softmax_large_magnitudes_are_stable(device: str, scale: float) -> None:
    x = (scale * normal(np.random.default_rng(4), (6, 9))).astype(np.float32)
    got = on_device(device, F.softmax, x, 1)
    assert np.isfinite(got).all()
    assert_close(got, torch_ref(TF.softmax, x, 1))
    np.testing.assert_allclose(got.sum(axis=1), 1, rtol=1e-5)


def test_softmax_negative_infinity_entries(device: str) -> None:
    x = normal(np.random.default_rng(5), (5, 6))
    x[0, 2] = x[1, 0] = x[1, 5] = -np.inf
    x[2, :5] = -np.inf        # one finite entry: probability 1
    x[3, :] = -np.inf         # nothing finite: NaN, as torch
    got = on_device(device, F.softmax, x, 1)
    assert_same_nan_pattern_and_close(got, torch_ref(TF.softmax, x, 1))
    assert got[0, 2] == 0 and got[2, 5] == 1


def test_softmax_of_infinities_and_nan_matches_torch_and_the_cpu_bit_for_bit(device: str) -> None:
    x = np.array([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf], [np.nan, 1.0, 2.0]], np.float32)
    got = on_device(device, F.softmax, x, 1)
    assert_same_nan_pattern_and_close(got, torch_ref(TF.softmax, x, 1))
    if device != "cpu":
        np.testing.assert_array_equal(got, F.softmax(x, 1))


# --- local_response_norm ------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("shape", [(2, 7, 5, 6), (2, 16, 5, 5), (1, 3, 4, 4), (2, 2, 3, 5), (3, 5, 11),
                                   (1, 4, 2, 3, 2)], ids=lambda s: "x".join(map(str, s)))
def test_local_response_norm(device: str, size: int, shape: tuple[int, ...]) -> None:
    x = 4 * normal(np.random.default_rng(size), shape)
    for options in (dict(), dict(alpha=0.05, beta=0.6, k=2.0), dict(alpha=1.0, beta=1.5, k=0.5),
                    dict(alpha=1e-2, beta=0.75, k=2.0)):
        assert_close(on_device(device, F.local_response_norm, x, size, **options),
                     torch_ref(TF.local_response_norm, x, size, **options))


def test_local_response_norm_alexnet(device: str) -> None:
    x = 10 * normal(np.random.default_rng(6), (1, 64, 13, 13))
    assert_close(on_device(device, F.local_response_norm, x, 5, 1e-4, 0.75, 2.0),
                 torch_ref(TF.local_response_norm, x, 5, 1e-4, 0.75, 2.0))


# --- batch_norm ---------------------------------------------------------------------------------------------

def bn_stats(rng: np.random.Generator, c: int) -> dict[str, np.ndarray]:
    return dict(running_mean=2 * normal(rng, (c,)), running_var=rng.uniform(0.05, 5, c).astype(np.float32),
                weight=normal(rng, (c,)), bias=normal(rng, (c,)))


@pytest.mark.parametrize("shape", [(4, 3), (1, 5), (2, 3, 7), (2, 4, 5, 6), (0, 3, 2, 2), (1, 2, 3, 4, 5)],
                         ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_batch_norm(device: str, shape: tuple[int, ...], affine: str) -> None:
    rng = np.random.default_rng(7)
    x = 3 * normal(rng, shape) + 1
    stats = bn_stats(rng, shape[1])
    weight = stats["weight"] if affine in ("both", "weight") else None
    bias = stats["bias"] if affine in ("both", "bias") else None
    for eps in (1e-5, 1e-2):
        got = on_device(device, F.batch_norm, x, stats["running_mean"], stats["running_var"], weight, bias, eps=eps)
        want = torch_ref(TF.batch_norm, x, stats["running_mean"], stats["running_var"], weight, bias, eps=eps)
        assert_close(got, want)


# --- The API contract ---------------------------------------------------------------------------------------

def _stats(c: int) -> list[np.ndarray]:
    rng = np.random.default_rng(8)
    return [small_ints(rng, (c,)), rng.integers(1, 4, c).astype(np.float32), small_ints(rng, (c,)),
            small_ints(rng, (c,))]


CONTRACT = {
    "relu": (F.relu, lambda r: [small_ints(r, (2, 3, 4, 5))], {}),
    "linear": (F.linear, lambda r: [small_ints(r, (3, 7)), small_ints(r, (5, 7)), small_ints(r, (5,))], {}),
    "linear 3-D": (F.linear, lambda r: [small_ints(r, (2, 3, 7)), small_ints(r, (5, 7)), None], {}),
    "softmax": (F.softmax, lambda r: [small_ints(r, (3, 4, 5))], dict(dim=1)),
    "local_response_norm": (F.local_response_norm, lambda r: [small_ints(r, (2, 5, 3, 4))], dict(size=3)),
    "batch_norm": (F.batch_norm, lambda r: [small_ints(r, (2, 4, 3, 5)), *_stats(4)], {}),
}


@pytest.mark.parametrize("name", CONTRACT)
def test_layer_api_contract(name: str) -> None:
    fn, make_arrays, options = CONTRACT[name]
    check_api_contract(fn, make_arrays(np.random.default_rng(9)), **options)


def test_relu_inplace_flag_leaves_input_alone() -> None:
    x = normal(np.random.default_rng(10), (3, 4))
    before = x.copy()
    out = F.relu(x, inplace=True)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(out, np.maximum(before, 0))
