"""max_pool2d, avg_pool2d and adaptive_avg_pool2d against torch.nn.functional, on every device."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import pycnn.functional as F

from conftest import assert_close, count_case
from reference import check_api_contract, fuzz_settings, normal, on_device, small_ints, torch_ref


def pad_torch(x: np.ndarray, padding: tuple[int, int, int, int], value: float) -> np.ndarray:
    """x padded by (top, bottom, left, right) with `value`."""
    top, bottom, left, right = padding
    return TF.pad(torch.from_numpy(x), (left, right, top, bottom), value=value).numpy()


@st.composite
def pool_cases(draw: st.DrawFn, dilation: bool) -> dict[str, Any]:
    """Windows PyTorch accepts (padding ≤ kernel/2), on inputs they fit, batched or not."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    dil = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilation else (1, 1)
    hw = [draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 12)) for k, p, d in zip(kernel, padding, dil, strict=True)]
    batch = draw(st.sampled_from([(), (0,), (1,), (2,)]))
    shape = (*batch, draw(st.integers(1, 3)), *hw)
    case = dict(shape=shape, kernel_size=kernel, stride=stride, padding=padding,
                ceil_mode=draw(st.booleans()), seed=draw(st.integers(0, 2**32 - 1)))
    return {**case, "dilation": dil} if dilation else case


