"""Random cases of every functional op against torch.nn.functional, degenerate shapes first.

Each degenerate family (1×1 images, a kernel as large as the input, strides larger than the kernel, a dilation
that spans the input, groups equal to channels, batch 0, one channel, very wide and very tall inputs) is its
own test, so every run covers each of them; each case also draws the ISA it runs on. Arguments that torch
rejects must be rejected with ValueError/TypeError, and accepted ones must give torch's answer.

The default run draws a few dozen seeded cases per test; tests/run_fuzz.sh draws thousands of fresh ones.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import pycnn.functional as F

from conftest import assert_close, count_case
from reference import (
    AVAILABLE_ISAS,
    ConvCase,
    check_against_torch,
    fuzz_settings,
    isa_cap,
    normal,
    torch_conv2d,
    torch_ref,
)

FAMILIES = ["1x1 image", "kernel = input", "stride > kernel", "dilation spans input", "groups = channels",
            "batch 0", "channels 1", "very wide", "very tall"]

isas = st.sampled_from(AVAILABLE_ISAS)
seeds = st.integers(0, 2**32 - 1)
small = st.integers(1, 4)


def span(kernel: int, dilation: int) -> int:
    """How many input positions one window covers along an axis."""
    return dilation * (kernel - 1) + 1


def pads_around(draw: st.DrawFn, need: int, most: int = 2) -> tuple[int, int]:
    """(before, after) padding that adds at least `need` positions, split at random."""
    total = draw(st.integers(max(0, need), max(0, need) + most))
    before = draw(st.integers(0, total))
    return before, total - before


@st.composite
def axis(draw: st.DrawFn, family: str, which: int, pool: bool, dilated: bool = True) -> dict[str, int]:
    """kernel, stride, dilation, padding before and after, and input length along one axis (0: height, 1: width).

    Pools pad both sides alike, by at most half the kernel, as torch requires.
    """
    kernel, dilation, stride = draw(st.integers(1, 5)), draw(st.integers(1, 3 if dilated else 1)), draw(small)
    before = after = 0
    size = None
    long_axis = {"very wide": 1, "very tall": 0}.get(family)
    if family == "1x1 image":
        kernel, dilation, size = draw(st.integers(1, 3)), 1, 1
        if pool:
            before = after = draw(st.integers(kernel // 2, kernel // 2))
        else:
            before, after = pads_around(draw, kernel - 1)
    elif family == "kernel = input":
        size = span(kernel, dilation)
    elif family == "dilation spans input" and dilated:
        kernel, dilation = draw(st.integers(2, 4)), draw(st.integers(2, 9))
        size = span(kernel, dilation)
    elif long_axis is not None:
        size = draw(st.integers(1000, 4000)) if which == long_axis else draw(st.integers(1, 3))
        if which != long_axis:
            kernel, dilation = draw(st.integers(1, size)), 1
    elif pool:
        before = after = draw(st.integers(0, kernel // 2))
    else:
        before, after = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    if size is None:
        least = max(1, span(kernel, dilation) - before - after)
        size = draw(st.integers(least, least + 8))
    if family == "stride > kernel":
        stride = span(kernel, dilation) + draw(st.integers(1, 4))
        size = max(size, draw(st.integers(1, 3 * stride)))
    return dict(kernel=kernel, stride=stride, dilation=dilation, before=before, after=after, size=size)


def padding_argument(h: dict[str, int], w: dict[str, int]) -> Any:
    """The padding in the shortest form that says it: int, (h, w) or (top, bottom, left, right)."""
    pads = (h["before"], h["after"], w["before"], w["after"])
    if pads[0] == pads[1] and pads[2] == pads[3]:
        return pads[0] if pads[0] == pads[2] else (pads[0], pads[2])
    return pads


@st.composite
def conv_cases(draw: st.DrawFn, family: str) -> ConvCase:
    h, w = draw(axis(family, 0, pool=False)), draw(axis(family, 1, pool=False))
    if family == "groups = channels":
        groups, per_group_in, per_group_out = draw(st.integers(2, 12)), 1, draw(st.integers(1, 3))
    elif family == "channels 1":
        groups, per_group_in, per_group_out = 1, 1, 1
    else:
        groups = draw(st.sampled_from([1, 1, 2, 3]))
        per_group_in, per_group_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = 0 if family == "batch 0" else draw(st.sampled_from([None, 1, 2, 3]))
    return ConvCase(batch=batch, in_channels=groups * per_group_in, hw=(h["size"], w["size"]),
                    out_channels=groups * per_group_out, kernel=(h["kernel"], w["kernel"]),
                    stride=(h["stride"], w["stride"]), padding=padding_argument(h, w),
                    dilation=(h["dilation"], w["dilation"]), groups=groups, bias=draw(st.booleans()),
                    integer=draw(st.booleans()), seed=draw(seeds))


def winograd_candidate(case: ConvCase) -> bool:
    """3×3, stride 1, no dilation: the shapes a Winograd algorithm may take, with its looser tolerance."""
    return case.kernel == (3, 3) and case.stride in (1, (1, 1)) and case.dilation in (1, (1, 1))


@pytest.mark.parametrize("family", FAMILIES)
@fuzz_settings(40)
@given(data=st.data(), isa=isas)
def test_conv2d_degenerate_shapes(family: str, data: st.DataObject, isa: str) -> None:
    count_case("conv2d")
    case = data.draw(conv_cases(family))
    if winograd_candidate(case):  # small integers stay exact only through an exact algorithm
        case = ConvCase(**{**case.__dict__, "integer": False})
    with isa_cap(isa):
        check_against_torch(case, rtol=1e-3 if winograd_candidate(case) else 1e-4)


@st.composite
def pool_cases(draw: st.DrawFn, family: str, dilation: bool) -> tuple[np.ndarray, dict[str, Any]]:
    h, w = (draw(axis(family, i, pool=True, dilated=dilation)) for i in (0, 1))
    channels = 1 if family == "channels 1" else draw(st.integers(1, 4))
    batch = (0,) if family == "batch 0" else draw(st.sampled_from([(), (1,), (2,)]))
    x = normal(np.random.default_rng(draw(seeds)), (*batch, channels, h["size"], w["size"]))
    strides = (h["stride"], w["stride"])
    stride = strides if family == "stride > kernel" else draw(st.sampled_from([strides, None]))
    options: dict[str, Any] = dict(kernel_size=(h["kernel"], w["kernel"]), stride=stride,
                                   padding=(h["before"], w["before"]), ceil_mode=draw(st.booleans()))
    if dilation:
        options["dilation"] = (h["dilation"], w["dilation"])
    return x, options


@pytest.mark.parametrize("family", [f for f in FAMILIES if f != "groups = channels"])
@fuzz_settings(30)
@given(data=st.data())
def test_max_pool2d_degenerate_shapes(family: str, data: st.DataObject) -> None:
    count_case("max_pool2d")
    x, options = data.draw(pool_cases(family, dilation=True))
    np.testing.assert_array_equal(F.max_pool2d(x, **options), torch_ref(TF.max_pool2d, x, **options))


@pytest.mark.parametrize("family", [f for f in FAMILIES if f not in ("groups = channels", "dilation spans input")])
@fuzz_settings(30)
@given(data=st.data(), count_include_pad=st.booleans(), divisor_override=st.sampled_from([None, 1, 5]))
def test_avg_pool2d_degenerate_shapes(family: str, data: st.DataObject, count_include_pad: bool,
                                      divisor_override: int | None) -> None:
    count_case("avg_pool2d")
    x, options = data.draw(pool_cases(family, dilation=False))
    options.update(count_include_pad=count_include_pad, divisor_override=divisor_override)
    assert_close(F.avg_pool2d(x, **options), torch_ref(TF.avg_pool2d, x, **options))


# --- the other ops ----------------------------------------------------------------------------------------------

@st.composite
def shapes(draw: st.DrawFn, min_dims: int, max_dims: int) -> tuple[int, ...]:
    """Shapes with zero-length, length-1 and short axes, and at most one long one."""
    shape = draw(st.lists(st.one_of(st.just(1), st.integers(0, 6)), min_size=min_dims, max_size=max_dims))
    if shape and draw(st.booleans()):
        shape[draw(st.integers(0, len(shape) - 1))] = draw(st.integers(200, 900))
    return tuple(shape)


def scaled_normal(seed: int, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return (scale * normal(np.random.default_rng(seed), shape)).astype(np.float32)


@fuzz_settings(60)
@given(batch=st.sampled_from([(), (0,), (1,), (3,)]), channels=st.integers(1, 4),
       hw=st.tuples(*[st.integers(1, 40)] * 2), out=st.tuples(*[st.one_of(st.none(), st.integers(1, 45))] * 2),
       seed=seeds)
def test_adaptive_avg_pool2d_fuzz(batch: tuple[int, ...], channels: int, hw: tuple[int, int],
                                  out: tuple[int | None, int | None], seed: int) -> None:
    count_case("adaptive_avg_pool2d")
    x = scaled_normal(seed, (*batch, channels, *hw))
    assert_close(F.adaptive_avg_pool2d(x, out), torch_ref(TF.adaptive_avg_pool2d, x, out))


@fuzz_settings(60)
@given(leading=shapes(0, 3), features=st.tuples(st.integers(0, 300), st.integers(1, 80)), bias=st.booleans(),
       seed=seeds, isa=isas)
def test_linear_fuzz(leading: tuple[int, ...], features: tuple[int, int], bias: bool, seed: int, isa: str) -> None:
    count_case("linear")
    in_features, out_features = features
    if np.prod(leading) * in_features > 200_000:
        leading = leading[:1]
    rng = np.random.default_rng(seed)
    x, w = normal(rng, (*leading, in_features)), normal(rng, (out_features, in_features))
    b = normal(rng, (out_features,)) if bias else None
    with isa_cap(isa):
        assert_close(F.linear(x, w, b), torch_ref(TF.linear, x, w, b))


@fuzz_settings(60)
@given(shape=shapes(0, 4), data=st.data(), scale=st.sampled_from([1.0, 30.0, 1e4]), seed=seeds)
def test_softmax_fuzz(shape: tuple[int, ...], data: st.DataObject, scale: float, seed: int) -> None:
    count_case("softmax")
    dim = data.draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1))
    x = scaled_normal(seed, shape, scale)
    assert_close(F.softmax(x, dim), torch_ref(TF.softmax, x, dim))


@fuzz_settings(60)
@given(shape=shapes(3, 5), size=st.integers(1, 9), k=st.sampled_from([1.0, 2.0, 0.5]),
       alpha=st.sampled_from([1e-4, 0.1, 1.0]), beta=st.sampled_from([0.75, 0.5, 1.5]), seed=seeds)
def test_local_response_norm_fuzz(shape: tuple[int, ...], size: int, k: float, alpha: float, beta: float,
                                  seed: int) -> None:
    count_case("local_response_norm")
    x = scaled_normal(seed, shape, 3.0)
    assert_close(F.local_response_norm(x, size, alpha, beta, k), torch_ref(TF.local_response_norm, x, size, alpha,
                                                                           beta, k))


@fuzz_settings(60)
@given(shape=shapes(2, 5).filter(lambda s: s[1] > 0), affine=st.booleans(), eps=st.sampled_from([1e-5, 0.1]),
       seed=seeds)
def test_batch_norm_fuzz(shape: tuple[int, ...], affine: bool, eps: float, seed: int) -> None:
    count_case("batch_norm")
    rng = np.random.default_rng(seed)
    c = shape[1]
    x, mean = normal(rng, shape), normal(rng, (c,))
    var = rng.uniform(0.01, 4, c).astype(np.float32)
    weight, bias = (normal(rng, (c,)), normal(rng, (c,))) if affine else (None, None)
    want = torch_ref(TF.batch_norm, x, mean, var, weight, bias, eps=eps)
    assert_close(F.batch_norm(x, mean, var, weight, bias, eps=eps), want)


@fuzz_settings(60)
@given(shape=shapes(0, 5), seed=seeds)
def test_relu_fuzz(shape: tuple[int, ...], seed: int) -> None:
    count_case("relu")
    x = scaled_normal(seed, shape)
    np.testing.assert_array_equal(F.relu(x), torch_ref(TF.relu, x))


# --- pycnn accepts what torch accepts, and rejects what it rejects ----------------------------------------------
#
# Most draws are valid arguments (batch >= 1, a window that fits the padded input) whose outputs are compared with
# torch's number for number; about one in five carries one flaw that torch rejects, and pycnn must reject it too.
# Pool draws leave out any of the optional arguments, and a quarter of them pass the kernel size alone, so the
# defaults (stride None, padding 0, ceil_mode False, count_include_pad True, ...) are compared as well. Each test
# tallies its draws and fails if too few compared numbers: a strategy that drifts into arguments both sides
# reject, or into empty outputs, would otherwise pass while checking nothing.

COMPARED_AT_LEAST = 0.6  # of the draws: both accepted, the output non-empty, the numbers compared
REJECTED_AT_LEAST = 0.05  # of the draws: both rejected
DEFAULTS_AT_LEAST = 0.05  # of the pool draws: the kernel size alone, compared
FLAWED_ONE_IN = 5


def torch_or_error(call: Any) -> np.ndarray | Exception:
    try:
        return call()
    except (RuntimeError, ValueError) as e:
        return e


def check_same_verdict(want: np.ndarray | Exception, call: Any, exact: bool) -> str:
    """torch's error -> pycnn raises ValueError or TypeError; torch's answer -> pycnn's is the same. Returns the
    verdict: "rejected", "empty" (both accepted an output with no elements) or "compared"."""
    if isinstance(want, Exception):
        with pytest.raises((ValueError, TypeError)):
            call()
        return "rejected"
    got = call()
    if exact:
        assert got.shape == want.shape and got.dtype == np.float32, (got.shape, got.dtype, want.shape)
        np.testing.assert_array_equal(got, want)
    else:
        assert_close(got, want)
    return "compared" if want.size else "empty"


def check_torch_verdict(flaw: str | None, want: np.ndarray | Exception, arguments: Any) -> None:
    """The strategy's own check: torch accepts the valid draws and rejects the flawed ones."""
    if flaw is None:
        assert not isinstance(want, Exception), f"torch rejected a valid draw {arguments}: {want}"
    else:
        assert isinstance(want, Exception), f"torch accepted a draw with {flaw!r}: {arguments}"


