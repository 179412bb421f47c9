"""NaN and ±Inf propagate as in torch through every op; subnormal floats neither slow the kernels nor leak the
flush-to-zero mode into the caller's own arithmetic."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import pycnn
import pycnn.functional as F
from pycnn import _core

from conftest import assert_close, count_case
from reference import (
    AVAILABLE_ISAS,
    assert_same_nan_pattern_and_close,
    fuzz_settings,
    isa_cap,
    normal,
    torch_conv2d,
    torch_ref,
)

TINY = float(np.finfo(np.float32).tiny)  # the smallest normal float32; below it, subnormals

# --- NaN and ±Inf ------------------------------------------------------------------------------------------------

# op name → (pycnn call, torch call, input shape); each takes the input first.
rng0 = np.random.default_rng(31)
W3, W1, W5, WDW = (normal(rng0, s) for s in [(6, 4, 3, 3), (5, 4, 1, 1), (3, 4, 5, 5), (8, 1, 3, 3)])
B6, LIN_W, BN = normal(rng0, (6,)), normal(rng0, (7, 40)), [normal(rng0, (4,)) for _ in range(4)]
BN[1] = np.abs(BN[1]) + 0.1  # running_var

OPS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray], tuple[int, ...]]] = {
    "conv2d 3x3 stride 1": (lambda x: F.conv2d(x, W3, B6, padding=1),
                            lambda x: torch_conv2d(x, W3, B6, padding=1), (2, 4, 14, 13)),
    "conv2d 1x1": (lambda x: F.conv2d(x, W1), lambda x: torch_conv2d(x, W1, None), (2, 4, 9, 10)),
    "conv2d 5x5 stride 2 dilated": (lambda x: F.conv2d(x, W5, stride=2, padding=3, dilation=2),
                                    lambda x: torch_conv2d(x, W5, None, stride=2, padding=3, dilation=2),
                                    (1, 4, 15, 16)),
    "conv2d depthwise": (lambda x: F.conv2d(x, WDW, padding=1, groups=4),
                         lambda x: torch_conv2d(x, WDW, None, padding=1, groups=4), (2, 4, 8, 9)),
    "linear": (lambda x: F.linear(x, LIN_W), lambda x: torch_ref(TF.linear, x, LIN_W), (9, 40)),
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: torch_ref(TF.max_pool2d, x, 3, 2, 1), (2, 3, 11, 12)),
    "max_pool2d dilated ceil": (lambda x: F.max_pool2d(x, 2, 2, 1, 2, True),
                                lambda x: torch_ref(TF.max_pool2d, x, 2, 2, 1, 2, True), (2, 3, 9, 10)),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1), lambda x: torch_ref(TF.avg_pool2d, x, 3, 2, 1), (2, 3, 11, 12)),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (3, 4)),
                            lambda x: torch_ref(TF.adaptive_avg_pool2d, x, (3, 4)), (2, 3, 10, 11)),
    "relu": (F.relu, lambda x: torch_ref(TF.relu, x), (3, 50)),
    "softmax": (lambda x: F.softmax(x, 1), lambda x: torch_ref(TF.softmax, x, 1), (6, 7, 3)),
    "local_response_norm": (lambda x: F.local_response_norm(x, 3), lambda x: torch_ref(TF.local_response_norm, x, 3),
                            (2, 6, 5, 4)),
    "batch_norm": (lambda x: F.batch_norm(x, *BN), lambda x: torch_ref(TF.batch_norm, x, *BN), (3, 4, 5, 2)),
}


def with_specials(x: np.ndarray, rng: np.random.Generator, fraction: float) -> np.ndarray:
    """x with about `fraction` of its elements each replaced by NaN, +Inf or -Inf (and at least one of each)."""
    x = x.copy()
    flat = x.reshape(-1)
    count = max(3, int(fraction * flat.size))
    where = rng.choice(flat.size, size=count, replace=False)
    flat[where] = rng.choice(np.array([np.nan, np.inf, -np.inf], np.float32), size=count)
    flat[where[:3]] = [np.nan, np.inf, -np.inf]
    return x


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("fraction", [0.02, 0.3])
def test_nan_and_inf_propagate_as_in_torch(name: str, fraction: float) -> None:
    ours, theirs, shape = OPS[name]
    rng = np.random.default_rng(len(name))
    x = with_specials(normal(rng, shape), rng, fraction)
    want = theirs(x)
    assert not np.isfinite(want).all(), "the case must put NaN or Inf into torch's output"
    for isa in AVAILABLE_ISAS:
        with isa_cap(isa):
            assert_same_nan_pattern_and_close(ours(x), want)


@fuzz_settings(40)
@given(name=st.sampled_from(list(OPS)), fraction=st.floats(0.0, 0.5), seed=st.integers(0, 2**32 - 1))
def test_nan_and_inf_fuzz(name: str, fraction: float, seed: int) -> None:
    count_case("nan/inf")
    ours, theirs, shape = OPS[name]
    rng = np.random.default_rng(seed)
    x = with_specials(normal(rng, shape), rng, fraction)
    assert_same_nan_pattern_and_close(ours(x), theirs(x))


@pytest.mark.parametrize("where,padding", [("weight", 0), ("bias", 1)])
def test_conv2d_nan_and_inf_in_parameters(where: str, padding: int) -> None:
    # A non-finite weight is compared without padding: torch itself multiplies it by the padding zeros (NaN)
    # for some shapes and skips the padded taps for others; pycnn always multiplies, as an im2col GEMM does.
    rng = np.random.default_rng(32)
    x, w, b = normal(rng, (2, 4, 9, 8)), W3.copy(), B6.copy()
    if where == "weight":
        w[1, 2, 0, 1], w[3, 0, 2, 2], w[4, 1, 1, 1] = np.nan, np.inf, -np.inf
    else:
        b[0], b[2], b[5] = np.nan, np.inf, -np.inf
    want = torch_conv2d(x, w, b, padding=padding)
    assert not np.isfinite(want).all()
    assert_same_nan_pattern_and_close(F.conv2d(x, w, b, padding=padding), want)


def test_nan_and_inf_through_a_model_whose_plan_uses_winograd() -> None:
    """Winograd would smear a NaN over its 4×4 output tile and turn an Inf into NaN; the plan avoids it for such
    inputs, and the model's output is torch's, NaN for NaN and Inf for Inf."""
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.Conv2d(64, 8, 3, padding=1))
    model = pycnn.nn.Sequential(pycnn.nn.Conv2d(64, 64, 3, padding=1), pycnn.nn.Conv2d(64, 8, 3, padding=1))
    model.load_state_dict(reference.state_dict())
    x = normal(np.random.default_rng(36), (1, 64, 32, 32))
    assert _core.conv_algorithm(x.shape, (64, 64, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1) == "winograd"
    with torch.no_grad():
        assert_close(model(x), reference(torch.from_numpy(x)).numpy(), rtol=1e-3)
        for special in (np.nan, np.inf, -np.inf):
            x[0, 3, 10, 9] = special
            want = reference(torch.from_numpy(x)).numpy()
            assert not np.isfinite(want).all() and np.isfinite(want).any()
            assert_same_nan_pattern_and_close(model(x), want, rtol=1e-3)


def test_huge_finite_input_through_a_model_whose_plan_uses_winograd() -> None:
    """One input of 3e37 overflows Winograd's input transform (coefficients up to 25 in a 6×6 patch) where direct
    convolution, multiplying it by one small weight at a time, stays finite: such inputs run without Winograd too."""
    torch.manual_seed(1)
    reference = torch.nn.Conv2d(64, 64, 3, padding=1)
    model = pycnn.nn.Sequential(pycnn.nn.Conv2d(64, 64, 3, padding=1))
    model.load_state_dict({f"0.{k}": v for k, v in reference.state_dict().items()})
    x = normal(np.random.default_rng(37), (1, 64, 32, 32))
    assert _core.conv_algorithm(x.shape, (64, 64, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1) == "winograd"
    x[0, 5, 13, 17] = 3e37
    weight, bias = reference.weight.detach().numpy(), reference.bias.detach().numpy()
    out = np.empty((1, 64, 32, 32), np.float32)
    _core.conv2d_packed(x, _core.PackedConv2d(weight, 1, "winograd"), bias, out, (1, 1), (1, 1, 1, 1), (1, 1))
    assert not np.isfinite(out).all()  # what Winograd would have given
    with torch.no_grad():
        want = reference(torch.from_numpy(x)).numpy()
    assert np.isfinite(want).all()
    got = model(x)
    near = np.abs(want) > 1e20  # the outputs whose window holds the huge input
    assert near.any() and (~near).any()
    assert_close(got[near], want[near], rtol=1e-3)
    assert_close(got[~near], want[~near], rtol=1e-3)


def test_all_within() -> None:
    x = np.array([[0.0, -0.0, 1.0, -2.5], [1e30, -1e30, 3.0, 4.0]], np.float32)
    assert _core.all_within(x, 1e30)
    assert not _core.all_within(x, 4.0)
    assert _core.all_within(np.zeros((0, 3), np.float32), 1.0)
    big = np.ones(100_003, np.float32)  # several chunks, the bad value in the last
    assert _core.all_within(big, 1.0)
    for bad in (np.nan, np.inf, -np.inf, -1.5, np.float32(np.nextafter(np.float32(1.0), np.float32(2.0)))):
        big[-1] = bad
        assert not _core.all_within(big, 1.0), bad
    with pytest.raises(ValueError, match="limit must be positive and finite"):
        _core.all_within(x, float("inf"))


def test_max_pool2d_windows_of_infinities() -> None:
    x = np.full((1, 1, 4, 4), -np.inf, np.float32)
    x[0, 0, 0, 0], x[0, 0, 3, 3] = np.inf, np.nan
    for options in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=4)):
        np.testing.assert_array_equal(F.max_pool2d(x, **options), torch_ref(TF.max_pool2d, x, **options))


# --- subnormals ---------------------------------------------------------------------------------------------------

def subnormal_input(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    x = (normal(rng, shape) * np.float32(1e-39)).astype(np.float32)
    assert (np.abs(x[x != 0]) < TINY).all()
    return x


@pytest.fixture
def threads(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = pycnn.get_num_threads()
    pycnn.set_num_threads(request.param)
    yield request.param
    pycnn.set_num_threads(previous)


def best_time(fn: Callable[[], Any], repeats: int = 7) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("threads", [1, 2], indirect=True, ids=["caller", "workers"])
def test_subnormal_inputs_do_not_slow_a_convolution(threads: int) -> None:
    # Without flush-to-zero this layer ran 90× slower on subnormal input (AVX-512, microcode assists).
    rng = np.random.default_rng(33)
    normal_x, w = normal(rng, (1, 32, 56, 56)), 0.1 * normal(rng, (32, 32, 3, 3))
    tiny_x = subnormal_input(rng, normal_x.shape)
    ratios = []
    for _ in range(3):  # the best of three rounds: a busy machine only ever makes one look worse
        t_normal = best_time(lambda: F.conv2d(normal_x, w, padding=1))
        t_tiny = best_time(lambda: F.conv2d(tiny_x, w, padding=1))
        ratios.append(t_tiny / t_normal)
    print(f"subnormal/normal time with {threads} thread(s): {min(ratios):.2f}")
    assert min(ratios) < 3.0, f"subnormal input ran {min(ratios):.1f}× slower than normal input"


def test_subnormals_are_read_as_zero_and_results_match_torch() -> None:
    rng = np.random.default_rng(34)
    x, w = normal(rng, (2, 8, 12, 11)), normal(rng, (5, 8, 3, 3))
    mixed = np.where(rng.random(x.shape) < 0.5, subnormal_input(rng, x.shape), x).astype(np.float32)
    assert_close(F.conv2d(mixed, w, padding=1), torch_conv2d(mixed, w, None, padding=1))
    tiny = subnormal_input(rng, x.shape)
    got, want = F.conv2d(tiny, w, padding=1), torch_conv2d(tiny, w, None, padding=1)
    assert (got == 0).all()  # flushed: what torch leaves below the smallest normal float, pycnn makes zero
    assert np.abs(want).max() < TINY * w.size / w.shape[0]


def caller_keeps_subnormals() -> bool:
    """numpy on this thread still computes with subnormals (no flush-to-zero mode left behind)."""
    return float(np.float32(1e-39) * np.float32(3.0)) != 0.0 and float(np.array([2e-39], np.float32).sum()) != 0.0


@pytest.mark.parametrize("threads", [1, 2], indirect=True, ids=["caller", "workers"])
def test_the_callers_floating_point_mode_is_restored(threads: int) -> None:
    rng = np.random.default_rng(35)
    x, w = normal(rng, (1, 16, 20, 20)), normal(rng, (16, 16, 3, 3))
    assert caller_keeps_subnormals()
    F.conv2d(x, w, padding=1)
    F.max_pool2d(x, 2)
    F.softmax(x, 1)
    pycnn.models.resnet18()(np.zeros((1, 3, 32, 32), np.float32))
    with pytest.raises(ValueError, match=re.escape("weight of shape (16, 3, 3, 3) expects 3 input channels")):
        F.conv2d(x, w[:, :3])
    assert caller_keeps_subnormals()
    with ThreadPoolExecutor(2) as pool:  # and other threads that called pycnn
        assert all(pool.map(lambda _: (F.conv2d(x, w), caller_keeps_subnormals())[1], range(4)))


def test_a_callers_own_flush_mode_is_kept_too() -> None:
    x, w = np.ones((1, 2, 5, 5), np.float32), np.ones((3, 2, 3, 3), np.float32)
    previous = torch.set_flush_denormal(True)
    assert previous, "this CPU cannot flush subnormals"
    try:
        assert not caller_keeps_subnormals()
        F.conv2d(x, w)
        assert not caller_keeps_subnormals()
    finally:
        torch.set_flush_denormal(False)
    assert caller_keeps_subnormals()
