"""Bad input: a ValueError or TypeError whose message names the argument and the shapes — never a crash."""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import pycnn
import pycnn.functional as F
from pycnn import _core

from reference import AVAILABLE_ISAS, run_python


def zeros(*shape: int, dtype: Any = np.float32) -> np.ndarray:
    return np.zeros(shape, dtype)


X, W = zeros(1, 3, 5, 5), zeros(4, 3, 3, 3)


def expect(error: type[Exception], call: Callable[[], Any], *fragments: str) -> None:
    """call() raises `error` with every fragment (plain text, not a regex) in its message."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# (call, error, fragments of the message): the argument's name and the shapes involved.
FUNCTIONAL_ERRORS = {
    "conv2d input 2-D": (lambda: F.conv2d(zeros(3, 5), W), ValueError, ["input", "(3, 5)"]),
    "conv2d input 5-D": (lambda: F.conv2d(zeros(1, 1, 3, 5, 5), W), ValueError, ["input", "(1, 1, 3, 5, 5)"]),
    "conv2d weight 3-D": (lambda: F.conv2d(X, zeros(4, 3, 3)), ValueError, ["weight", "(4, 3, 3)"]),
    "conv2d channel mismatch": (lambda: F.conv2d(X, zeros(4, 2, 3, 3)), ValueError,
                                ["weight", "(4, 2, 3, 3)", "(1, 3, 5, 5)"]),
    "conv2d groups do not divide input channels": (lambda: F.conv2d(X, zeros(4, 1, 3, 3), groups=2), ValueError,
                                                   ["groups=2", "(1, 3, 5, 5)"]),
    "conv2d groups do not divide output channels": (lambda: F.conv2d(zeros(1, 4, 5, 5), zeros(3, 2, 3, 3),
                                                                     groups=2), ValueError,
                                                    ["groups=2", "(3, 2, 3, 3)"]),
    "conv2d groups 0": (lambda: F.conv2d(X, W, groups=0), ValueError, ["groups"]),
    "conv2d groups float": (lambda: F.conv2d(X, W, groups=1.0), TypeError, ["groups"]),
    "conv2d bias length": (lambda: F.conv2d(X, W, zeros(3)), ValueError, ["bias", "(4,)", "(3,)"]),
    "conv2d bias 2-D": (lambda: F.conv2d(X, W, zeros(4, 1)), ValueError, ["bias", "(4, 1)"]),
    "conv2d kernel larger than padded input": (lambda: F.conv2d(X, zeros(4, 3, 8, 3), padding=1), ValueError,
                                               ["(1, 3, 5, 5)", "larger than the padded input"]),
    "conv2d dilated kernel larger than input": (lambda: F.conv2d(X, W, dilation=3), ValueError,
                                                ["(1, 3, 5, 5)", "dilation 3"]),
    "conv2d stride 0": (lambda: F.conv2d(X, W, stride=0), ValueError, ["stride"]),
    "conv2d stride negative": (lambda: F.conv2d(X, W, stride=(1, -2)), ValueError, ["stride", "(1, -2)"]),
    "conv2d stride of 3": (lambda: F.conv2d(X, W, stride=(1, 1, 1)), ValueError, ["stride"]),
    "conv2d dilation 0": (lambda: F.conv2d(X, W, dilation=0), ValueError, ["dilation"]),
    "conv2d negative padding": (lambda: F.conv2d(X, W, padding=-1), ValueError, ["padding", "-1"]),
    "conv2d negative 4-tuple padding": (lambda: F.conv2d(X, W, padding=(0, 1, -1, 0)), ValueError, ["padding"]),
    "conv2d padding of 3": (lambda: F.conv2d(X, W, padding=(1, 1, 1)), ValueError, ["padding", "(1, 1, 1)"]),
    "conv2d same with stride 2": (lambda: F.conv2d(X, W, padding="same", stride=2), ValueError,
                                  ["'same'", "stride"]),
    "conv2d unknown padding string": (lambda: F.conv2d(X, W, padding="full"), ValueError, ["padding", "'full'"]),
    "conv2d string input": (lambda: F.conv2d(np.full((1, 3, 5, 5), "a"), W), TypeError, ["input", "<U1"]),
    "conv2d object input": (lambda: F.conv2d(zeros(1, 3, 5, 5, dtype=object), W), TypeError, ["input", "object"]),
    "conv2d complex weight": (lambda: F.conv2d(X, zeros(4, 3, 3, 3, dtype=complex)), TypeError,
                              ["weight", "complex"]),
    "conv2d complex bias": (lambda: F.conv2d(X, W, zeros(4, dtype=np.complex64)), TypeError, ["bias", "complex"]),
    "conv2d ragged list": (lambda: F.conv2d([[1, 2], [3]], W), TypeError, ["input"]),
    "conv2d dilation 2^62": (lambda: F.conv2d(X, W, dilation=2**62), ValueError, ["dilation", str(2**62)]),
    "conv2d stride 2^40": (lambda: F.conv2d(X, W, stride=2**40), ValueError, ["stride", str(2**40)]),
    "max_pool2d kernel 2^40": (lambda: F.max_pool2d(X, 2**40), ValueError, ["kernel size", str(2**40)]),
    "conv2d output over 2^47 bytes": (lambda: F.conv2d(zeros(1, 1, 1, 1), zeros(1, 1, 1, 1), padding=2**23),
                                      ValueError, ["conv2d output", "(1, 1, 16777217, 16777217)", "too large"]),
    "max_pool2d padding over half the kernel": (lambda: F.max_pool2d(X, 3, padding=2), ValueError,
                                                ["max_pool2d", "padding"]),
    "max_pool2d one-sided padding over half": (lambda: F.max_pool2d(X, 3, padding=(0, 2, 0, 0)), ValueError,
                                               ["max_pool2d", "padding"]),
    "avg_pool2d padding over half the kernel": (lambda: F.avg_pool2d(X, (3, 2), padding=(1, 2)), ValueError,
                                                ["avg_pool2d", "padding"]),
    "max_pool2d input 2-D": (lambda: F.max_pool2d(zeros(5, 5), 2), ValueError, ["max_pool2d: input", "(5, 5)"]),
    "max_pool2d kernel 0": (lambda: F.max_pool2d(X, 0), ValueError, ["kernel_size"]),
    "max_pool2d kernel larger than input": (lambda: F.max_pool2d(X, 7), ValueError, ["(1, 3, 5, 5)", "kernel"]),
    "max_pool2d stride 0": (lambda: F.max_pool2d(X, 2, 0), ValueError, ["stride"]),
    "max_pool2d dilation 0": (lambda: F.max_pool2d(X, 2, dilation=0), ValueError, ["dilation"]),
    "max_pool2d negative padding": (lambda: F.max_pool2d(X, 2, padding=-1), ValueError, ["padding"]),
    "avg_pool2d divisor_override 0": (lambda: F.avg_pool2d(X, 2, divisor_override=0), ValueError,
                                      ["divisor_override"]),
    "avg_pool2d string input": (lambda: F.avg_pool2d(np.full((1, 1, 4, 4), "x"), 2), TypeError, ["avg_pool2d"]),
    "adaptive output size 0": (lambda: F.adaptive_avg_pool2d(X, 0), ValueError, ["output_size"]),
    "adaptive output size of 3": (lambda: F.adaptive_avg_pool2d(X, (1, 2, 3)), ValueError, ["output_size"]),
    "adaptive empty planes": (lambda: F.adaptive_avg_pool2d(zeros(1, 3, 0, 5), 2), ValueError, ["(1, 3, 0, 5)"]),
    "adaptive output over 2^47 bytes": (lambda: F.adaptive_avg_pool2d(X, 2**24), ValueError, ["too large"]),
    "linear in_features mismatch": (lambda: F.linear(zeros(2, 5), zeros(3, 4)), ValueError,
                                    ["linear", "(2, 5)", "(3, 4)"]),
    "linear 0-D input": (lambda: F.linear(zeros(), zeros(3, 4)), ValueError, ["linear", "()"]),
    "linear weight 3-D": (lambda: F.linear(zeros(2, 5), zeros(3, 5, 1)), ValueError, ["weight", "(3, 5, 1)"]),
    "linear bias length": (lambda: F.linear(zeros(2, 5), zeros(3, 5), zeros(4)), ValueError, ["bias", "(4,)"]),
    "linear object weight": (lambda: F.linear(zeros(2, 5), zeros(3, 5, dtype=object)), TypeError, ["weight"]),
    "softmax dim too large": (lambda: F.softmax(X, 4), ValueError, ["dim=4", "4 dimensions"]),
    "softmax dim too negative": (lambda: F.softmax(X, -5), ValueError, ["dim=-5"]),
    "softmax dim float": (lambda: F.softmax(X, 1.0), TypeError, ["dim"]),
    "relu complex": (lambda: F.relu(zeros(3, dtype=complex)), TypeError, ["relu", "complex"]),
    "lrn size 0": (lambda: F.local_response_norm(X, 0), ValueError, ["size"]),
    "lrn input 2-D": (lambda: F.local_response_norm(zeros(2, 3), 2), ValueError, ["local_response_norm", "(2, 3)"]),
    "batch_norm no running_mean": (lambda: F.batch_norm(X, None, np.ones(3)), ValueError, ["running_mean"]),
    "batch_norm running_var length": (lambda: F.batch_norm(X, zeros(3), np.ones(4)), ValueError,
                                      ["running_var", "(3,)", "(1, 3, 5, 5)", "(4,)"]),
    "batch_norm weight length": (lambda: F.batch_norm(X, zeros(3), np.ones(3), zeros(2)), ValueError,
                                 ["weight", "(2,)"]),
    "batch_norm input 1-D": (lambda: F.batch_norm(zeros(3), zeros(3), np.ones(3)), ValueError, ["(3,)"]),
    "batch_norm training": (lambda: F.batch_norm(X, zeros(3), np.ones(3), training=True), ValueError,
                            ["training"]),
}


@pytest.mark.parametrize("name", FUNCTIONAL_ERRORS)
def test_functional_rejects_bad_input(name: str) -> None:
    call, error, fragments = FUNCTIONAL_ERRORS[name]
    expect(error, call, *fragments)


@pytest.mark.parametrize("kernel,padding,dilation", [(2, 2, 3), (3, 2, 2), ((2, 3), (1, 2), (1, 2))])
def test_max_pool2d_padding_is_limited_by_the_kernel_not_its_dilated_span(kernel: Any, padding: Any,
                                                                          dilation: Any) -> None:
    # PyTorch: "pad should be at most half of kernel size" — of the kernel, whatever the dilation. A looser
    # limit lets windows miss the input altogether: kernel 2, dilation 3, padding 2 on one pixel gives -inf.
    expect(ValueError, lambda: F.max_pool2d(zeros(1, 1, 5, 5), kernel, 1, padding, dilation), "padding")


def test_conv_output_size_strict_explains_a_window_that_does_not_tile() -> None:
    with pytest.raises(ValueError, match=re.escape("(7 - 3 + 2*0)/3 + 1")) as info:
        pycnn.conv_output_size(7, 3, 3, strict=True)
    assert "never read" in str(info.value)
    with pytest.raises(ValueError, match="do not tile"):
        pycnn.conv_output_size((9, 7), 3, 3, strict=True)


@pytest.mark.parametrize(("args", "fragment"), [
    ((2, 5), "kernel 5, dilation 1) is larger than the padded input (2 + 0 + 0 = 2)"),
    ((7, 3, 0), "stride=0"), ((7, 0), "kernel_size=0"), ((7, 3, 1, -1), "padding=-1"),
    ((7, 3, 1, 0, 0), "dilation=0"), ((-1, 1), "size=-1")])
def test_conv_output_size_rejects_impossible_windows(args: tuple[int, ...], fragment: str) -> None:
    expect(ValueError, lambda: pycnn.conv_output_size(*args), fragment)


# --- _core called directly: every inconsistency raises, naming the argument and the shapes ------------------

OUT = zeros(1, 4, 3, 3)
CONV = dict(stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1)
READ_ONLY = np.broadcast_to(zeros(1, 4, 3, 3), (1, 4, 3, 3))

CORE_ERRORS = {
    "conv2d float64 input": (lambda: _core.conv2d(X.astype(np.float64), W, None, OUT, **CONV),
                             TypeError, ["input must be float32"]),
    "conv2d int32 weight": (lambda: _core.conv2d(X, W.astype(np.int32), None, OUT, **CONV),
                            TypeError, ["weight must be float32"]),
    "conv2d strided input": (lambda: _core.conv2d(zeros(1, 3, 5, 10)[..., ::2], W, None, OUT, **CONV),
                             TypeError, ["input must be C-contiguous"]),
    "conv2d Fortran weight": (lambda: _core.conv2d(X, np.asfortranarray(zeros(4, 3, 3, 3)), None, OUT, **CONV),
                              TypeError, ["weight must be C-contiguous"]),
    "conv2d out shape": (lambda: _core.conv2d(X, W, None, zeros(1, 4, 3, 4), **CONV),
                         ValueError, ["out", "(1, 4, 3, 4)", "expected (1, 4, 3, 3)"]),
    "conv2d out float64": (lambda: _core.conv2d(X, W, None, OUT.astype(np.float64), **CONV),
                           TypeError, ["out must be float32"]),
    "conv2d out read-only": (lambda: _core.conv2d(X, W, None, READ_ONLY, **CONV), ValueError, ["out is read-only"]),
    "conv2d input 3-D": (lambda: _core.conv2d(zeros(3, 5, 5), W, None, OUT, **CONV),
                         ValueError, ["input", "4 dimensions", "(3, 5, 5)"]),
    "conv2d weight 3-D": (lambda: _core.conv2d(X, zeros(4, 3, 3), None, OUT, **CONV),
                          ValueError, ["weight", "4 dimensions", "(4, 3, 3)"]),
    "conv2d channels": (lambda: _core.conv2d(X, zeros(4, 2, 3, 3), None, OUT, **CONV),
                        ValueError, ["weight of shape (4, 2, 3, 3)", "input of shape (1, 3, 5, 5)", "groups=1"]),
    "conv2d groups 0": (lambda: _core.conv2d(X, W, None, OUT, (1, 1), (0, 0, 0, 0), (1, 1), 0),
                        ValueError, ["groups must be positive"]),
    "conv2d groups 3": (lambda: _core.conv2d(X, zeros(4, 1, 3, 3), None, OUT, (1, 1), (0, 0, 0, 0), (1, 1), 3),
                        ValueError, ["weight of shape (4, 1, 3, 3)", "input of shape (1, 3, 5, 5)", "groups=3"]),
    "conv2d bias length": (lambda: _core.conv2d(X, W, zeros(3), OUT, **CONV),
                           ValueError, ["bias", "(3,)", "expected (4,)"]),
    "conv2d residual shape": (lambda: _core.conv2d(X, W, None, OUT, **CONV, residual=zeros(1, 4, 3, 4)),
                              ValueError, ["residual", "(1, 4, 3, 4)", "expected (1, 4, 3, 3)"]),
    "conv2d kernel too large": (lambda: _core.conv2d(X, zeros(4, 3, 7, 7), None, OUT, **CONV),
                                ValueError, ["kernel larger than the padded input"]),
    "conv2d stride 0": (lambda: _core.conv2d(X, W, None, OUT, (0, 1), (0, 0, 0, 0), (1, 1), 1),
                        ValueError, ["stride", "got 0"]),
    "conv2d negative padding": (lambda: _core.conv2d(X, W, None, OUT, (1, 1), (-1, 0, 0, 0), (1, 1), 1),
                                ValueError, ["padding", "got -1"]),
    "conv2d dilation 0": (lambda: _core.conv2d(X, W, None, OUT, (1, 1), (0, 0, 0, 0), (0, 1), 1),
                          ValueError, ["dilation", "got 0"]),
    "conv2d None input": (lambda: _core.conv2d(None, W, None, OUT, **CONV),
                          TypeError, ["conv2d(): incompatible function arguments"]),
    # Parameters whose products with the extents would overflow int64
    "conv2d dilation 2^62": (lambda: _core.conv2d(X, W, None, OUT, (1, 1), (0, 0, 0, 0), (2**62, 1), 1),
                             ValueError, ["dilation", "4611686018427387904"]),
    "conv2d padding 2^62": (lambda: _core.conv2d(X, W, None, OUT, (1, 1), (2**62, 2**62, 0, 0), (1, 1), 1),
                            ValueError, ["padding", "4611686018427387904"]),
    "conv2d stride 2^62": (lambda: _core.conv2d(X, W, None, OUT, (2**62, 1), (0, 0, 0, 0), (1, 1), 1),
                           ValueError, ["stride", "4611686018427387904"]),
    "conv2d groups 2^62": (lambda: _core.conv2d(zeros(1, 0, 5, 5), zeros(0, 4, 3, 3), None, zeros(1, 0, 3, 3), (1, 1),
                                                (0, 0, 0, 0), (1, 1), 2**62),
                           ValueError, ["groups=4611686018427387904", "(0, 4, 3, 3)", "(1, 0, 5, 5)"]),
    "max_pool2d padding 2^62": (lambda: _core.max_pool2d(X, zeros(1, 3, 5, 5), (3, 3), (1, 1), (2**62, 0, 0, 0),
                                                         (1, 1), True),
                                ValueError, ["padding", "4611686018427387904"]),
    "window_output_size dilation 2^62": (lambda: _core.window_output_size(5, 3, 1, 0, 0, 2**62, False),
                                         ValueError, ["dilation", "4611686018427387904"]),
    "window_output_size size 2^63-1": (lambda: _core.window_output_size(2**63 - 1, 3, 1, 2, 2, 1, True),
                                       ValueError, ["size must be between 0 and 2^62"]),
    "linear features": (lambda: _core.linear(zeros(2, 5), zeros(3, 4), None, zeros(2, 3)),
                        ValueError, ["input of shape (2, 5)", "weight of shape (3, 4)"]),
    "linear out": (lambda: _core.linear(zeros(2, 5), zeros(3, 5), None, zeros(2, 4)),
                   ValueError, ["out", "(2, 4)", "expected (2, 3)"]),
    "linear bias": (lambda: _core.linear(zeros(2, 5), zeros(3, 5), zeros(4), zeros(2, 3)),
                    ValueError, ["bias", "(4,)", "expected (3,)"]),
    "linear 3-D input": (lambda: _core.linear(zeros(1, 2, 5), zeros(3, 5), None, zeros(2, 3)),
                         ValueError, ["input", "2 dimensions", "(1, 2, 5)"]),
    "max_pool2d out shape": (lambda: _core.max_pool2d(X, zeros(1, 3, 3, 3), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1),
                                                      False),
                             ValueError, ["out", "(1, 3, 3, 3)", "expected (1, 3, 2, 2)"]),
    "max_pool2d out 3-D": (lambda: _core.max_pool2d(X, zeros(3, 2, 2), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1), False),
                           ValueError, ["out", "(3, 2, 2)", "expected (1, 3, 2, 2)"]),
    "max_pool2d padding over half": (lambda: _core.max_pool2d(X, zeros(1, 3, 5, 5), (2, 2), (1, 1), (2, 2, 2, 2),
                                                              (1, 1), False),
                                     ValueError, ["padding", "half the kernel"]),
    "max_pool2d kernel 0": (lambda: _core.max_pool2d(X, zeros(1, 3, 5, 5), (0, 2), (1, 1), (0, 0, 0, 0), (1, 1), False),
                            ValueError, ["kernel size", "got 0"]),
    "max_pool2d kernel too large": (lambda: _core.max_pool2d(X, zeros(1, 3, 1, 1), (7, 7), (1, 1), (0, 0, 0, 0),
                                                             (1, 1), False),
                                    ValueError, ["kernel larger than the padded input"]),
    "avg_pool2d negative divisor": (lambda: _core.avg_pool2d(X, zeros(1, 3, 2, 2), (2, 2), (2, 2), (0, 0, 0, 0), False,
                                                             True, -1),
                                    ValueError, ["divisor_override must be positive"]),
    "avg_pool2d stride 0": (lambda: _core.avg_pool2d(X, zeros(1, 3, 2, 2), (2, 2), (0, 2), (0, 0, 0, 0), False, True,
                                                     0),
                            ValueError, ["stride", "got 0"]),
    "adaptive batch mismatch": (lambda: _core.adaptive_avg_pool2d(X, zeros(2, 3, 2, 2)),
                                ValueError, ["out does not match input's batch and channels"]),
    "adaptive output 0": (lambda: _core.adaptive_avg_pool2d(X, zeros(1, 3, 0, 2)),
                          ValueError, ["output size must be positive"]),
    "adaptive empty input": (lambda: _core.adaptive_avg_pool2d(zeros(1, 3, 0, 5), zeros(1, 3, 2, 2)),
                             ValueError, ["input planes must not be empty"]),
    "relu out shape": (lambda: _core.relu(zeros(3, 4), zeros(4, 3)), ValueError, ["out", "(4, 3)", "expected (3, 4)"]),
    "relu float64": (lambda: _core.relu(np.zeros(3), zeros(3)), TypeError, ["input must be float32"]),
    "channel_affine scale": (lambda: _core.channel_affine(zeros(2, 3, 4), zeros(2), zeros(3), zeros(2, 3, 4)),
                             ValueError, ["scale", "(2,)", "expected (3,)"]),
    "channel_affine 2-D": (lambda: _core.channel_affine(zeros(2, 3), zeros(3), zeros(3), zeros(2, 3)),
                           ValueError, ["input", "3 dimensions", "(2, 3)"]),
    "local_response_norm size 0": (lambda: _core.local_response_norm(zeros(2, 3, 4), zeros(2, 3, 4), 0, 1e-4, 0.75,
                                                                     1.0),
                                   ValueError, ["size must be positive"]),
    "local_response_norm out": (lambda: _core.local_response_norm(zeros(2, 3, 4), zeros(2, 3, 5), 2, 1e-4, 0.75, 1.0),
                                ValueError, ["out", "(2, 3, 5)", "expected (2, 3, 4)"]),
    "softmax 2-D": (lambda: _core.softmax(zeros(2, 3), zeros(2, 3)), ValueError, ["input", "3 dimensions", "(2, 3)"]),
    "softmax out": (lambda: _core.softmax(zeros(2, 3, 4), zeros(2, 3, 5)),
                    ValueError, ["out", "(2, 3, 5)", "expected (2, 3, 4)"]),
    "gemm inner mismatch": (lambda: _core.gemm(zeros(3, 4), zeros(5, 6), zeros(3, 6)),
                            ValueError, ["a of shape (3, 4)", "b of shape (5, 6)"]),
    "gemm out shape": (lambda: _core.gemm(zeros(3, 4), zeros(4, 6), zeros(3, 5)),
                       ValueError, ["out", "(3, 5)", "expected (3, 6)"]),
    "gemm float64": (lambda: _core.gemm(np.zeros((3, 4)), zeros(4, 6), zeros(3, 6)), TypeError, ["a must be float32"]),
    "gemm 1-D": (lambda: _core.gemm(zeros(4), zeros(4, 6), zeros(1, 6)),
                 ValueError, ["a must have 2 dimensions", "(4,)"]),
    "gemm unknown isa": (lambda: _core.gemm(zeros(3, 4), zeros(4, 6), zeros(3, 6), "sse"),
                         ValueError, ["'sse'", "generic, avx2, avx512, avx512_bf16, amx"]),
    "set_isa_cap unknown": (lambda: _core.set_isa_cap("mmx"), ValueError,
                            ["'mmx'", "generic, avx2, avx512, avx512_bf16, amx"]),
    "set_num_threads 0": (lambda: _core.set_num_threads(0), ValueError, ["num_threads", "got 0"]),
}


@pytest.mark.parametrize("name", CORE_ERRORS)
def test_core_rejects_inconsistent_arguments(name: str) -> None:
    call, error, fragments = CORE_ERRORS[name]
    expect(error, call, *fragments)


def test_core_gemm_names_the_missing_isa() -> None:
    missing = [isa for isa in ("avx2", "avx512") if isa not in AVAILABLE_ISAS]
    if not missing:
        pytest.skip("this CPU runs every ISA")
    expect(ValueError, lambda: _core.gemm(zeros(3, 4), zeros(4, 6), zeros(3, 6), missing[-1]), missing[-1])


def test_core_takes_float32_by_equivalence_and_refuses_other_byte_orders() -> None:
    # An unpickled array's dtype equals np.float32 without being the same object.
    x = pickle.loads(pickle.dumps(np.arange(-2, 2, dtype=np.float32), protocol=5))
    out = np.empty(4, np.float32)
    _core.relu(x, out)
    np.testing.assert_array_equal(out, [0, 0, 0, 1])
    expect(TypeError, lambda: _core.relu(x.astype(">f4"), out), "input must be float32")


@pytest.mark.parametrize("args", [
    (5, 3, 0, 0, 0, 1, False),   # stride 0: divides by zero
    (5, 3, 0, 0, 0, 1, True),
    (5, 3, -1, 0, 0, 1, False),  # negative stride
    (5, 0, 1, 0, 0, 1, False),   # empty kernel
    (5, 3, 1, 0, 0, 0, False),   # dilation 0
], ids=["stride0", "stride0-ceil", "stride-1", "kernel0", "dilation0"])
def test_core_window_output_size_rejects_invalid_windows(args: tuple[Any, ...]) -> None:
    # In a fresh interpreter: a crash there fails this test instead of ending the whole run.
    result = run_python(f"""
from pycnn import _core
try:
    print("returned", _core.window_output_size(*{args!r}))
except (ValueError, TypeError) as e:
    print("raised", type(e).__name__, e)
""")
    assert result.returncode == 0, f"interpreter died with code {result.returncode}: {result.stderr[-500:]}"
    assert result.stdout.startswith("raised"), result.stdout