def assert_numbers_compared(tally: Counter[str], defaults: bool = False) -> None:
    draws = tally["rejected"] + tally["empty"] + tally["compared"]
    assert draws >= 20, f"only {draws} draws ran: {dict(tally)}"
    assert tally["compared"] >= COMPARED_AT_LEAST * draws, f"too few draws compared numbers: {dict(tally)}"
    assert tally["rejected"] >= REJECTED_AT_LEAST * draws, f"too few draws checked a rejection: {dict(tally)}"
    if defaults:
        assert tally["defaults compared"] >= DEFAULTS_AT_LEAST * draws, f"too few default-argument draws: {dict(tally)}"


def pair_argument(draw: st.DrawFn, values: list[int]) -> int | tuple[int, int]:
    """(h, w), or one int where both are equal and a coin says so."""
    h, w = values
    return h if h == w and draw(st.booleans()) else (h, w)


def drawn_flaw(draw: st.DrawFn, flaws: tuple[str, ...]) -> str | None:
    return draw(st.sampled_from(flaws)) if draw(st.integers(1, FLAWED_ONE_IN)) == 1 else None


CONV_FLAWS = ("window past the padded input", "weight channels", "groups do not divide the weight", "stride 0",
              "dilation 0", "negative padding", "bias length", "input 5-D")