def split_case(case: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    options = dict(case)
    rng = np.random.default_rng(options.pop("seed"))
    return normal(rng, options.pop("shape")), options


# --- max_pool2d -------------------------------------------------------------------------------------------

@fuzz_settings(150)
@given(case=pool_cases(dilation=True))
def test_max_pool2d_random_sweep(isa: str, case: dict[str, Any]) -> None:
    count_case("max_pool2d")
    x, options = split_case(case)
    # The maximum is exact: the outputs must be torch's, bit for bit.
    np.testing.assert_array_equal(F.max_pool2d(x, **options), torch_ref(TF.max_pool2d, x, **options))


MAX_POOL_CASES = {
    "alexnet 3/2": dict(shape=(2, 3, 13, 13), kernel_size=3, stride=2),
    "stride None = kernel": dict(shape=(1, 2, 9, 7), kernel_size=(3, 2)),
    "empty stride tuple = kernel": dict(shape=(1, 2, 9, 7), kernel_size=2, stride=()),
    "padded": dict(shape=(2, 2, 7, 8), kernel_size=3, stride=1, padding=1),
    "padded, ceil mode (inception 3/1/1)": dict(shape=(1, 4, 7, 7), kernel_size=3, stride=1, padding=1,
                                                ceil_mode=True),
    "dilated": dict(shape=(1, 3, 11, 10), kernel_size=3, stride=2, padding=1, dilation=2),
    "dilated, rectangular": dict(shape=(2, 2, 11, 9), kernel_size=(3, 2), stride=(2, 1), padding=1, dilation=(2, 3)),
    "ceil mode, last window inside": dict(shape=(1, 1, 6, 6), kernel_size=3, stride=2, ceil_mode=True),
    "ceil mode, 3/2 on 9x10": dict(shape=(2, 3, 9, 10), kernel_size=3, stride=2, ceil_mode=True),
    "ceil mode, googlenet 3/2 on 112": dict(shape=(1, 2, 112, 112), kernel_size=3, stride=2, ceil_mode=True),
    "ceil mode, window would start in right padding": dict(shape=(1, 2, 5, 5), kernel_size=2, stride=2,
                                                           padding=1, ceil_mode=True),
    "ceil mode, dilated": dict(shape=(1, 1, 10, 9), kernel_size=2, stride=3, padding=1, dilation=2,
                               ceil_mode=True),
    "kernel 1": dict(shape=(2, 3, 4, 5), kernel_size=1, stride=2),
    "unbatched": dict(shape=(3, 7, 7), kernel_size=2),
    "batch 0": dict(shape=(0, 3, 7, 7), kernel_size=3, stride=2, padding=1),
    "many images": dict(shape=(17, 3, 5, 6), kernel_size=2, stride=1),
}


@pytest.mark.parametrize("name", MAX_POOL_CASES)
def test_max_pool2d_matches_torch(device: str, name: str) -> None:
    x, options = split_case({**MAX_POOL_CASES[name], "seed": 7})
    got = on_device(device, F.max_pool2d, x, **options)
    np.testing.assert_array_equal(got, torch_ref(TF.max_pool2d, x, **options))
    assert got.dtype == np.float32 and got.flags.c_contiguous


def test_max_pool2d_ceil_mode_never_starts_a_window_in_the_right_padding() -> None:
    # Width 5, kernel 2, stride 2, padding 1: the padded row has 7 pixels, and rounding up would give a 4th
    # window starting at padded index 6 — past the input (5) plus its left padding (1). PyTorch drops it.
    x = normal(np.random.default_rng(1), (1, 1, 5, 5))
    got = F.max_pool2d(x, 2, 2, 1, ceil_mode=True)
    assert got.shape == (1, 1, 3, 3)
    np.testing.assert_array_equal(got, torch_ref(TF.max_pool2d, x, 2, 2, 1, ceil_mode=True))
    # Width 6, kernel 3, stride 2, padding 1: rounding up adds a 4th window starting on the last input pixel,
    # and PyTorch keeps it.
    x = normal(np.random.default_rng(2), (1, 1, 6, 6))
    got = F.max_pool2d(x, 3, 2, 1, ceil_mode=True)
    assert got.shape == (1, 1, 4, 4)
    assert F.max_pool2d(x, 3, 2, 1, ceil_mode=False).shape == (1, 1, 3, 3)
    np.testing.assert_array_equal(got, torch_ref(TF.max_pool2d, x, 3, 2, 1, ceil_mode=True))


# Rows across the vector widths (8 and 16 lanes: full vectors, partial tails, both), each stride path of the
# kernels (1: contiguous, 2: even lanes of two loads, 3: gathered), dilation, and the networks' own pools.
WIDE_ROW_CASES = {
    "googlenet 3/2 on 112, ceil": dict(shape=(1, 3, 112, 112), kernel_size=3, stride=2, ceil_mode=True),
    "googlenet 3/1 pad 1 on 28": dict(shape=(1, 5, 28, 28), kernel_size=3, stride=1, padding=1, ceil_mode=True),
    "resnet 3/2 pad 1 on 112": dict(shape=(1, 2, 112, 112), kernel_size=3, stride=2, padding=1),
    "stride 1, widths 15-17": dict(shape=(2, 3, 5, 17), kernel_size=(2, 3), stride=1, padding=(1, 1)),
    "stride 2, width 33": dict(shape=(1, 2, 9, 33), kernel_size=3, stride=2, padding=1, ceil_mode=True),
    "stride 2, 16 outputs exactly": dict(shape=(1, 1, 6, 32), kernel_size=2, stride=2),
    "stride 3, width 52": dict(shape=(1, 2, 7, 52), kernel_size=(3, 4), stride=3, padding=(1, 2), ceil_mode=True),
    "dilated, width 40": dict(shape=(1, 2, 12, 40), kernel_size=3, stride=(2, 1), padding=1, dilation=(2, 3)),
    "kernel 1, stride 2, width 31": dict(shape=(1, 2, 5, 31), kernel_size=1, stride=2),
}


@pytest.mark.parametrize("name", WIDE_ROW_CASES)
def test_max_pool2d_wide_rows_on_every_isa(isa: str, name: str) -> None:
    x, options = split_case({**WIDE_ROW_CASES[name], "seed": 13})
    np.testing.assert_array_equal(F.max_pool2d(x, **options), torch_ref(TF.max_pool2d, x, **options))


# Enough planes that each thread takes them in runs of several (one kernel call per row group for the whole run),
# with a last, shorter run; runs that cross from one image to the next.
MANY_PLANE_CASES = {
    "googlenet 3/1 pad 1 on 7, 832 channels": dict(shape=(1, 832, 7, 7), kernel_size=3, stride=1, padding=1,
                                                   ceil_mode=True),
    "googlenet 2/2 on 14, ceil, 2 images of 301": dict(shape=(2, 301, 14, 14), kernel_size=2, stride=2,
                                                       ceil_mode=True),
    "dilated, ceil, 97 planes of 5x6": dict(shape=(1, 97, 5, 6), kernel_size=2, stride=3, padding=1, dilation=2,
                                            ceil_mode=True),
    "3/2 pad 1 on 20x9, 3 images of 45": dict(shape=(3, 45, 20, 9), kernel_size=3, stride=2, padding=1),
}


@pytest.mark.parametrize("name", MANY_PLANE_CASES)
def test_max_pool2d_many_small_planes_on_every_isa(isa: str, name: str) -> None:
    x, options = split_case({**MANY_PLANE_CASES[name], "seed": 17})
    x[np.random.default_rng(18).random(x.shape) < 0.001] = np.nan
    want = torch_ref(TF.max_pool2d, x, **options)
    assert np.isnan(want).any()
    np.testing.assert_array_equal(F.max_pool2d(x, **options), want)


@pytest.mark.parametrize("position", ["first", "middle", "last", "everywhere"])
def test_max_pool2d_propagates_nan(device: str, isa: str | None, position: str) -> None:
    x = normal(np.random.default_rng(3), (2, 2, 9, 9))
    x[0, 0, 3, 4] = np.inf
    x[1, 1, 5, 5] = -np.inf
    where = {"first": (0, 0, 0, 0), "middle": (0, 1, 4, 4), "last": (1, 0, 8, 8)}
    if position == "everywhere":
        x[np.random.default_rng(4).random(x.shape) < 0.1] = np.nan
    else:
        x[where[position]] = np.nan
    for options in (dict(kernel_size=3, stride=2), dict(kernel_size=3, stride=1, padding=1),
                    dict(kernel_size=2, stride=2, dilation=2, ceil_mode=True), dict(kernel_size=3, stride=3)):
        got, want = on_device(device, F.max_pool2d, x, **options), torch_ref(TF.max_pool2d, x, **options)
        assert np.isnan(want).any()
        np.testing.assert_array_equal(got, want, err_msg=str(options))  # NaN compares equal to NaN here


def test_max_pool2d_all_negative_input_ignores_padding() -> None:
    x = -1 - np.abs(normal(np.random.default_rng(5), (1, 2, 6, 7)))
    got = F.max_pool2d(x, 3, 2, 1)
    assert (got < 0).all()
    np.testing.assert_array_equal(got, torch_ref(TF.max_pool2d, x, 3, 2, 1))


@pytest.mark.parametrize("padding", [(1, 0, 0, 1), (0, 1, 1, 0), (1, 1, 0, 1), (0, 0, 1, 1), (1, 0, 1, 0)])
@pytest.mark.parametrize("stride", [1, 2])
def test_max_pool2d_asymmetric_padding(device: str, padding: tuple[int, int, int, int], stride: int) -> None:
    x = normal(np.random.default_rng(6), (2, 3, 7, 8))
    want = torch_ref(TF.max_pool2d, pad_torch(x, padding, -np.inf), 3, stride)
    np.testing.assert_array_equal(on_device(device, F.max_pool2d, x, 3, stride, padding), want)


# --- avg_pool2d ---------------------------------------------------------------------------------------------

@fuzz_settings(150)
@given(case=pool_cases(dilation=False), count_include_pad=st.booleans(),
       divisor_override=st.sampled_from([None, 1, 3, 7]))
def test_avg_pool2d_random_sweep(isa: str, case: dict[str, Any], count_include_pad: bool,
                                 divisor_override: int | None) -> None:
    count_case("avg_pool2d")
    x, options = split_case(case)
    options.update(count_include_pad=count_include_pad, divisor_override=divisor_override)
    assert_close(F.avg_pool2d(x, **options), torch_ref(TF.avg_pool2d, x, **options))


@pytest.mark.parametrize("divisor_override", [None, 2, 5])
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_avg_pool2d_modes(device: str, ceil_mode: bool, count_include_pad: bool, divisor_override: int | None) -> None:
    # Width 6, kernel 3, stride 2, padding 1, ceil mode: the last window runs past the padded edge, where
    # PyTorch stops counting padding.
    x = small_ints(np.random.default_rng(8), (2, 3, 6, 7))
    options = dict(kernel_size=3, stride=2, padding=1, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                   divisor_override=divisor_override)
    assert_close(on_device(device, F.avg_pool2d, x, **options), torch_ref(TF.avg_pool2d, x, **options))


@pytest.mark.parametrize("padding", [(1, 0, 0, 1), (0, 1, 1, 1), (1, 1, 0, 0), (0, 0, 0, 1)])
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("divisor_override", [None, 4])
def test_avg_pool2d_asymmetric_padding(device: str, padding: tuple[int, int, int, int], count_include_pad: bool,
                                       divisor_override: int | None) -> None:
    # Without ceil mode every window lies inside the padded input, so the reference is unambiguous:
    # the window sum over zero padding, divided by the override, the kernel area (padding counted), or the
    # number of input pixels in the window (the same pooling applied to ones).
    x = normal(np.random.default_rng(9), (2, 2, 7, 6))
    kernel, stride = (3, 2), (2, 1)
    sums = torch_ref(TF.avg_pool2d, pad_torch(x, padding, 0.0), kernel, stride, divisor_override=1)
    if divisor_override is not None:
        want = sums / divisor_override
    elif count_include_pad:
        want = sums / (kernel[0] * kernel[1])
    else:
        want = sums / torch_ref(TF.avg_pool2d, pad_torch(np.ones_like(x), padding, 0.0), kernel, stride,
                                divisor_override=1)
    got = on_device(device, F.avg_pool2d, x, kernel, stride, padding, count_include_pad=count_include_pad,
                    divisor_override=divisor_override)
    assert_close(got, want)


def test_avg_pool2d_unbatched_and_empty_batch(device: str) -> None:
    x = normal(np.random.default_rng(10), (3, 8, 9))
    assert_close(on_device(device, F.avg_pool2d, x, 2), torch_ref(TF.avg_pool2d, x, 2))
    assert on_device(device, F.avg_pool2d, np.zeros((0, 3, 8, 9), np.float32), 3, 2, 1).shape == (0, 3, 4, 5)


# --- adaptive_avg_pool2d ------------------------------------------------------------------------------------

@pytest.mark.parametrize("hw,output_size", [
    ((8, 8), 4),          # divides
    ((8, 12), (2, 3)),    # divides, rectangular
    ((7, 7), 3),          # does not divide: windows overlap
    ((10, 13), (4, 5)),
    ((13, 13), 1),        # global average
    ((3, 4), (5, 7)),     # output larger than the input
    ((1, 1), 6),
    ((7, 9), (None, 4)),  # None keeps the input size
    ((7, 9), (5, None)),
    ((6, 6), (None, None)),
    ((6, 7), 6),          # identity along one axis
])
def test_adaptive_avg_pool2d(device: str, hw: tuple[int, int], output_size: Any) -> None:
    x = normal(np.random.default_rng(11), (2, 3, *hw))
    assert_close(on_device(device, F.adaptive_avg_pool2d, x, output_size),
                 torch_ref(TF.adaptive_avg_pool2d, x, output_size))


def test_adaptive_avg_pool2d_unbatched_and_empty_batch(device: str) -> None:
    x = small_ints(np.random.default_rng(12), (4, 7, 5))
    assert_close(on_device(device, F.adaptive_avg_pool2d, x, (3, 2)), torch_ref(TF.adaptive_avg_pool2d, x, (3, 2)))
    assert on_device(device, F.adaptive_avg_pool2d, np.zeros((0, 3, 5, 5), np.float32), 2).shape == (0, 3, 2, 2)


# --- Averages on a device: bit for bit the CPU's --------------------------------------------------------------

# Each window's sum in the CPU kernels' order, divided as they divide: a device's average pools agree exactly.
AVERAGE_POOL_CASES = {
    "avg include pad": (F.avg_pool2d, TF.avg_pool2d, (2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1)),
    "avg exclude pad ceil": (F.avg_pool2d, TF.avg_pool2d, (2, 3, 9, 8),
                             dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    "avg divisor": (F.avg_pool2d, TF.avg_pool2d, (1, 2, 6, 7), dict(kernel_size=(2, 3), divisor_override=5)),
    "adaptive 1x1": (F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d, (2, 5, 7, 7), dict(output_size=1)),
    "adaptive 3x4 of 7x9": (F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d, (2, 3, 7, 9), dict(output_size=(3, 4))),
    "adaptive 6x6 of 5x5": (F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d, (1, 2, 5, 5), dict(output_size=6)),
    "adaptive (None, 2)": (F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d, (1, 2, 5, 6), dict(output_size=(None, 2))),
}


@pytest.mark.parametrize("name", AVERAGE_POOL_CASES)
def test_average_pools_match_torch_and_the_cpu_bit_for_bit(device: str, name: str) -> None:
    ours, theirs, shape, options = AVERAGE_POOL_CASES[name]
    x = normal(np.random.default_rng(1), shape)
    got = on_device(device, ours, x, **options)
    assert_close(got, torch_ref(theirs, x, **options))
    if device != "cpu":
        np.testing.assert_array_equal(got, ours(x, **options))


@pytest.mark.parametrize("padding", [(1, 0, 0, 1), (0, 1, 1, 0)])
def test_pools_with_asymmetric_padding_match_the_cpu_bit_for_bit(device: str, padding: tuple[int, ...]) -> None:
    x = normal(np.random.default_rng(2), (2, 3, 7, 8))
    for fn, theirs, fill in ((F.max_pool2d, TF.max_pool2d, -np.inf), (F.avg_pool2d, TF.avg_pool2d, 0.0)):
        got = on_device(device, fn, x, 3, 2, padding)
        assert_close(got, torch_ref(theirs, pad_torch(x, padding, fill), 3, 2))
        if device != "cpu":
            np.testing.assert_array_equal(got, fn(x, 3, 2, padding))


# --- The API contract ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn,options", [
    (F.max_pool2d, dict(kernel_size=3, stride=2, padding=1)),
    (F.avg_pool2d, dict(kernel_size=2, count_include_pad=False)),
    (F.adaptive_avg_pool2d, dict(output_size=(2, 3))),
], ids=["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"])
@pytest.mark.parametrize("shape", [(2, 3, 6, 7), (3, 5, 4)], ids=["batched", "unbatched"])
def test_pool_api_contract(fn: Any, options: dict[str, Any], shape: tuple[int, ...]) -> None:
    check_api_contract(fn, [small_ints(np.random.default_rng(13), shape)], **options)
