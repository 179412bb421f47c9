"""Every argument error of pycnn.functional and pycnn.conv_output_size, its message in full: the op, the argument,
the value and the shapes, word for word (test_errors.py checks fragments; a wrong label or number fails here)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import pycnn
import pycnn.functional as F


def zeros(*shape: int, dtype: Any = np.float32) -> np.ndarray:
    return np.zeros(shape, dtype)


def text(*shape: int) -> np.ndarray:
    return np.full(shape, "a")


def not_real(name: str, shape: tuple[int, ...]) -> str:
    """The message for an array of text passed as `name`."""
    return f"{name} must hold real numbers, got dtype <U1 (shape {shape})"


X, W = zeros(1, 3, 5, 5), zeros(4, 3, 3, 3)
SIZE = pycnn.conv_output_size
NCHW = "must be 3-D or 4-D ((N, C, H, W) or unbatched (C, H, W))"
TOO_LARGE = "kernel of effective size"

# call -> (error, the whole message)
MESSAGES: dict[str, tuple[Callable[[], Any], type[Exception], str]] = {
    # pycnn.conv_output_size
    "size: dilated kernel over the padded input": (
        lambda: SIZE(3, 3, 1, 1, 3), ValueError,
        f"{TOO_LARGE} 7 (kernel 3, dilation 3) is larger than the padded input (3 + 1 + 1 = 5)"),
    "size: stride 0": (
        lambda: SIZE(7, 3, 0), ValueError,
        "need size ≥ 0, kernel ≥ 1, stride ≥ 1, padding ≥ 0, dilation ≥ 1; got size=7, kernel_size=3, stride=0, "
        "padding=0, dilation=1"),
    "size: negative size": (
        lambda: SIZE((7, -1), 3, 2, 1, 1), ValueError,
        "need size ≥ 0, kernel ≥ 1, stride ≥ 1, padding ≥ 0, dilation ≥ 1; got size=-1, kernel_size=3, stride=2, "
        "padding=1, dilation=1"),
    "size: kernel 0": (
        lambda: SIZE(7, 0, 2), ValueError,
        "need size ≥ 0, kernel ≥ 1, stride ≥ 1, padding ≥ 0, dilation ≥ 1; got size=7, kernel_size=0, stride=2, "
        "padding=0, dilation=1"),
    "size: negative padding": (
        lambda: SIZE(7, 3, 1, -1, 2), ValueError,
        "need size ≥ 0, kernel ≥ 1, stride ≥ 1, padding ≥ 0, dilation ≥ 1; got size=7, kernel_size=3, stride=1, "
        "padding=-1, dilation=2"),
    "size: dilation 0": (
        lambda: SIZE(7, 3, 1, 1, 0), ValueError,
        "need size ≥ 0, kernel ≥ 1, stride ≥ 1, padding ≥ 0, dilation ≥ 1; got size=7, kernel_size=3, stride=1, "
        "padding=1, dilation=0"),
    "size: float size": (lambda: SIZE(7.0, 3), TypeError, "size must be an integer, got 7.0"),
    "size: float size in a tuple": (lambda: SIZE((7, 7.0), 3), TypeError, "size must be an integer, got 7.0"),
    "size: float kernel": (lambda: SIZE(7, 3.0), TypeError, "kernel_size must be an integer, got 3.0"),
    "size: float stride": (lambda: SIZE(7, 3, 1.0), TypeError, "stride must be an integer, got 1.0"),
    "size: float padding": (lambda: SIZE(7, 3, 1, 0.0), TypeError, "padding must be an integer, got 0.0"),
    "size: float dilation": (lambda: SIZE(7, 3, 1, 0, 1.0), TypeError, "dilation must be an integer, got 1.0"),
    "size: kernel of three for two axes": (
        lambda: SIZE((7, 7), (3, 3, 3)), ValueError,
        "kernel_size must be an int or a sequence of 2 ints, got (3, 3, 3)"),
    "size: strict, padded and dilated": (
        lambda: SIZE(8, 2, 3, 1, 2, strict=True), ValueError,
        "windows of effective size 3 with stride 3 do not tile an input of 8 with padding 1: (W - F + 2P)/S + 1 = "
        "(8 - 3 + 2*1)/3 + 1 = 3.333 is not an integer, so the last 1 element(s) of the padded input are never read"),
    # windows that do not fit: the op, the input, the kernel and the padding, then the axis that failed
    "max_pool2d kernel over the input": (
        lambda: F.max_pool2d(X, 7), ValueError,
        f"max_pool2d: input of shape (1, 3, 5, 5), kernel (7, 7), padding (0, 0, 0, 0): {TOO_LARGE} 7 (kernel 7, "
        "dilation 1) is larger than the padded input (5 + 0 + 0 = 5)"),
    "avg_pool2d kernel over the input width": (
        lambda: F.avg_pool2d(zeros(2, 9, 6), (3, 7), padding=(1, 0)), ValueError,
        f"avg_pool2d: input of shape (1, 2, 9, 6), kernel (3, 7), padding (1, 1, 0, 0): {TOO_LARGE} 7 (kernel 7, "
        "dilation 1) is larger than the padded input (6 + 0 + 0 = 6)"),
    "conv2d kernel over the padded height": (
        lambda: F.conv2d(zeros(1, 3, 1, 5), W, padding=(0, 1, 2, 1), dilation=(1, 2)), ValueError,
        f"conv2d: input of shape (1, 3, 1, 5), kernel (3, 3), padding (0, 1, 2, 1): {TOO_LARGE} 3 (kernel 3, "
        "dilation 1) is larger than the padded input (1 + 0 + 1 = 2)"),
    "conv2d kernel over the padded width": (
        lambda: F.conv2d(zeros(1, 3, 5, 1), zeros(4, 3, 2, 3), padding=(2, 1, 1, 0), dilation=(2, 1)), ValueError,
        f"conv2d: input of shape (1, 3, 5, 1), kernel (2, 3), padding (2, 1, 1, 0): {TOO_LARGE} 3 (kernel 3, "
        "dilation 1) is larger than the padded input (1 + 1 + 0 = 2)"),
    # conv2d's arguments
    "conv2d stride 0": (lambda: F.conv2d(X, W, stride=0), ValueError, "conv2d: stride must be positive, got 0"),
    "conv2d stride float": (lambda: F.conv2d(X, W, stride=1.5), TypeError,
                            "conv2d: stride must be an integer, got 1.5"),
    "conv2d dilation (1, 0)": (lambda: F.conv2d(X, W, dilation=(1, 0)), ValueError,
                               "conv2d: dilation must be positive, got (1, 0)"),
    "conv2d dilation string": (lambda: F.conv2d(X, W, dilation="a"), TypeError,
                               "conv2d: dilation must be an integer, got 'a'"),
    "conv2d unknown padding string": (lambda: F.conv2d(X, W, padding="full"), ValueError,
                                      "conv2d: padding must be 'same', 'valid', an int or a tuple, got 'full'"),
    "conv2d same with stride 2": (lambda: F.conv2d(X, W, stride=(1, 2), padding="same"), ValueError,
                                  "conv2d: padding='same' needs stride 1, got stride=(1, 2)"),
    "conv2d negative padding": (lambda: F.conv2d(X, W, padding=-1), ValueError,
                                "conv2d: padding must be non-negative, got -1"),
    "conv2d padding of three": (lambda: F.conv2d(X, W, padding=(1, 1, 1)), ValueError,
                                "conv2d: padding must be an int, (h, w) or (top, bottom, left, right), got (1, 1, 1)"),
    "conv2d groups 0": (lambda: F.conv2d(X, W, groups=0), ValueError, "conv2d: groups must be positive, got 0"),
    "conv2d groups float": (lambda: F.conv2d(X, W, groups=1.0), TypeError,
                            "conv2d: groups must be an integer, got 1.0"),
    "conv2d groups do not divide the input channels": (
        lambda: F.conv2d(X, zeros(4, 1, 3, 3), groups=2), ValueError,
        "conv2d: groups=2 must divide both the input channels (3, input shape (1, 3, 5, 5)) and the output channels "
        "(4, weight shape (4, 1, 3, 3))"),
    "conv2d groups do not divide the output channels": (
        lambda: F.conv2d(zeros(1, 4, 5, 5), zeros(3, 2, 3, 3), groups=2), ValueError,
        "conv2d: groups=2 must divide both the input channels (4, input shape (1, 4, 5, 5)) and the output channels "
        "(3, weight shape (3, 2, 3, 3))"),
    "conv2d channel mismatch": (
        lambda: F.conv2d(X, zeros(4, 2, 3, 3)), ValueError,
        "conv2d: weight of shape (4, 2, 3, 3) expects 2 input channels (groups=1), but the input of shape "
        "(1, 3, 5, 5) has 3"),
    "conv2d empty kernel height": (lambda: F.conv2d(X, zeros(4, 3, 0, 3)), ValueError,
                                   "conv2d: weight of shape (4, 3, 0, 3) has an empty kernel"),
    "conv2d empty kernel width": (lambda: F.conv2d(X, zeros(4, 3, 3, 0)), ValueError,
                                  "conv2d: weight of shape (4, 3, 3, 0) has an empty kernel"),
    "conv2d weight 3-D": (lambda: F.conv2d(X, zeros(4, 3, 3)), ValueError,
                          "conv2d: weight must be 4-D (out_channels, in_channels/groups, kH, kW), got shape (4, 3, 3)"),
    "conv2d bias length": (lambda: F.conv2d(X, W, zeros(3)), ValueError,
                           "conv2d: bias must have shape (4,) for weight of shape (4, 3, 3, 3), got (3,)"),
    "conv2d input 2-D": (lambda: F.conv2d(zeros(3, 5), W), ValueError, f"conv2d: input {NCHW}, got shape (3, 5)"),
    "conv2d input text": (lambda: F.conv2d(text(1, 3, 5, 5), W), TypeError,
                          not_real("conv2d: input", (1, 3, 5, 5))),
    "conv2d weight text": (lambda: F.conv2d(X, text(4, 3, 3, 3)), TypeError,
                           not_real("conv2d: weight", (4, 3, 3, 3))),
    "conv2d bias text": (lambda: F.conv2d(X, W, text(4)), TypeError,
                         not_real("conv2d: bias", (4,))),
    "conv2d output over 2^47 bytes": (
        lambda: F.conv2d(zeros(1, 1, 1, 1), zeros(1, 1, 1, 1), padding=2**23), ValueError,
        "conv2d output of shape (1, 1, 16777217, 16777217) would need 1024 TiB: too large to allocate"),
    # the pools
    "max_pool2d kernel 0": (lambda: F.max_pool2d(X, 0), ValueError, "max_pool2d: kernel_size must be positive, got 0"),
    "max_pool2d stride 0": (lambda: F.max_pool2d(X, 2, 0), ValueError, "max_pool2d: stride must be positive, got 0"),
    "max_pool2d dilation 0": (lambda: F.max_pool2d(X, 2, dilation=(0, 1)), ValueError,
                              "max_pool2d: dilation must be positive, got (0, 1)"),
    "max_pool2d negative padding": (lambda: F.max_pool2d(X, 2, padding=-1), ValueError,
                                    "max_pool2d: padding must be non-negative, got -1"),
    "max_pool2d padding over half the kernel": (
        lambda: F.max_pool2d(X, 3, padding=2), ValueError,
        "max_pool2d: padding 2 must be at most half the kernel size (kernel_size=(3, 3))"),
    "max_pool2d bottom padding over half the kernel height": (
        lambda: F.max_pool2d(X, (2, 6), padding=(0, 2, 0, 0)), ValueError,
        "max_pool2d: padding (0, 2, 0, 0) must be at most half the kernel size (kernel_size=(2, 6))"),
    "max_pool2d right padding over half the kernel width": (
        lambda: F.max_pool2d(X, (6, 2), padding=(0, 0, 0, 2)), ValueError,
        "max_pool2d: padding (0, 0, 0, 2) must be at most half the kernel size (kernel_size=(6, 2))"),
    "max_pool2d left padding over half the kernel width": (
        lambda: F.max_pool2d(X, (6, 2), padding=(0, 0, 2, 0)), ValueError,
        "max_pool2d: padding (0, 0, 2, 0) must be at most half the kernel size (kernel_size=(6, 2))"),
    "max_pool2d input 2-D": (lambda: F.max_pool2d(zeros(5, 5), 2), ValueError,
                             f"max_pool2d: input {NCHW}, got shape (5, 5)"),
    "max_pool2d input text": (lambda: F.max_pool2d(text(1, 1, 4, 4), 2), TypeError,
                              not_real("max_pool2d: input", (1, 1, 4, 4))),
    "avg_pool2d kernel 0": (lambda: F.avg_pool2d(X, (2, 0)), ValueError,
                            "avg_pool2d: kernel_size must be positive, got (2, 0)"),
    "avg_pool2d stride 0": (lambda: F.avg_pool2d(X, 2, 0), ValueError, "avg_pool2d: stride must be positive, got 0"),
    "avg_pool2d negative padding": (lambda: F.avg_pool2d(X, 2, padding=(0, -1)), ValueError,
                                    "avg_pool2d: padding must be non-negative, got (0, -1)"),
    "avg_pool2d padding over half the kernel": (
        lambda: F.avg_pool2d(X, (3, 2), padding=(1, 2)), ValueError,
        "avg_pool2d: padding (1, 2) must be at most half the kernel size (kernel_size=(3, 2))"),
    "avg_pool2d divisor_override 0": (lambda: F.avg_pool2d(X, 2, divisor_override=0), ValueError,
                                      "avg_pool2d: divisor_override must be positive, got 0"),
    "avg_pool2d divisor_override float": (lambda: F.avg_pool2d(X, 2, divisor_override=1.5), TypeError,
                                          "avg_pool2d: divisor_override must be an integer, got 1.5"),
    "avg_pool2d input 5-D": (lambda: F.avg_pool2d(zeros(1, 1, 1, 4, 4), 2), ValueError,
                             f"avg_pool2d: input {NCHW}, got shape (1, 1, 1, 4, 4)"),
    "avg_pool2d input text": (lambda: F.avg_pool2d(text(1, 1, 4, 4), 2), TypeError,
                              not_real("avg_pool2d: input", (1, 1, 4, 4))),
    "adaptive empty height": (lambda: F.adaptive_avg_pool2d(zeros(1, 3, 0, 5), 2), ValueError,
                              "adaptive_avg_pool2d: input of shape (1, 3, 0, 5) has empty planes"),
    "adaptive empty width": (lambda: F.adaptive_avg_pool2d(zeros(3, 5, 0), 2), ValueError,
                             "adaptive_avg_pool2d: input of shape (1, 3, 5, 0) has empty planes"),
    "adaptive output of three": (lambda: F.adaptive_avg_pool2d(X, (1, 2, 3)), ValueError,
                                 "adaptive_avg_pool2d: output_size must be an int or a pair, got (1, 2, 3)"),
    "adaptive output float": (lambda: F.adaptive_avg_pool2d(X, (2, 1.5)), TypeError,
                              "adaptive_avg_pool2d: output_size must be an integer, got 1.5"),
    "adaptive output 0": (lambda: F.adaptive_avg_pool2d(X, 0), ValueError,
                          "adaptive_avg_pool2d: output_size must be positive, got 0"),
    "adaptive output width 0": (lambda: F.adaptive_avg_pool2d(X, [2, 0]), ValueError,
                                "adaptive_avg_pool2d: output_size must be positive, got [2, 0]"),
    "adaptive input 2-D": (lambda: F.adaptive_avg_pool2d(zeros(5, 5), 2), ValueError,
                           f"adaptive_avg_pool2d: input {NCHW}, got shape (5, 5)"),
    "adaptive input text": (lambda: F.adaptive_avg_pool2d(text(1, 1, 4, 4), 2), TypeError,
                            not_real("adaptive_avg_pool2d: input", (1, 1, 4, 4))),
    # linear
    "linear weight 3-D": (lambda: F.linear(zeros(2, 5), zeros(3, 5, 1)), ValueError,
                          "linear: weight must be 2-D (out_features, in_features), got shape (3, 5, 1)"),
    "linear in_features": (lambda: F.linear(zeros(2, 5), zeros(3, 4)), ValueError,
                           "linear: input of shape (2, 5) does not end in in_features=4 of weight shape (3, 4)"),
    "linear 0-D input": (lambda: F.linear(zeros(), zeros(3, 4)), ValueError,
                         "linear: input of shape () does not end in in_features=4 of weight shape (3, 4)"),
    "linear bias": (lambda: F.linear(zeros(2, 5), zeros(3, 5), zeros(4)), ValueError,
                    "linear: bias must have shape (3,) for weight of shape (3, 5), got (4,)"),
    "linear input text": (lambda: F.linear(text(2, 5), zeros(3, 5)), TypeError,
                          not_real("linear: input", (2, 5))),
    "linear weight text": (lambda: F.linear(zeros(2, 5), text(3, 5)), TypeError,
                           not_real("linear: weight", (3, 5))),
    "linear bias text": (lambda: F.linear(zeros(2, 5), zeros(3, 5), text(3)), TypeError,
                         not_real("linear: bias", (3,))),
    # softmax, log_softmax
    "softmax dim 4": (lambda: F.softmax(X, 4), ValueError,
                      "softmax: dim=4 is out of range for an array with 4 dimensions"),
    "softmax dim float": (lambda: F.softmax(X, 1.0), TypeError, "softmax: dim must be an integer, got 1.0"),
    "softmax input text": (lambda: F.softmax(text(2, 3), 1), TypeError,
                           not_real("softmax: input", (2, 3))),
    "log_softmax dim -5": (lambda: F.log_softmax(X, -5), ValueError,
                           "log_softmax: dim=-5 is out of range for an array with 4 dimensions"),
    "log_softmax input text": (lambda: F.log_softmax(text(2, 3), 1), TypeError,
                               not_real("log_softmax: input", (2, 3))),
    # local_response_norm
    "lrn input 2-D": (lambda: F.local_response_norm(zeros(2, 3), 2), ValueError,
                      "local_response_norm: input must have at least 3 dimensions (N, C, *), got shape (2, 3)"),
    "lrn size 0": (lambda: F.local_response_norm(X, 0), ValueError,
                   "local_response_norm: size must be positive, got 0"),
    "lrn size float": (lambda: F.local_response_norm(X, 2.0), TypeError,
                       "local_response_norm: size must be an integer, got 2.0"),
    "lrn input text": (lambda: F.local_response_norm(text(1, 3, 4), 2), TypeError,
                       not_real("local_response_norm: input", (1, 3, 4))),
    # batch_norm
    "batch_norm no running_mean": (lambda: F.batch_norm(X, None, np.ones(3)), ValueError,
                                   "batch_norm: running_mean is required for inference"),
    "batch_norm no running_var": (lambda: F.batch_norm(X, zeros(3), None), ValueError,
                                  "batch_norm: running_var is required for inference"),
    "batch_norm running_var length": (
        lambda: F.batch_norm(X, zeros(3), np.ones(4)), ValueError,
        "batch_norm: running_var must have shape (3,) for input of shape (1, 3, 5, 5), got (4,)"),
    "batch_norm bias length": (
        lambda: F.batch_norm(X, zeros(3), np.ones(3), None, zeros(1, 3)), ValueError,
        "batch_norm: bias must have shape (3,) for input of shape (1, 3, 5, 5), got (1, 3)"),
    "batch_norm running_mean text": (lambda: F.batch_norm(X, text(3), np.ones(3)), TypeError,
                                     not_real("batch_norm: running_mean", (3,))),
    "batch_norm running_var text": (lambda: F.batch_norm(X, zeros(3), text(3)), TypeError,
                                    not_real("batch_norm: running_var", (3,))),
    "batch_norm weight text": (lambda: F.batch_norm(X, zeros(3), np.ones(3), text(3)), TypeError,
                               not_real("batch_norm: weight", (3,))),
    "batch_norm bias text": (lambda: F.batch_norm(X, zeros(3), np.ones(3), None, text(3)), TypeError,
                             not_real("batch_norm: bias", (3,))),
    "batch_norm input 1-D": (lambda: F.batch_norm(zeros(3), zeros(3), np.ones(3)), ValueError,
                             "batch_norm: input must be (N, C, *), got shape (3,)"),
    "batch_norm input text": (lambda: F.batch_norm(text(1, 3), zeros(3), np.ones(3)), TypeError,
                              not_real("batch_norm: input", (1, 3))),
    "batch_norm training": (lambda: F.batch_norm(X, zeros(3), np.ones(3), training=True), ValueError,
                            "batch_norm: pycnn implements inference only; training=True is not supported"),
    # the activations
    "relu input text": (lambda: F.relu(text(3)), TypeError, not_real("relu: input", (3,))),
    "sigmoid input text": (lambda: F.sigmoid(text(3)), TypeError,
                           not_real("sigmoid: input", (3,))),
    "tanh input text": (lambda: F.tanh(text(3)), TypeError, not_real("tanh: input", (3,))),
    "leaky_relu input text": (lambda: F.leaky_relu(text(3)), TypeError,
                              not_real("leaky_relu: input", (3,))),
    "hardtanh input text": (lambda: F.hardtanh(text(3)), TypeError,
                            not_real("hardtanh: input", (3,))),
    "hardtanh min above max": (lambda: F.hardtanh(X, 2.0, 1.5), ValueError,
                               "hardtanh: min_val=2.0 is above max_val=1.5"),
    # dropout
    "dropout p over 1": (lambda: F.dropout(X, 1.5, False), ValueError, "dropout: p must be between 0 and 1, got 1.5"),
    "dropout p negative": (lambda: F.dropout(X, -0.1, False), ValueError,
                           "dropout: p must be between 0 and 1, got -0.1"),
    "dropout training by default": (
        lambda: F.dropout(X), ValueError,
        "dropout: pycnn runs inference only, where dropout is the identity: pass training=False (torch's default "
        "for this function is True)"),
    "dropout2d p over 1": (lambda: F.dropout2d(X, 1.5, False), ValueError,
                           "dropout2d: p must be between 0 and 1, got 1.5"),
    "dropout2d training by default": (
        lambda: F.dropout2d(X), ValueError,
        "dropout2d: pycnn runs inference only, where dropout is the identity: pass training=False (torch's default "
        "for this function is True)"),
    "dropout input text": (lambda: F.dropout(text(3), training=False), TypeError,
                           not_real("dropout: input", (3,))),
    # flatten
    "flatten start_dim 4": (lambda: F.flatten(X, 4), ValueError,
                            "flatten: start_dim=4 is out of range for an array with 4 dimensions"),
    "flatten end_dim -5": (lambda: F.flatten(X, 0, -5), ValueError,
                           "flatten: end_dim=-5 is out of range for an array with 4 dimensions"),
    "flatten start after end": (lambda: F.flatten(X, -1, 2), ValueError,
                                "flatten: start_dim -1 comes after end_dim 2 for shape (1, 3, 5, 5)"),
    "flatten input text": (lambda: F.flatten(text(3)), TypeError,
                           not_real("flatten: input", (3,))),
    # pad
    "pad unknown mode": (lambda: F.pad(X, (1, 1), "zeros"), ValueError,
                         "pad: mode must be one of 'constant', 'reflect', 'replicate', 'circular', got 'zeros'"),
    "pad odd amounts": (lambda: F.pad(X, (1,)), ValueError,
                        "pad: pad must be a tuple of an even number of ints (left, right, top, bottom, …), got (1,)"),
    "pad no amounts": (lambda: F.pad(X, []), ValueError,
                       "pad: pad must be a tuple of an even number of ints (left, right, top, bottom, …), got []"),
    "pad an int": (lambda: F.pad(X, 1), ValueError,
                   "pad: pad must be a tuple of an even number of ints (left, right, top, bottom, …), got 1"),
    "pad float amount": (lambda: F.pad(X, (1.5, 1)), TypeError, "pad: pad must be an integer, got 1.5"),
    "pad more axes than the input": (lambda: F.pad(zeros(3), (1, 1, 1, 1)), ValueError,
                                     "pad: 4 amounts pad 2 dimensions, but the input of shape (3,) has 1"),
    "pad value with reflect": (lambda: F.pad(X, (1, 1), "reflect", 2.0), ValueError,
                               "pad: value=2.0 is only for mode='constant', not 'reflect'"),
    "pad value 1 with replicate": (lambda: F.pad(X, (1, 1, 1, 1), "replicate", 1), ValueError,
                                   "pad: value=1 is only for mode='constant', not 'replicate'"),
    "pad reflect a 1-D input": (
        lambda: F.pad(zeros(5), (1, 1), "reflect"), ValueError,
        "pad: mode 'reflect' pads 1 dimension(s) of a 2-D or 3-D input (channels first, optionally a batch); got "
        "shape (5,) and 2 amounts"),
    "pad replicate a 4-D input by one axis": (
        lambda: F.pad(X, (1, 1), "replicate"), ValueError,
        "pad: mode 'replicate' pads 1 dimension(s) of a 2-D or 3-D input (channels first, optionally a batch); got "
        "shape (1, 3, 5, 5) and 2 amounts"),
    "pad crops below nothing": (lambda: F.pad(zeros(2, 3), (-2, -2)), ValueError,
                                "pad: amounts (-2, -2) leave dimension 1 of shape (2, 3) with no elements"),
    "pad crops to nothing": (lambda: F.pad(zeros(2, 3), (0, 0, 0, -2)), ValueError,
                             "pad: amounts (0, -2) leave dimension 0 of shape (2, 3) with no elements"),
    "pad crops a 1-wide axis to nothing": (lambda: F.pad(zeros(2, 1), (0, -1)), ValueError,
                                           "pad: amounts (0, -1) leave dimension 1 of shape (2, 1) with no elements"),
    "pad reflect by the size": (
        lambda: F.pad(zeros(1, 3, 3), (3, 0), "reflect"), ValueError,
        "pad: reflect padding of (3, 0) must be below the size 3 of dimension 2 (input shape (1, 3, 3))"),
    "pad reflect after by the size": (
        lambda: F.pad(zeros(1, 3, 4), (0, 0, 0, 3), "reflect"), ValueError,
        "pad: reflect padding of (0, 3) must be below the size 3 of dimension 1 (input shape (1, 3, 4))"),
    "pad replicate an empty axis": (lambda: F.pad(zeros(1, 3, 0), (1, 0), "replicate"), ValueError,
                                    "pad: cannot replicate-pad the empty dimension 2 of shape (1, 3, 0)"),
    "pad circular an empty axis": (lambda: F.pad(zeros(1, 3, 0), (0, 1), "circular"), ValueError,
                                   "pad: cannot circular-pad the empty dimension 2 of shape (1, 3, 0)"),
    "pad circular over the size": (
        lambda: F.pad(zeros(1, 2, 3), (4, 0), "circular"), ValueError,
        "pad: circular padding of (4, 0) must be at most the size 3 of dimension 2 (input shape (1, 2, 3))"),
    "pad circular after over the size": (
        lambda: F.pad(zeros(1, 2, 3), (0, 0, 0, 3), "circular"), ValueError,
        "pad: circular padding of (0, 3) must be at most the size 2 of dimension 1 (input shape (1, 2, 3))"),
    "pad input text": (lambda: F.pad(text(3), (1, 1)), TypeError,
                       not_real("pad: input", (3,))),
    "pad output over 2^47 bytes": (lambda: F.pad(zeros(1), (2**46, 0)), ValueError,
                                   "pad output of shape (70368744177665,) would need 256 TiB: too large to allocate"),
}


@pytest.mark.parametrize("name", MESSAGES)
def test_an_argument_error_says_exactly_what_is_wrong(name: str) -> None:
    call, error, message = MESSAGES[name]
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        call()


def no_memory(*args: Any, **kwargs: Any) -> Any:
    raise MemoryError


@pytest.mark.parametrize(("call", "message"), [
    (lambda: F.max_pool2d(zeros(1, 2, 4, 4), 2, return_indices=True),
     "cannot allocate max_pool2d output of shape (1, 2, 2, 2) (32 bytes)"),
    (lambda: F.linear(zeros(2, 5), zeros(3, 5)), "cannot allocate linear output of shape (2, 3) (24 bytes)"),
    (lambda: F.conv2d(X, W), "cannot allocate conv2d output of shape (1, 4, 3, 3) (144 bytes)"),
    (lambda: F.relu(zeros(2, 3)), "cannot allocate relu output of shape (2, 3) (24 bytes)"),
    (lambda: F.avg_pool2d(zeros(1, 2, 4, 4), 2), "cannot allocate avg_pool2d output of shape (1, 2, 2, 2) (32 bytes)"),
], ids=["max_pool2d with indices", "linear", "conv2d", "relu", "avg_pool2d"])
def test_an_output_that_cannot_be_allocated_is_named(monkeypatch: pytest.MonkeyPatch, call: Callable[[], Any],
                                                    message: str) -> None:
    monkeypatch.setattr(np, "empty", no_memory)
    with pytest.raises(MemoryError, match=f"^{re.escape(message)}$"):
        call()