@st.composite
def conv2d_arguments(draw: st.DrawFn) -> tuple[str | None, list[int], list[int], int | None, dict[str, Any]]:
    """(flaw or None, input shape, weight shape, bias length or None, options)."""
    flaw = drawn_flaw(draw, CONV_FLAWS)
    groups = draw(st.integers(2 if flaw == "groups do not divide the weight" else 1, 3))
    per_group_in, per_group_out = draw(small), draw(small)
    kernel, dilation = [draw(small), draw(small)], [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    padding = [draw(st.integers(0, 2)), draw(st.integers(0, 2))]
    stride = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    least = [max(1, span(k, d) - 2 * p) for k, d, p in zip(kernel, dilation, padding, strict=True)]
    x_shape = [draw(st.integers(1, 3)), groups * per_group_in, *(draw(st.integers(n, n + 5)) for n in least)]
    w_shape = [groups * per_group_out, per_group_in, *kernel]
    bias = w_shape[0] if draw(st.booleans()) else None
    where = draw(st.integers(0, 1))
    if flaw == "window past the padded input":
        x_shape[2 + where] = draw(st.integers(1, 3))
        w_shape[2 + where] = x_shape[2 + where] + 2 * padding[where] + draw(st.integers(1, 2))
        dilation[where] = 1
    elif flaw == "weight channels":
        w_shape[1] += draw(st.integers(1, 2))
    elif flaw == "groups do not divide the weight":
        w_shape[0] += 1
    elif flaw == "stride 0":
        stride[where] = 0
    elif flaw == "dilation 0":
        dilation[where] = 0
    elif flaw == "negative padding":
        padding[where] = -1
    elif flaw == "bias length":
        bias = w_shape[0] + draw(st.sampled_from([-1, 1]))
    elif flaw == "input 5-D":
        x_shape.insert(1, 1)
    options = dict(stride=pair_argument(draw, stride), padding=pair_argument(draw, padding),
                   dilation=pair_argument(draw, dilation), groups=groups)
    return flaw, x_shape, w_shape, bias, options


@fuzz_settings(80)
@given(arguments=conv2d_arguments(), seed=seeds)
def conv2d_verdicts(arguments: tuple[str | None, list[int], list[int], int | None, dict[str, Any]], seed: int,
                    tally: Counter[str]) -> None:
    count_case("conv2d arguments")
    flaw, x_shape, w_shape, bias, options = arguments
    rng = np.random.default_rng(seed)
    x, w = normal(rng, x_shape), normal(rng, w_shape)
    b = None if bias is None else normal(rng, (bias,))
    want = torch_or_error(lambda: torch_conv2d(x, w, b, **options))
    check_torch_verdict(flaw, want, arguments)
    tally[check_same_verdict(want, lambda: F.conv2d(x, w, b, **options), exact=False)] += 1


@pytest.mark.fuzz
def test_conv2d_accepts_what_torch_accepts() -> None:
    tally: Counter[str] = Counter()
    conv2d_verdicts(tally=tally)
    assert_numbers_compared(tally)


POOL_FLAWS = ("window past the padded input", "padding over half the kernel", "negative padding", "stride 0",
              "kernel 0", "input 5-D")


@st.composite
def pool_arguments(draw: st.DrawFn, average: bool) -> tuple[str | None, list[int], dict[str, Any]]:
    """(flaw or None, input shape, options); the options leave out arguments at random, all of them (the kernel
    size alone) in a quarter of the draws."""
    flaw = drawn_flaw(draw, POOL_FLAWS + (("divisor_override 0",) if average else ("dilation 0",)))
    kernel = [draw(small), draw(small)]
    stride = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    padding = [draw(st.integers(0, k // 2)) for k in kernel]
    dilation = [1, 1] if average else [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    optional = ("stride", "padding", "ceil_mode") + (("count_include_pad", "divisor_override") if average
                                                     else ("dilation",))
    kernel_only = draw(st.integers(1, 4)) == 1
    given = {name for name in optional if not kernel_only and draw(st.booleans())}
    if "padding" not in given:
        padding = [0, 0]
    if "dilation" not in given:
        dilation = [1, 1]
    least = [max(1, span(k, d) - 2 * p) for k, d, p in zip(kernel, dilation, padding, strict=True)]
    shape = [draw(st.integers(1, 2)), draw(small), *(draw(st.integers(n, n + 5)) for n in least)]
    where = draw(st.integers(0, 1))
    if flaw == "window past the padded input":
        shape[2 + where] = draw(st.integers(1, 3))
        kernel[where] = shape[2 + where] + 2 * padding[where] + draw(st.integers(1, 2))
        given.discard("ceil_mode")  # with ceil_mode, a window that starts inside the input may overhang it
    elif flaw == "padding over half the kernel":
        padding[where] = kernel[where] // 2 + draw(st.integers(1, 2))
        given.add("padding")
    elif flaw == "negative padding":
        padding[where] = -1
        given.add("padding")
    elif flaw == "stride 0":
        stride[where] = 0
        given.add("stride")
    elif flaw == "kernel 0":
        kernel[where] = 0
    elif flaw == "input 5-D":
        shape.insert(1, 1)
    elif flaw == "dilation 0":
        dilation[where] = 0
        given.add("dilation")
    options: dict[str, Any] = dict(kernel_size=pair_argument(draw, kernel))
    values: dict[str, Any] = dict(stride=draw(st.sampled_from([pair_argument(draw, stride), None])),
                                  padding=pair_argument(draw, padding), ceil_mode=draw(st.booleans()),
                                  dilation=pair_argument(draw, dilation), count_include_pad=draw(st.booleans()),
                                  divisor_override=draw(st.sampled_from([None, 1, 3])))
    if flaw == "stride 0":
        values["stride"] = tuple(stride)
    elif flaw == "divisor_override 0":
        values["divisor_override"] = 0
        given.add("divisor_override")
    options.update((name, values[name]) for name in optional if name in given)
    return flaw, shape, options


def pool_verdicts(average: bool, arguments: tuple[str | None, list[int], dict[str, Any]], seed: int,
                  tally: Counter[str]) -> None:
    count_case("pool arguments")
    flaw, shape, options = arguments
    x = normal(np.random.default_rng(seed), shape)
    ours, theirs = (F.avg_pool2d, TF.avg_pool2d) if average else (F.max_pool2d, TF.max_pool2d)
    want = torch_or_error(lambda: torch_ref(theirs, x, **options))
    check_torch_verdict(flaw, want, arguments)
    verdict = check_same_verdict(want, lambda: ours(x, **options), exact=not average)
    tally[verdict] += 1
    if verdict == "compared" and list(options) == ["kernel_size"]:
        tally["defaults compared"] += 1


@fuzz_settings(50)
@given(arguments=pool_arguments(average=False), seed=seeds)
def max_pool2d_verdicts(arguments: tuple[str | None, list[int], dict[str, Any]], seed: int,
                        tally: Counter[str]) -> None:
    pool_verdicts(False, arguments, seed, tally)


@fuzz_settings(50)
@given(arguments=pool_arguments(average=True), seed=seeds)
def avg_pool2d_verdicts(arguments: tuple[str | None, list[int], dict[str, Any]], seed: int,
                        tally: Counter[str]) -> None:
    pool_verdicts(True, arguments, seed, tally)


@pytest.mark.fuzz
@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_pools_accept_what_torch_accepts(op: str) -> None:
    tally: Counter[str] = Counter()
    (max_pool2d_verdicts if op == "max_pool2d" else avg_pool2d_verdicts)(tally=tally)
    assert_numbers_compared(tally, defaults=True)


def test_torch_is_the_reference_here() -> None:
    """The verdict tests compare with torch's own checks: they must reject something, or they test nothing."""
    x = torch.zeros(1, 2, 3, 3)
    with pytest.raises(RuntimeError):
        TF.conv2d(x, torch.zeros(1, 2, 5, 5))
    with pytest.raises(RuntimeError):
        TF.max_pool2d(x, 2, padding=2)
